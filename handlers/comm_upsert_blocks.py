"""How /comm upsert looks in Slack: the modal (loading, form, saving, done) and the confirmation message.

The form's block ids are the field names of :class:`bot.communications.Draft`, so a field error from the
validation goes straight under its field (``response_action="errors"``) and the shell can key answers by them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError

from bot.capillary.loyalty import COMMUNICATION_TYPES, Person, TargetCommunication
from bot.communications import (
    FALSE_WORDS,
    MAX_MESSAGE,
    MAX_OFFSET,
    MAX_SENDER,
    MAX_SUBJECT,
    MIN_OFFSET,
    Draft,
    Invalid,
    Saved,
    UpsertOutcome,
    UpsertRequest,
    channel_id_of,
)
from bot.vendor_errors import VendorError
from handlers.formatting import Block, context, escape, mrkdwn, section, slack_date

CALLBACK = "comm.upsert"
TITLE = "Target communication"
_MAX_SHOWN = 500  # characters of a template quoted in a change list; the full text is in its own field


class FormMeta(BaseModel):
    """The modal's private_metadata: where the command was typed (the access check and the confirmation use it)."""

    channel_id: str | None = None

    def dump(self) -> str:
        return self.model_dump_json()

    @classmethod
    def load(cls, raw: str | None) -> FormMeta:
        try:
            return cls.model_validate(json.loads(raw or "{}"))
        except (ValueError, ValidationError):
            return cls()  # a modal we did not open: no channel, so the confirmation goes to the user's DM


def _plain(text: str) -> Block:
    return {"type": "plain_text", "text": text}


def _modal(meta: FormMeta, blocks: list[Block], *, submit: str | None = None, close: str = "Cancel") -> Block:
    view: Block = {"type": "modal", "callback_id": CALLBACK, "title": _plain(TITLE), "close": _plain(close),
                   "private_metadata": meta.dump(), "blocks": blocks}
    if submit:
        view["submit"] = _plain(submit)
    return view


def _option(label: str, value: str) -> Block:
    return {"text": _plain(label), "value": value}


def _text_input(block_id: str, label: str, value: str | None, *, multiline: bool = False, max_length: int = 3000,
                optional: bool = False, hint: str | None = None, placeholder: str | None = None) -> Block:
    element: Block = {"type": "plain_text_input", "action_id": block_id, "multiline": multiline,
                      "max_length": max_length}
    if value:
        element["initial_value"] = value[:max_length]
    if placeholder:
        element["placeholder"] = _plain(placeholder)
    block: Block = {"type": "input", "block_id": block_id, "label": _plain(label), "element": element,
                    "optional": optional}
    if hint:
        block["hint"] = _plain(hint)
    return block


def _select(block_id: str, label: str, options: list[Block], value: str | None) -> Block:
    element: Block = {"type": "static_select", "action_id": block_id, "options": options,
                      "placeholder": _plain(f"Choose {label.lower()}")}
    chosen = next((option for option in options if option["value"] == value), None)
    if chosen is not None:
        element["initial_option"] = chosen
    return {"type": "input", "block_id": block_id, "label": _plain(label), "element": element}


def channel_label(channel_id: int, channels: Mapping[int, str]) -> str:
    return channels.get(channel_id, f"channel {channel_id}")


def _existing_line(items: Sequence[TargetCommunication], channels: Mapping[int, str]) -> str:
    parts = [f"{item.communication_type} · {channel_label(item.channel_id, channels)} (id {item.id}"
             f"{'' if item.active else ', inactive'})" for item in items]
    return "Today this target has: " + "; ".join(parts) + "." if parts else "This target has no communications yet."


def loading_view(meta: FormMeta, group_id: int, target_id: int) -> Block:
    text = f":hourglass_flowing_sand: Reading the communications of target {target_id} in group {group_id}…"
    return _modal(meta, [section(text, block_id="loading")])


def failure_text(error: VendorError) -> str:
    """A vendor failure in mrkdwn, honest about a save that may have happened (a timeout after sending)."""
    lead = "*The save may have gone through.*" if error.maybe_applied else "*Not saved.*"
    return f"{lead} {escape(error.sentence)}"


def unread_text(error: VendorError) -> str:
    return f"*Today's values could not be read.* {escape(error.sentence)}"


def form_view(meta: FormMeta, draft: Draft, channels: Mapping[int, str], *,
              existing: Sequence[TargetCommunication] | None = None, problem: str | None = None) -> Block:
    """The form, filled with ``draft``; ``problem`` (mrkdwn: a vendor's answer) goes on top, the values stay."""
    blocks: list[Block] = []
    if problem:
        blocks.append(section(f":x: {problem}\nYour values are below: fix them and submit again.",
                              block_id="error"))
    if existing is not None:
        note = _existing_line(existing, channels)
        if existing:
            note += " The type and channel you submit decide which one is updated (or created, if it is new)."
        blocks.append(context(escape(note)))
    type_options = [_option(kind, kind) for kind in COMMUNICATION_TYPES]
    channel_options = [_option(f"{name} ({key})", str(key)) for key, name in sorted(channels.items())]
    blocks += [
        _text_input("group", "Target group id", draft.group, max_length=19, placeholder="e.g. 2750"),
        _text_input("target", "Target id", draft.target, max_length=19, placeholder="e.g. 2996"),
        _select("type", "Communication type", type_options, (draft.type or "").strip().upper() or None),
        _select("channel", "Channel", channel_options, str(channel_id_of(draft.channel, channels))),
        _text_input("sender", "Sender", draft.sender, max_length=MAX_SENDER,
                    hint="An SMS sender id, or the From address for EMAIL."),
        _text_input("subject", "Subject template", draft.subject, max_length=MAX_SUBJECT, optional=True,
                    hint="Required for EMAIL."),
        _text_input("message", "Message template", draft.message, multiline=True, max_length=MAX_MESSAGE),
        {"type": "input", "block_id": "offset", "label": _plain("Offset days"),
         "hint": _plain(f"Whole days, {MIN_OFFSET} to {MAX_OFFSET}."),
         "element": {"type": "number_input", "action_id": "offset", "is_decimal_allowed": False,
                     **({"initial_value": draft.offset} if draft.offset else {})}},
        # A new communication starts active; "no", "0", "off" and the like (text form) read as inactive.
        _select("active", "Active", [_option("Active", "true"), _option("Inactive", "false")],
                "false" if (draft.active or "").strip().lower() in FALSE_WORDS else "true"),
    ]
    return _modal(meta, blocks, submit="Save")


def saving_view(meta: FormMeta, request: UpsertRequest, channels: Mapping[int, str]) -> Block:
    what = ", ".join(f"{item.communication_type} · {channel_label(item.channel_id, channels)}"
                     for item in request.items)
    text = (f":hourglass_flowing_sand: Saving {what} for target {request.target_id} in group {request.group_id} "
            "in Capillary…")
    return _modal(meta, [section(text, block_id="saving")], close="Close")


def done_view(meta: FormMeta, outcome: UpsertOutcome, channels: Mapping[int, str], posted_to: str | None) -> Block:
    lines = [_headline(saved, channels) for saved in outcome.saved]
    if posted_to is None:
        where = "Saved, but the confirmation could not be posted in Slack: this window is the record."
    elif posted_to.startswith("D"):
        where = "The confirmation is in your direct messages with commops."
    else:
        where = f"The confirmation is in <#{posted_to}>."
    blocks = [section("\n".join(lines), block_id="done"), context(where)]
    blocks += [context(f":warning: Capillary warns: {escape(text)}") for text in outcome.warnings[:5]]
    return _modal(meta, blocks, close="Done")


def read_form(values: Mapping[str, Mapping[str, Any]]) -> Draft:
    """The Draft in a view_submission's ``view.state.values``."""
    found: dict[str, str | None] = {}
    for block_id, by_action in values.items():
        for entry in by_action.values():
            if not isinstance(entry, Mapping):
                continue
            option = entry.get("selected_option")
            value = option.get("value") if isinstance(option, Mapping) else entry.get("value")
            found[block_id] = value if isinstance(value, str) else None
    return Draft(**{name: found.get(name) for name in Draft.__dataclass_fields__})


def text_errors(invalid: Invalid, usage: str) -> str:
    lines = [f"• *{escape(name)}*: {escape(text)}" for name, text in invalid.errors.items()]
    return ":warning: Nothing was saved:\n" + "\n".join(lines) + f"\n\n{usage}"


# --- the confirmation -------------------------------------------------------------------------------------------


def _who(person: Person | None) -> str:
    return f"*{escape(person.label())}*" if person is not None else "*someone Capillary did not name*"


def _headline(saved: Saved, channels: Mapping[int, str]) -> str:
    item = saved.communication
    verb = "created" if saved.created else "updated"
    return (f":white_check_mark: {item.communication_type} · {channel_label(item.channel_id, channels)} "
            f"communication {item.id} {verb} for target {item.target_id} in group {item.target_group_id}")


def _attribution(saved: Saved) -> str:
    attribution = saved.communication.attribution
    if saved.created:
        return f"Created by {_who(attribution.created_by)} {slack_date(attribution.created_on)}"
    return (f"Updated by {_who(attribution.last_updated_by)} {slack_date(attribution.last_updated_on)}; "
            f"created by {_who(attribution.created_by)} {slack_date(attribution.created_on)}")


def _quoted(value: str) -> str:
    clipped = value if len(value) <= _MAX_SHOWN else value[:_MAX_SHOWN - 1] + "…"
    return f"`{escape(clipped)}`" if "\n" not in clipped and "`" not in clipped else f"“{escape(clipped)}”"


def _change_list(saved: Saved, previous_known: bool) -> str:
    if saved.created:
        return ""
    if not previous_known:
        return "_The previous values could not be read, so the changes are not known._"
    if not saved.changes:
        return "_Nothing changed: it was saved with the values it already had._"
    lines = [f"• {change.label}: {_quoted(change.before)} → {_quoted(change.after)}" for change in saved.changes]
    return "*What changed:*\n" + "\n".join(lines)


def _fields(item: TargetCommunication, channels: Mapping[int, str]) -> Block:
    pairs = [("Type", item.communication_type), ("Channel", channel_label(item.channel_id, channels)),
             ("Sender", item.sender or "(none)"), ("Subject", item.subject_template or "(none)"),
             ("Offset days", str(item.offset_days)), ("Active", "yes" if item.active else "no")]
    return {"type": "section", "fields": [mrkdwn(f"*{label}*\n{escape(value)[:1900]}") for label, value in pairs]}


def confirmation_blocks(outcome: UpsertOutcome, actor_id: str, channels: Mapping[int, str]) -> list[Block]:
    blocks: list[Block] = [context(f"*/comm upsert* by <@{actor_id}>")]
    for saved in outcome.saved[:10]:  # 4 blocks each: well inside Slack's 50
        item = saved.communication
        blocks.append(section(f"{_headline(saved, channels)}\n{_attribution(saved)}"))
        blocks.append(_fields(item, channels))
        blocks.append(section(f"*Message template*\n{escape(item.message_template)}"))
        change_list = _change_list(saved, outcome.previous_known)
        if change_list:
            blocks.append(section(change_list))
    blocks += [context(f":warning: Capillary warns: {escape(text)}") for text in outcome.warnings[:5]]
    return blocks


def confirmation_text(outcome: UpsertOutcome) -> str:
    """Plain text for notifications and old clients."""
    parts = [f"{saved.communication.communication_type} communication {saved.communication.id} "
             f"{'created' if saved.created else 'updated'}" for saved in outcome.saved]
    return "Target communications: " + "; ".join(parts)
