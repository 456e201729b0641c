"""Modals in the shell: each input block becomes a prompt; the form is submitted through Bolt's dispatch.

A select whose input block has ``dispatch_action`` tells the bot as soon as it changes, as Slack does: a
``block_actions`` carrying the form's state goes through the same dispatch, and the form goes on with the view as the
bot left it (a field whose action_id the bot changed shows the bot's new value; the others keep what was entered).
"""

from __future__ import annotations

import copy
import json
from typing import TYPE_CHECKING, Any

from bot.devtools import slack_payloads as payloads
from bot.devtools.shell.render import plain, render_blocks

if TYPE_CHECKING:
    from bot.devtools.shell.session import Shell

CANCEL = "!cancel"


def _label(block: dict[str, Any]) -> str:
    return plain(str((block.get("label") or {}).get("text", block.get("block_id", "field"))))


def _options(element: dict[str, Any]) -> list[dict[str, Any]]:
    options = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        options.extend(group.get("options") or [])
    return options


def _current(element: dict[str, Any], entered: Any) -> str:
    if entered is not None:
        return str(entered)
    if element.get("initial_value") is not None:
        return str(element["initial_value"])
    option = element.get("initial_option")
    if option:
        return plain(str((option.get("text") or {}).get("text", "")))
    chosen = element.get("initial_options")
    if chosen:
        return ", ".join(plain(str((o.get("text") or {}).get("text", ""))) for o in chosen)
    return ""


async def _ask_field(shell: Shell, block: dict[str, Any], entered: Any, error: str | None) -> tuple[bool, Any]:
    """Prompt for one field; returns (changed, value). Enter keeps the shown value, '-' empties it."""
    element = block.get("element") or {}
    kind = element.get("type")
    optional = " (optional)" if block.get("optional") else ""
    if error:
        shell.term.say(f"  ⚠ {error}")
    hint = plain(str((block.get("hint") or {}).get("text", "")))
    if hint:
        shell.term.say(f"  ({hint})")
    if kind in ("static_select", "radio_buttons", "checkboxes", "multi_static_select"):
        options = _options(element)
        for number, option in enumerate(options, 1):
            shell.term.say(f"    {number}. {plain(str((option.get('text') or {}).get('text', '')))}")
        many = kind in ("checkboxes", "multi_static_select")
        prompt = "numbers, comma-separated" if many else "number"
        known = {str(o.get("value")) for o in options} | {str((o.get("text") or {}).get("text")) for o in options}
        while True:
            answer = await shell.term.ask(f"  {_label(block)}{optional} [{_current(element, entered)}] ({prompt}): ")
            if answer is None or answer.strip() == CANCEL:
                raise _Cancelled
            answer = answer.strip()
            if not answer:
                return False, entered
            if answer == "-":
                return True, [] if many else None
            picked = []
            for part in answer.split(","):
                part = part.strip()
                if part.isdecimal() and 1 <= int(part) <= len(options):
                    picked.append(options[int(part) - 1]["value"])
                else:
                    picked.append(part)  # a value or a label: the payload builder matches either
            if all(part in known for part in picked):
                return True, picked if many else picked[0]
            shell.term.say(f"  ⚠ Choose from 1 to {len(options)}.")
    multiline = bool(element.get("multiline"))
    shown = _current(element, entered)
    suffix = " (end with a line holding only '.')" if multiline else ""
    answer = await shell.term.ask(f"  {_label(block)}{optional} [{shown}]{suffix}: ")
    if answer is None or answer.strip() == CANCEL:
        raise _Cancelled
    if multiline and answer.strip() not in ("", "-"):
        lines = [answer]
        while True:
            more = await shell.term.ask("  … ")
            if more is None or more.strip() == ".":
                break
            lines.append(more)
        answer = "\n".join(lines)
    if answer.strip() == "":
        return False, entered
    if answer.strip() == "-":
        return True, ""
    return True, answer


class _Cancelled(Exception):
    pass


def _inputs(view: dict[str, Any]) -> list[dict[str, Any]]:
    return [block for block in view.get("blocks") or [] if block.get("type") == "input"]


def _action_ids(view: dict[str, Any]) -> dict[str, str]:
    return {str(block.get("block_id")): str((block.get("element") or {}).get("action_id")) for block in _inputs(view)}


def _chosen(block: dict[str, Any], entered: Any) -> Any:
    if entered is not None:
        return entered
    option = (block.get("element") or {}).get("initial_option")
    return option.get("value") if isinstance(option, dict) else None


async def _dispatch_change(shell: Shell, view: dict[str, Any], block: dict[str, Any],
                           values: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """Send the block_actions Slack sends when a ``dispatch_action`` select changes, with the form's state, and
    return the view as the bot left it (None if it closed) with the entries that still stand in it."""
    view_id = str(view.get("id"))
    before_view = copy.deepcopy(view)  # the emulator updates its views in place
    element = block.get("element") or {}
    action = payloads.select_action(view, str(element.get("action_id")), values[str(block.get("block_id"))])
    body = payloads.block_actions(action, user_id=shell.user_id, user_name=shell.user_name,
                                  view={**view, "state": {"values": payloads.view_state(view, values)}},
                                  trigger_id=shell.emulator.new_trigger_id(view_id=view_id))
    status, text = await shell.dispatch(body)
    shell.show_ack(status, text)
    await shell.settle()
    shell.render_changes()  # what it posted meanwhile (a denial, say); the form itself is shown below
    updated = shell.emulator.views.get(view_id)
    if updated is None:
        return None, values
    updated = copy.deepcopy(updated)
    old_ids, new_ids = _action_ids(before_view), _action_ids(updated)
    # Slack keeps an entry while its block_id and action_id stay; a new action_id shows the bot's value.
    kept = {key: value for key, value in values.items() if old_ids.get(key) == new_ids.get(key)}
    shown = [json.dumps(b, sort_keys=True) for b in before_view.get("blocks") or [] if b.get("type") != "input"]
    news = [b for b in updated.get("blocks") or []
            if b.get("type") != "input" and json.dumps(b, sort_keys=True) not in shown]
    for line in render_blocks(news, shell.board, updated, {"view": updated}, shell._users):
        shell.term.say("│ " + line)
    return updated, kept


async def run_form(shell: Shell, view: dict[str, Any]) -> None:
    """Fill and submit ``view`` until the bot closes it, shows a result, or the user cancels."""
    while True:
        title = plain(str((view.get("title") or {}).get("text", "Form")))
        inputs = [block for block in view.get("blocks") or [] if block.get("type") == "input"]
        shell.term.say(f"┌─ {title} " + "─" * max(0, 46 - len(title)))
        others = [block for block in view.get("blocks") or [] if block.get("type") != "input"]
        for line in render_blocks(others, shell.board, view, {"view": view}, shell._users):
            shell.term.say("│ " + line)
        if not inputs or not view.get("submit"):
            shell.term.say("└" + "─" * 50)
            return
        shell.term.say("│ Enter keeps the value in [brackets], '-' empties it, '!cancel' closes the form.")
        values: dict[str, Any] = {}
        errors: dict[str, str] = {}
        pending = inputs
        while True:
            try:
                index = 0
                while index < len(pending):
                    block = pending[index]
                    index += 1
                    block_id = str(block.get("block_id"))
                    was = _chosen(block, values.get(block_id))
                    changed, value = await _ask_field(shell, block, values.get(block_id), errors.get(block_id))
                    if not changed:
                        continue
                    values[block_id] = value
                    if not block.get("dispatch_action") or value in (None, "", []) or value == was:
                        continue
                    updated, values = await _dispatch_change(shell, view, block, values)
                    if updated is None:
                        shell.term.say("└─ the form was closed")
                        return
                    view = updated
                    inputs = _inputs(view)
                    rest = [str(b.get("block_id")) for b in pending[index:]]
                    pending = [b for b in inputs if str(b.get("block_id")) in rest]
                    index = 0
            except _Cancelled:
                shell.emulator.close_view(str(view.get("id")))
                shell.term.say("└─ form closed, nothing submitted")
                return
            submit = plain(str((view.get("submit") or {}).get("text", "Submit")))
            shell.term.say(f"└─ {submit} …")
            body = payloads.view_submission(view, values, user_id="U0SHELL01", user_name=shell.user_name,
                                            trigger_id=shell.emulator.new_trigger_id(view_id=str(view.get("id"))))
            status, text = await shell.dispatch(body)
            answer = json.loads(text) if text.startswith("{") else {}
            if status != 200:
                shell.show_ack(status, text)
                return
            if answer.get("response_action") == "errors":
                errors = {str(k): str(v) for k, v in (answer.get("errors") or {}).items()}
                shell.term.say("   Please fix:")
                pending = [block for block in inputs if str(block.get("block_id")) in errors] or inputs
                continue
            break
        if answer.get("response_action") == "update" and isinstance(answer.get("view"), dict):
            updated = {**view, **answer["view"], "id": view.get("id")}
            shell.emulator.views[str(view.get("id"))] = updated
            await shell.settle()
            views = shell.render_changes()
            view = next((v for v in views if v.get("id") == view.get("id")), updated)
            continue
        if answer.get("response_action") in ("clear", None):
            shell.emulator.close_view(str(view.get("id")))
        await shell.settle()
        views = shell.render_changes()
        if not views:
            return
        view = views[-1]
