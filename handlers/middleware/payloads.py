"""Every Slack request body, decoded and checked against typed models before anything else reads it.

:func:`decode` turns the raw bytes into the dict Slack meant (a slash command's form, an interactive ``payload=``
JSON object, or an Events API JSON object); :func:`parse` checks that dict against the model of its kind. A body
that is not UTF-8, not a proper form, not a JSON object, of an unknown kind, or with a field of the wrong type
raises :class:`NotUnderstood` (with a short reason for the log that never quotes the body). So Bolt, the authorize
middleware and the listeners only ever see bodies whose fields have the types below.

The models also type every top-level key that Bolt itself reads to work out who, where and which workspace (its
``extract_*`` helpers: ``user``, ``channel``, ``team``, ``enterprise``, ``event``, ``view``, ``authorizations``…),
so that no body can make Bolt and this module disagree about the user or the channel.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

MAX_DEPTH = 32  # Slack's deepest payloads (a view's state, rich text) nest about a dozen levels
MAX_FORM_FIELDS = 100

# Slack's ids (users, channels, teams, apps, views…) are upper-case letters and digits.
Id = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{1,40}$")]
Name = Annotated[str, StringConstraints(max_length=255)]  # action_id, block_id, callback_id: Slack's limit
Metadata = Annotated[str, StringConstraints(max_length=3000)]  # a view's private_metadata: Slack's limit
Text = Annotated[str, StringConstraints(max_length=40_000)]  # no message Slack sends is longer
Url = Annotated[str, StringConstraints(max_length=2048)]
Json = dict[str, Any]


class NotUnderstood(ValueError):
    """A body that is not one Slack sends; ``reason`` is for the log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Model(BaseModel):
    # strict: a number is not a string, a string is not a list; extra keys are kept as Slack sent them.
    model_config = ConfigDict(extra="allow", strict=True, frozen=True)


# --- the pieces -------------------------------------------------------------------------------------------------


class Team(_Model):
    id: Id
    domain: Name | None = None
    enterprise_id: Id | None = None


class Enterprise(_Model):
    id: Id
    name: Name | None = None


class User(_Model):
    id: Id
    username: Name | None = None
    name: Name | None = None
    team_id: Id | None = None


class Channel(_Model):
    id: Id
    name: Name | None = None


class Authorization(_Model):
    enterprise_id: Id | None = None
    team_id: Id | None = None
    user_id: Id | None = None
    is_bot: bool | None = None
    is_enterprise_install: bool | None = None


class Option(_Model):
    value: str
    text: Json | None = None


class _Selection(_Model):
    """What an interactive element reports: typed once for a click (``actions[0]``) and for a view's state."""

    type: Name | None = None
    value: Text | None = None
    selected_option: Option | None = None
    selected_options: list[Option] | None = None
    selected_user: Id | None = None
    selected_users: list[Id] | None = None
    selected_conversation: Id | None = None
    selected_conversations: list[Id] | None = None
    selected_channel: Id | None = None
    selected_channels: list[Id] | None = None
    selected_date: Name | None = None
    selected_time: Name | None = None
    selected_date_time: int | None = None
    rich_text_value: Json | None = None


class Action(_Selection):
    action_id: Name
    block_id: Name | None = None
    value: str | None = None  # what it means is the listener's to judge, and to tell the person who clicked
    action_ts: Name | None = None
    text: Json | None = None
    url: Url | None = None
    style: Name | None = None


class StateEntry(_Selection):
    type: Name


class State(_Model):
    values: dict[Name, dict[Name, StateEntry]] = Field(default_factory=dict)


class Block(_Model):
    type: Name
    block_id: Name | None = None
    element: Json | None = None
    accessory: Json | None = None
    elements: list[Json] | None = None
    text: Json | None = None
    label: Json | None = None


class View(_Model):
    id: Id
    callback_id: Name
    type: Name  # "modal" or "home"; Bolt reads it on every submission
    private_metadata: Metadata = ""
    hash: Name | None = None
    state: State = Field(default_factory=State)
    blocks: list[Block] = Field(default_factory=list)
    team_id: Id | None = None
    app_id: Id | None = None
    app_installed_team_id: Id | None = None
    root_view_id: Id | None = None
    previous_view_id: Id | None = None
    external_id: Name | None = None
    bot_id: Id | None = None
    title: Json | None = None
    close: Json | None = None
    submit: Json | None = None


class Message(_Model):
    ts: Name | None = None
    thread_ts: Name | None = None
    text: Text | None = None
    user: Id | None = None
    bot_id: Id | None = None
    blocks: list[Json] = Field(default_factory=list)


class ResponseUrl(_Model):
    response_url: Url
    block_id: Name | None = None
    action_id: Name | None = None
    channel_id: Id | None = None


class EventItem(_Model):
    type: Name | None = None
    channel: Id | None = None
    ts: Name | None = None


class AssistantThread(_Model):
    channel_id: Id | None = None
    thread_ts: Name | None = None


class EventView(_Model):
    id: Id | None = None
    team_id: Id | None = None
    app_installed_team_id: Id | None = None


class Event(_Model):
    type: Name
    subtype: Name | None = None
    user: Id | User | None = None
    user_id: Id | None = None
    channel: Id | Channel | None = None
    channel_id: Id | None = None
    channel_type: Name | None = None
    team: Id | None = None
    team_id: Id | None = None
    user_team: Id | None = None
    source_team: Id | None = None
    bot_id: Id | None = None
    text: Text | None = None
    ts: Name | None = None
    thread_ts: Name | None = None
    event_ts: Name | None = None
    tab: Name | None = None
    view: EventView | None = None
    item: EventItem | None = None
    message: Message | None = None
    previous_message: Message | None = None
    assistant_thread: AssistantThread | None = None
    authorizations: list[Authorization] | None = None
    enterprise: Id | Enterprise | None = None
    function_execution_id: Name | None = None
    bot_access_token: Name | None = None
    inputs: Json | None = None


# --- the bodies -------------------------------------------------------------------------------------------------


class _Body(_Model):
    """The top-level keys Bolt reads from any body, typed for every kind (each kind then requires its own)."""

    type: Name | None = None
    token: Name | None = None
    api_app_id: Id | None = None
    enterprise: Id | Enterprise | None = None
    enterprise_id: Id | None = None
    is_enterprise_install: bool | None = None
    is_ext_shared_channel: bool | None = None
    team: Team | None = None
    team_id: Id | None = None
    user: User | None = None
    user_id: Id | None = None
    channel: Channel | None = None
    channel_id: Id | None = None
    thread_ts: Name | None = None
    authorizations: list[Authorization] | None = None
    event: Event | None = None
    view: View | None = None
    message: Message | None = None
    previous_message: Message | None = None
    item: EventItem | None = None
    assistant_thread: AssistantThread | None = None
    response_url: Url | None = None
    response_urls: list[ResponseUrl] | None = None
    trigger_id: Name | None = None
    function_execution_id: Name | None = None
    function_data: Json | None = None
    bot_access_token: Name | None = None

    @model_validator(mode="before")
    @classmethod
    def _objects_are_not_null(cls, data: Any) -> Any:
        """Bolt reads ``body.get("event", {})``, ``body.get("view", {})`` and ``len(body["response_urls"])``:
        present, they must not be null."""
        if isinstance(data, Mapping):
            for key in ("event", "view", "response_urls"):
                if key in data and data[key] is None:
                    raise ValueError(f"{key} is null")
        return data

    @property
    def kind(self) -> str:
        return self.type or "request"

    @property
    def workspace(self) -> str | None:
        """The workspace the request is for, in the order Bolt reads it (a modal opened from a Slack Connect
        channel names the installing workspace in ``view.app_installed_team_id``)."""
        if self.view is not None and self.view.app_installed_team_id:
            return self.view.app_installed_team_id
        if self.team is not None:
            return self.team.id
        if self.authorizations and self.authorizations[0].team_id:
            return self.authorizations[0].team_id
        if self.team_id:
            return self.team_id
        if self.event is not None and (self.event.team or self.event.team_id):
            return self.event.team or self.event.team_id
        if self.user is not None and self.user.team_id:
            return self.user.team_id
        return self.view.team_id if self.view is not None else None

    @property
    def reply_urls(self) -> list[str]:
        """Every URL a reply to this request could be posted to."""
        urls = [self.response_url] if self.response_url is not None else []
        return urls + [entry.response_url for entry in self.response_urls or []]

    @property
    def person(self) -> str:
        """The Slack name of the person who sent it ("" when none is given)."""
        if self.user is None:
            return ""
        return self.user.username or self.user.name or ""


class SlashCommand(_Body):
    """A slash command: a form, so every field is a string (``is_enterprise_install`` is ``"true"``/``"false"``)."""

    type: None = None  # a body with a type is not a command, whatever else it says
    command: Annotated[str, StringConstraints(pattern=r"^/[^\s/]{1,64}$")]
    text: Text = ""
    user_id: Id
    user_name: Name = ""
    team_id: Id
    team_domain: Name | None = None
    channel_id: Id
    channel_name: Name | None = None
    api_app_id: Id
    response_url: Url
    trigger_id: Name | None = None
    enterprise_name: Name | None = None
    is_enterprise_install: Literal["true", "false"] | None = None  # type: ignore[assignment]

    @property
    def kind(self) -> str:
        return "command"

    @property
    def person(self) -> str:
        return self.user_name


class _Interactive(_Body):
    user: User
    api_app_id: Id


class BlockActions(_Interactive):
    type: Literal["block_actions"]
    actions: Annotated[list[Action], Field(min_length=1, max_length=1)]  # Slack sends exactly one
    container: Json | None = None
    state: State | None = None

    @model_validator(mode="after")
    def _answerable(self) -> BlockActions:
        """A click on a message comes with its response URL; one in a modal or the Home tab, with its view."""
        if self.response_url is None and self.view is None:
            raise ValueError("a click with neither a response_url nor a view")
        return self

    @property
    def action(self) -> Action:
        return self.actions[0]


class BlockSuggestion(_Interactive):
    type: Literal["block_suggestion"]
    action_id: Name
    block_id: Name | None = None
    value: Text = ""
    container: Json | None = None


class ViewSubmission(_Interactive):
    type: Literal["view_submission"]
    view: View


class ViewClosed(_Interactive):
    type: Literal["view_closed"]
    view: View
    is_cleared: bool | None = None


class Shortcut(_Interactive):
    type: Literal["shortcut"]
    callback_id: Name


class MessageAction(_Interactive):
    type: Literal["message_action"]
    callback_id: Name
    channel: Channel
    message: Message


class EventCallback(_Body):
    type: Literal["event_callback"]
    team_id: Id
    api_app_id: Id
    event: Event
    event_id: Name
    event_time: int
    context_team_id: Id | None = None
    context_enterprise_id: Id | None = None


class AppRateLimited(_Body):
    type: Literal["app_rate_limited"]
    team_id: Id
    api_app_id: Id
    minute_rate_limited: int


class UrlVerification(_Body):
    type: Literal["url_verification"]
    challenge: Name


class SslCheck(_Body):
    ssl_check: Literal["1"]

    @property
    def kind(self) -> str:
        return "ssl_check"


SlackPayload = _Body
_BY_TYPE: dict[str, type[_Body]] = {
    "block_actions": BlockActions, "block_suggestion": BlockSuggestion, "view_submission": ViewSubmission,
    "view_closed": ViewClosed, "shortcut": Shortcut, "message_action": MessageAction,
    "event_callback": EventCallback, "app_rate_limited": AppRateLimited, "url_verification": UrlVerification,
}
# Requests that come from Slack itself rather than from a workspace: they name no team or app.
UNATTRIBUTED = (UrlVerification, SslCheck)


# --- decoding and parsing -----------------------------------------------------------------------------------------


def _refuse_constant(name: str) -> Any:
    raise NotUnderstood(f"JSON with {name}")


def _too_deep(value: Any) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            return True
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
    return False


def json_object(text: str, what: str) -> dict[str, Any]:
    """``text`` as a JSON object, by the edge's rules (no NaN or Infinity, at most MAX_DEPTH levels); else
    NotUnderstood naming ``what``. For JSON that rides inside a payload: private_metadata, button values."""
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except NotUnderstood:
        raise
    except (ValueError, RecursionError):
        raise NotUnderstood(f"{what} is not JSON") from None
    if not isinstance(value, dict):
        raise NotUnderstood(f"{what} is not a JSON object")
    if _too_deep(value):
        raise NotUnderstood(f"{what} nests deeper than {MAX_DEPTH} levels")
    return value


def decode(raw: bytes, content_type: str | None) -> dict[str, Any]:
    """The body as Slack meant it: a JSON object (Events API), or a form (a slash command; ``payload=`` holding
    a JSON object for interactivity). Like Bolt, a body that starts with ``{`` is JSON whatever its type says."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise NotUnderstood("a body that is not UTF-8") from None
    if not text:
        raise NotUnderstood("an empty body")
    media = (content_type or "").split(";")[0].strip().lower()
    if media == "application/json" or text.startswith("{"):
        return json_object(text, "the body")
    if media not in ("", "application/x-www-form-urlencoded"):
        raise NotUnderstood(f"content type {media[:60]!r}")
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=True, encoding="utf-8", errors="strict",
                          max_num_fields=MAX_FORM_FIELDS)
    except ValueError:  # UnicodeDecodeError included: a %-escape that is not UTF-8
        raise NotUnderstood("a malformed form") from None
    form = dict(pairs)
    if len(form) != len(pairs):
        raise NotUnderstood("a form field given twice")
    if "payload" in form:
        if len(form) != 1:
            raise NotUnderstood("a payload beside other form fields")
        return json_object(form["payload"], "the payload")
    return form


def _printable(part: object) -> str:
    """A location in the body for the log: keys may be anything, so they are clipped and made printable."""
    text = str(part)
    return "".join(ch if ch.isprintable() else "?" for ch in text[:40]) + ("…" if len(text) > 40 else "")


def _where(error: Mapping[str, Any]) -> str:
    return ".".join(_printable(part) for part in error.get("loc", ()))


def parse(body: Mapping[str, Any]) -> SlackPayload:
    """The typed model of ``body``, or :class:`NotUnderstood`."""
    model: type[_Body]
    if "command" in body:
        model = SlashCommand
    elif isinstance(body.get("type"), str) and body["type"] in _BY_TYPE:
        model = _BY_TYPE[body["type"]]
    elif "type" in body:
        raise NotUnderstood("an unknown type of request")
    elif "ssl_check" in body:
        model = SslCheck
    else:
        raise NotUnderstood("a body of no known shape")
    try:
        return model.model_validate(body)
    except ValidationError as error:
        problems = error.errors(include_url=False, include_input=False, include_context=False)
        where, what = (_where(problems[0]), problems[0]["msg"]) if problems else ("", "invalid")
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        what = what.removeprefix("Value error, ")
        raise NotUnderstood(f"a {model.__name__}{f' with {where}' if where else ''}: {what}{more}") from None


def first_word(text: str) -> tuple[str, str]:
    """The first word of ``text`` and the rest, both stripped. Every Unicode space separates words (U+00A0 and
    U+3000 too, which Slack clients send when people type them)."""
    parts = text.split(maxsplit=1)
    if not parts:
        return "", ""
    return parts[0], parts[1].strip() if len(parts) > 1 else ""
