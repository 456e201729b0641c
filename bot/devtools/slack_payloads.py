"""What Slack sends to a bot's Request URL, built and signed the way Slack builds and signs it.

End-to-end tests, the benchmark and ``commops shell`` hand these bodies to the real Bolt app, so the bot's
signature check and payload parsing run exactly as they do behind Slack. Pure standard library on purpose: the
shell imports it at run time and it must not drift with a Slack SDK's own idea of the payloads.

Shapes follow Slack's documented payloads (slash commands, ``block_actions``, ``view_submission``,
``view_closed``); ``tests/test_slack_payloads.py`` checks that Bolt parses each of them.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

JSON = dict[str, Any]

TEAM_ID = "T0001"
TEAM_DOMAIN = "commops"
API_APP_ID = "A0COMMOPS"
# Slack still sends its deprecated per-app verification token in every payload; Bolt ignores it.
VERIFICATION_TOKEN = "emulatedVerificationToken"
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"

# Interactive elements whose value lands in ``view.state.values`` (buttons and overflow menus do not).
_TEXT_ELEMENTS = frozenset({"plain_text_input", "email_text_input", "url_text_input", "number_input"})
_ONE_OPTION = frozenset({"static_select", "external_select", "radio_buttons"})
_MANY_OPTIONS = frozenset({"multi_static_select", "multi_external_select", "checkboxes"})
_PICKED: dict[str, tuple[str, str]] = {  # type -> (state key, initial_* key)
    "users_select": ("selected_user", "initial_user"),
    "conversations_select": ("selected_conversation", "initial_conversation"),
    "channels_select": ("selected_channel", "initial_channel"),
    "datepicker": ("selected_date", "initial_date"),
    "timepicker": ("selected_time", "initial_time"),
    "datetimepicker": ("selected_date_time", "initial_date_time"),
    "multi_users_select": ("selected_users", "initial_users"),
    "multi_conversations_select": ("selected_conversations", "initial_conversations"),
    "multi_channels_select": ("selected_channels", "initial_channels"),
}
STATEFUL_ELEMENTS = _TEXT_ELEMENTS | _ONE_OPTION | _MANY_OPTIONS | frozenset(_PICKED)


def sign(body: str, secret: str, timestamp: int | None = None) -> dict[str, str]:
    """Headers Slack adds to a request: ``v0=`` HMAC-SHA256 of ``v0:{timestamp}:{body}`` with the signing secret."""
    ts = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    content_type = "application/json" if body.startswith("{") else FORM_CONTENT_TYPE  # Events API vs the rest
    return {"X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": f"v0={digest}", "Content-Type": content_type}


def new_trigger_id() -> str:
    """A trigger id in Slack's format, for payloads that do not go through an emulator (which issues its own)."""
    return f"{int(time.time() * 1000)}.{TEAM_ID[1:]}.{secrets.token_hex(16)}"


def _action_ts() -> str:
    return f"{time.time():.6f}"


def _channel_name(channel_id: str) -> str:
    return "directmessage" if channel_id.startswith("D") else channel_id.lower()


def _user(user_id: str, user_name: str, team_id: str) -> JSON:
    return {"id": user_id, "username": user_name, "name": user_name, "team_id": team_id}


def _form_payload(payload: JSON) -> str:
    return urlencode({"payload": json.dumps(payload, separators=(",", ":"), ensure_ascii=False)})


# --- slash commands ---------------------------------------------------------------------------------------------


def slash_command(
    command: str,
    text: str,
    *,
    user_id: str,
    user_name: str,
    channel_id: str,
    team_id: str = TEAM_ID,
    response_url: str,
    trigger_id: str,
    channel_name: str | None = None,
) -> str:
    """Form-encoded body of a slash command, fields in Slack's order."""
    if not command.startswith("/"):
        raise ValueError(f"a slash command starts with '/', got {command!r}")
    return urlencode(
        [
            ("token", VERIFICATION_TOKEN),
            ("team_id", team_id),
            ("team_domain", TEAM_DOMAIN),
            ("channel_id", channel_id),
            ("channel_name", channel_name or _channel_name(channel_id)),
            ("user_id", user_id),
            ("user_name", user_name),
            ("command", command),
            ("text", text),
            ("api_app_id", API_APP_ID),
            ("is_enterprise_install", "false"),
            ("response_url", response_url),
            ("trigger_id", trigger_id),
        ]
    )


# --- finding the elements a user would click in rendered blocks --------------------------------------------------


def _blocks_of(source: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> Sequence[Mapping[str, Any]]:
    if isinstance(source, Mapping):
        blocks = source.get("blocks") or []
        return list(blocks)
    return source


def iter_elements(source: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> Iterator[tuple[str, JSON]]:
    """``(block_id, element)`` for every interactive element of a message, a view or a list of blocks."""
    for index, block in enumerate(_blocks_of(source)):
        block_id = str(block.get("block_id") or f"block{index}")  # Slack fills a missing block_id in
        kind = block.get("type")
        if kind == "actions":
            for element in block.get("elements") or []:
                yield block_id, element
        elif kind == "section" and isinstance(block.get("accessory"), dict):
            if block["accessory"].get("type") != "image":
                yield block_id, block["accessory"]
        elif kind == "input" and isinstance(block.get("element"), dict):
            yield block_id, block["element"]


def _plain_text(obj: Any) -> str | None:
    return obj.get("text") if isinstance(obj, Mapping) else None


def find_element(
    source: Mapping[str, Any] | Sequence[Mapping[str, Any]],
    *,
    action_id: str | None = None,
    value: str | None = None,
    text: str | None = None,
    types: frozenset[str] | set[str] | None = None,
) -> tuple[str, JSON]:
    """The one element matching every given criterion (``text`` is the visible label); LookupError otherwise."""
    found = [
        (block_id, element)
        for block_id, element in iter_elements(source)
        if (types is None or element.get("type") in types)
        and (action_id is None or element.get("action_id") == action_id)
        and (value is None or element.get("value") == value)
        and (text is None or _plain_text(element.get("text")) == text)
    ]
    if len(found) == 1:
        return found[0]
    seen = [
        (e.get("type"), e.get("action_id"), e.get("value"), _plain_text(e.get("text")))
        for _, e in iter_elements(source)
    ]
    wanted = {"action_id": action_id, "value": value, "text": text, "types": types}
    problem = "no element" if not found else f"{len(found)} elements"
    raise LookupError(f"{problem} matching {wanted}; elements are (type, action_id, value, text): {seen}")


def button_action(
    source: Mapping[str, Any] | Sequence[Mapping[str, Any]],
    *,
    action_id: str | None = None,
    value: str | None = None,
    text: str | None = None,
) -> JSON:
    """The ``actions[0]`` entry Slack sends when the matching button is clicked."""
    block_id, element = find_element(source, action_id=action_id, value=value, text=text, types={"button"})
    action: JSON = {"action_id": element.get("action_id"), "block_id": block_id, "text": element.get("text")}
    for key in ("value", "url", "style"):
        if key in element:
            action[key] = element[key]
    action["type"] = "button"
    action["action_ts"] = _action_ts()
    return action


def _options(element: Mapping[str, Any]) -> list[JSON]:
    options = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        options.extend(group.get("options") or [])
    return options


def _option(element: Mapping[str, Any], choice: Any) -> JSON:
    """The option object Slack reports for ``choice`` (an option's value or visible text, or an option dict)."""
    if isinstance(choice, Mapping):
        return dict(choice)
    options = _options(element)
    for option in options:
        if option.get("value") == str(choice):
            return copy.deepcopy(option)
    for option in options:
        if _plain_text(option.get("text")) == str(choice):
            return copy.deepcopy(option)
    if element.get("type") in {"external_select", "multi_external_select"}:
        return {"text": {"type": "plain_text", "text": str(choice), "emoji": True}, "value": str(choice)}
    values = [option.get("value") for option in options]
    raise ValueError(f"{choice!r} is not an option of {element.get('action_id')!r}; options: {values}")


def select_action(source: Mapping[str, Any] | Sequence[Mapping[str, Any]], action_id: str, choice: Any) -> JSON:
    """The ``actions[0]`` entry for picking ``choice`` in a select, overflow menu, radio group or checkbox group
    that sits in a message (or in a modal with ``dispatch_action``)."""
    block_id, element = find_element(source, action_id=action_id)
    kind = str(element.get("type"))
    action: JSON = {"type": kind, "action_id": action_id, "block_id": block_id}
    if kind in _MANY_OPTIONS:
        choices = choice if isinstance(choice, list | tuple) else [choice]
        action["selected_options"] = [_option(element, c) for c in choices]
    elif kind in _ONE_OPTION or kind == "overflow":
        action["selected_option"] = _option(element, choice)
    elif kind in _PICKED:
        action[_PICKED[kind][0]] = choice
    else:
        raise ValueError(f"{action_id!r} is a {kind}; use button_action for buttons")
    if "placeholder" in element:
        action["placeholder"] = element["placeholder"]
    action["action_ts"] = _action_ts()
    return action


# --- modal state ------------------------------------------------------------------------------------------------


def _state_entry(element: Mapping[str, Any], given: bool, raw: Any) -> JSON:
    kind = str(element.get("type"))
    if given and isinstance(raw, Mapping) and "type" in raw:
        return dict(raw)  # a ready-made state entry: lets a test send what a real client could not
    entry: JSON = {"type": kind}
    if kind in _TEXT_ELEMENTS:
        value = raw if given else element.get("initial_value")
        entry["value"] = None if value is None or value == "" else str(value)
    elif kind in _ONE_OPTION:
        if given:
            entry["selected_option"] = None if raw is None else _option(element, raw)
        else:
            entry["selected_option"] = copy.deepcopy(element.get("initial_option"))
    elif kind in _MANY_OPTIONS:
        if given:
            choices = [] if raw is None else raw if isinstance(raw, list | tuple) else [raw]
            entry["selected_options"] = [_option(element, c) for c in choices]
        else:
            entry["selected_options"] = copy.deepcopy(element.get("initial_options") or [])
    elif kind in _PICKED:
        key, initial = _PICKED[kind]
        plural = kind.startswith("multi_")
        value = raw if given else element.get(initial, [] if plural else None)
        entry[key] = list(value) if plural and isinstance(value, list | tuple) else value
    return entry


def view_state(view: Mapping[str, Any], inputs: Mapping[str, Any] | None = None) -> dict[str, dict[str, JSON]]:
    """``view.state.values`` as Slack reports it when the user submits after typing ``inputs``.

    ``inputs`` maps a block_id (or an action_id that only one element uses) to what the user entered: a string
    for text inputs, an option's value or label (a list for multi-selects and checkboxes), a user/channel id, a
    date. An element the user did not touch reports its ``initial_*`` value, as in Slack. A dict with a ``type``
    key is used verbatim as the state entry. A key that matches no element, or an action_id shared by several
    blocks (Bolt apps often reuse ``"value"``), raises KeyError: a typo must not pass silently.
    """
    inputs = dict(inputs or {})
    stateful = [(b, e) for b, e in iter_elements(view) if e.get("type") in STATEFUL_ELEMENTS]
    action_blocks: dict[str, list[str]] = {}
    for block_id, element in stateful:
        action_blocks.setdefault(str(element.get("action_id")), []).append(block_id)
    values: dict[str, dict[str, JSON]] = {}
    used: set[str] = set()
    for block_id, element in stateful:
        action_id = str(element.get("action_id"))
        key = block_id if block_id in inputs else action_id if action_id in inputs else None
        if key == action_id and len(action_blocks[action_id]) > 1:
            raise KeyError(
                f"action_id {action_id!r} is in blocks {action_blocks[action_id]}; key the input by block_id"
            )
        if key is not None:
            used.add(key)
        entry = _state_entry(element, key is not None, inputs.get(key) if key is not None else None)
        values.setdefault(block_id, {})[action_id] = entry
    unknown = set(inputs) - used
    if unknown:
        known = sorted({*values, *action_blocks})
        raise KeyError(f"no input element for {sorted(unknown)}; the view has {known}")
    return values


def _normalized_view(view: Mapping[str, Any], team_id: str) -> JSON:
    """A view as Slack echoes it back: every field present even when the app left it out."""
    out: JSON = {
        "id": "V0000000000",
        "team_id": team_id,
        "type": "modal",
        "blocks": [],
        "private_metadata": "",
        "callback_id": "",
        "state": {"values": {}},
        "hash": "1700000000.00000000",
        "title": {"type": "plain_text", "text": "", "emoji": True},
        "clear_on_close": False,
        "notify_on_close": False,
        "close": None,
        "submit": None,
        "previous_view_id": None,
        "root_view_id": None,
        "app_id": API_APP_ID,
        "external_id": "",
        "app_installed_team_id": team_id,
        "bot_id": None,
    }
    out.update(copy.deepcopy(dict(view)))
    if out["root_view_id"] is None:
        out["root_view_id"] = out["id"]
    return out


# --- interactivity payloads --------------------------------------------------------------------------------------


def block_actions(
    action: Mapping[str, Any],
    *,
    user_id: str,
    user_name: str,
    channel_id: str | None = None,
    message: Mapping[str, Any] | None = None,
    container: Mapping[str, Any] | None = None,
    response_url: str | None = None,
    trigger_id: str,
    view: Mapping[str, Any] | None = None,
    team_id: str = TEAM_ID,
    channel_name: str | None = None,
) -> str:
    """Form body ``payload=<json>`` of a ``block_actions`` request.

    A click on a message needs ``channel_id`` and ``message`` (and the message's ``response_url``); a click in a
    modal needs ``view`` and gets no channel, message or response_url, as in Slack. ``container`` is derived when
    not given. A message carrying ``"is_ephemeral": True`` (the emulator marks ephemeral ones) is not echoed back,
    because Slack does not echo ephemeral messages either.
    """
    entry = dict(action)
    entry.setdefault("action_ts", _action_ts())
    if container is None:
        if message is not None:
            container = {
                "type": "message",
                "message_ts": message.get("ts"),
                "channel_id": channel_id,
                "is_ephemeral": bool(message.get("is_ephemeral")),
            }
        elif view is not None:
            container = {"type": "view", "view_id": view.get("id")}
        else:
            raise ValueError("block_actions needs a message or a view (or an explicit container)")
    payload: JSON = {
        "type": "block_actions",
        "user": _user(user_id, user_name, team_id),
        "api_app_id": API_APP_ID,
        "token": VERIFICATION_TOKEN,
        "container": dict(container),
        "trigger_id": trigger_id,
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
    }
    if view is not None:
        payload["view"] = _normalized_view(view, team_id)
    if channel_id is not None:
        payload["channel"] = {"id": channel_id, "name": channel_name or _channel_name(channel_id)}
    if message is not None:
        if not message.get("is_ephemeral"):
            payload["message"] = copy.deepcopy(dict(message))
        payload["state"] = {"values": {}}
    if response_url is not None:
        payload["response_url"] = response_url
    payload["actions"] = [entry]
    return _form_payload(payload)


def view_submission(
    view: Mapping[str, Any],
    values: Mapping[str, Any] | None = None,
    *,
    user_id: str,
    user_name: str,
    trigger_id: str,
    team_id: str = TEAM_ID,
) -> str:
    """Form body of a ``view_submission``; ``values`` is what the user typed, as in :func:`view_state`."""
    submitted = _normalized_view(view, team_id)
    submitted["state"] = {"values": view_state(submitted, values)}
    payload: JSON = {
        "type": "view_submission",
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "user": _user(user_id, user_name, team_id),
        "api_app_id": API_APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id,
        "view": submitted,
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }
    return _form_payload(payload)


def view_closed(
    view: Mapping[str, Any], *, user_id: str, user_name: str, team_id: str = TEAM_ID, is_cleared: bool = False
) -> str:
    """Form body of a ``view_closed`` (sent only for views opened with ``notify_on_close``)."""
    payload: JSON = {
        "type": "view_closed",
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "user": _user(user_id, user_name, team_id),
        "api_app_id": API_APP_ID,
        "token": VERIFICATION_TOKEN,
        "view": _normalized_view(view, team_id),
        "is_cleared": is_cleared,
        "is_enterprise_install": False,
        "enterprise": None,
    }
    return _form_payload(payload)


def message_action(
    message: Mapping[str, Any],
    *,
    callback_id: str,
    user_id: str,
    user_name: str,
    channel_id: str,
    response_url: str,
    trigger_id: str,
    team_id: str = TEAM_ID,
    channel_name: str | None = None,
) -> str:
    """Form body of a ``message_action``: a message shortcut used on ``message`` in ``channel_id``."""
    payload: JSON = {
        "type": "message_action",
        "token": VERIFICATION_TOKEN,
        "action_ts": _action_ts(),
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "user": _user(user_id, user_name, team_id),
        "channel": {"id": channel_id, "name": channel_name or _channel_name(channel_id)},
        "is_enterprise_install": False,
        "enterprise": None,
        "callback_id": callback_id,
        "trigger_id": trigger_id,
        "response_url": response_url,
        "message_ts": message.get("ts"),
        "message": copy.deepcopy(dict(message)),
        "api_app_id": API_APP_ID,
    }
    return _form_payload(payload)


def event_callback(event: Mapping[str, Any], *, team_id: str = TEAM_ID, event_id: str | None = None) -> str:
    """JSON body of an Events API ``event_callback`` carrying ``event``."""
    payload: JSON = {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "api_app_id": API_APP_ID,
        "event": dict(event),
        "type": "event_callback",
        "event_id": event_id or f"Ev{secrets.token_hex(5).upper()}",
        "event_time": int(time.time()),
        "authorizations": [{"enterprise_id": None, "team_id": team_id, "user_id": "U0BOT0001", "is_bot": True,
                            "is_enterprise_install": False}],
        "is_ext_shared_channel": False,
    }
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def app_home_opened(user_id: str, *, channel_id: str = "D0HOME001", tab: str = "home",
                    view_id: str | None = None, team_id: str = TEAM_ID) -> str:
    """JSON body of the ``app_home_opened`` event: ``user_id`` opened the app's Home (or Messages) tab."""
    event: JSON = {"type": "app_home_opened", "user": user_id, "channel": channel_id, "tab": tab,
                   "event_ts": _action_ts()}
    if view_id is not None:
        event["view"] = {"id": view_id, "team_id": team_id, "type": "home"}
    return event_callback(event, team_id=team_id)


@dataclass(frozen=True)
class SlackActor:
    """One person in one channel: the builders above with the who and where filled in."""

    user_id: str
    user_name: str
    channel_id: str
    team_id: str = TEAM_ID

    def command(self, command: str, text: str = "", *, response_url: str, trigger_id: str) -> str:
        return slash_command(
            command,
            text,
            user_id=self.user_id,
            user_name=self.user_name,
            channel_id=self.channel_id,
            team_id=self.team_id,
            response_url=response_url,
            trigger_id=trigger_id,
        )

    def click(
        self,
        action: Mapping[str, Any],
        *,
        trigger_id: str,
        message: Mapping[str, Any] | None = None,
        response_url: str | None = None,
        view: Mapping[str, Any] | None = None,
    ) -> str:
        """A click on ``message`` in this actor's channel, or in ``view`` when no message is given."""
        return block_actions(
            action,
            user_id=self.user_id,
            user_name=self.user_name,
            channel_id=self.channel_id if message is not None else None,
            message=message,
            response_url=response_url,
            trigger_id=trigger_id,
            view=view,
            team_id=self.team_id,
        )

    def submit(self, view: Mapping[str, Any], values: Mapping[str, Any] | None = None, *, trigger_id: str) -> str:
        return view_submission(
            view, values, user_id=self.user_id, user_name=self.user_name, trigger_id=trigger_id, team_id=self.team_id
        )

    def close(self, view: Mapping[str, Any]) -> str:
        return view_closed(view, user_id=self.user_id, user_name=self.user_name, team_id=self.team_id)
