"""A local Slack Web API: the bot's ``AsyncWebClient`` talks to it over real HTTP instead of to slack.com.

End-to-end tests, the benchmark and ``commops shell`` point ``SLACK_API_URL`` at ``{server}/api/``. The emulator
answers in the shape of Slack's real responses, enforces the limits the bot must respect (block counts and sizes,
text length, single-use trigger ids that expire after 3 seconds, view hashes), lets a test inject rate limits and
failures, and records every call so a test can wait for it and the shell can render it.

State lives in memory and is touched only from the event loop that serves the app (uvicorn on the caller's loop,
see :func:`bot.local_server.serve_asgi`), so no locks are needed.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import json
import re
import secrets
import string
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.devtools.local_server import serve_asgi
from bot.devtools.slack_payloads import API_APP_ID, TEAM_DOMAIN, TEAM_ID

JSON = dict[str, Any]

BOT_USER_ID = "U0BOT0001"
BOT_ID = "B0BOT0001"
BOT_NAME = "commops"

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_TEXT = 40_000
RESPONSE_URL_USES = 5  # Slack: a response_url works up to 5 times within 30 minutes
RESPONSE_URL_TTL = 30 * 60.0

# Arguments that slack_sdk (or a hand-made form post) may send as a JSON string inside a form field.
_JSON_FIELDS = ("blocks", "attachments", "view", "metadata")
_BLOCK_TYPES = frozenset(
    {"section", "divider", "image", "actions", "context", "input", "header", "rich_text", "file", "video", "markdown"}
)
_NON_INTERACTIVE = frozenset({"image", "plain_text", "mrkdwn"})


@dataclass(frozen=True)
class Call:
    """One request the emulator answered: the decoded arguments (token left out), when (``time.time()``), and
    either ``error`` or, on success, ``result`` (the answer without ``ok``, e.g. the new message's ``ts`` or the
    opened view's ``id``). Response-URL posts have method ``"response_url"`` and the URL in ``args["url"]``.
    """

    method: str
    args: dict[str, Any]
    at: float
    error: str | None = None
    result: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class _Failure(Exception):
    """A Slack error answer: ``{"ok": false, "error": ...}`` plus extra fields."""

    def __init__(
        self, error: str, *, status: int = 200, headers: Mapping[str, str] | None = None, extra: JSON | None = None
    ) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.headers = dict(headers or {})
        self.extra = extra or {}


@dataclass
class _Fault:
    error: str
    status: int
    retry_after: int | None
    remaining: int


@dataclass(eq=False)  # compared by identity when removed from the waiting list
class _Waiter:
    method: str | None
    predicate: Callable[[Call], bool] | None
    include_failed: bool
    future: asyncio.Future[Call]

    def matches(self, call: Call) -> bool:
        if self.method is not None and call.method != self.method:
            return False
        if not self.include_failed and not call.ok:
            return False
        return self.predicate is None or self.predicate(call)


@dataclass
class _Trigger:
    issued: float
    view_id: str | None
    used: bool = False


@dataclass
class _ResponseTarget:
    channel_id: str | None
    user_id: str | None
    message_ts: str | None
    created: float
    uses: int = 0


@dataclass
class _Ephemeral:
    channel: str
    user: str
    message: JSON


# --- Block Kit checks -------------------------------------------------------------------------------------------


class _BlockChecker:
    """The subset of Slack's Block Kit validation that bots trip over in practice (sizes, counts, empty texts).

    Problems read like Slack's own: ``"must be less than 3001 characters [json-pointer:/blocks/0/text/text]"``.
    Also fills in a missing ``block_id`` / ``action_id`` with a random one, as Slack does when it stores a surface.
    """

    def __init__(self) -> None:
        self.problems: list[str] = []

    def fail(self, pointer: str, message: str) -> None:
        self.problems.append(f"{message} [json-pointer:{pointer}]")

    def length(self, value: Any, pointer: str, maximum: int, *, minimum: int = 0) -> None:
        if not isinstance(value, str):
            self.fail(pointer, "must be a string")
        elif len(value) < minimum:
            self.fail(pointer, f"must be at least {minimum} characters")
        elif len(value) > maximum:
            self.fail(pointer, f"must be less than {maximum + 1} characters")

    def text(self, obj: Any, pointer: str, maximum: int, *, plain: bool = False, required: bool = True) -> None:
        if obj is None:
            if required:
                self.fail(pointer, "must provide an object")
            return
        if not isinstance(obj, dict):
            self.fail(pointer, "must provide an object")
            return
        allowed = ("plain_text",) if plain else ("plain_text", "mrkdwn")
        if obj.get("type") not in allowed:
            self.fail(f"{pointer}/type", "must be a valid enum value")
        if "text" not in obj:
            self.fail(pointer, "missing required field: text")
        else:
            self.length(obj["text"], f"{pointer}/text", maximum, minimum=1)

    def blocks(self, blocks: Any, pointer: str, maximum: int) -> list[JSON]:
        if not isinstance(blocks, list):
            self.fail(pointer, "must provide an array")
            return []
        if len(blocks) > maximum:
            self.fail(pointer, f"must provide no more than {maximum} items")
        seen: set[str] = set()
        out: list[JSON] = []
        for index, raw in enumerate(blocks):
            here = f"{pointer}/{index}"
            if not isinstance(raw, dict):
                self.fail(here, "must provide an object")
                continue
            block = copy.deepcopy(raw)
            block_id = block.setdefault("block_id", _random_id())
            self.length(block_id, f"{here}/block_id", 255, minimum=1)
            if block_id in seen:
                self.fail(f"{here}/block_id", "duplicate block_id")
            seen.add(str(block_id))
            self.block(block, here)
            out.append(block)
        return out

    def block(self, block: JSON, pointer: str) -> None:
        kind = block.get("type")
        if kind not in _BLOCK_TYPES:
            self.fail(pointer, "failed to match all allowed schemas")
            return
        if kind == "section":
            if "text" not in block and "fields" not in block:
                self.fail(pointer, "must provide either text or fields")
            self.text(block.get("text"), f"{pointer}/text", 3000, required=False)
            fields = block.get("fields")
            if fields is not None:
                if not isinstance(fields, list) or len(fields) > 10:
                    self.fail(f"{pointer}/fields", "must provide no more than 10 items")
                else:
                    for i, item in enumerate(fields):
                        self.text(item, f"{pointer}/fields/{i}", 2000)
            if "accessory" in block:
                self.elements([block["accessory"]], f"{pointer}/accessory", single=True)
        elif kind == "header":
            self.text(block.get("text"), f"{pointer}/text", 150, plain=True)
        elif kind == "actions":
            elements = block.get("elements")
            if not isinstance(elements, list) or not 1 <= len(elements) <= 25:
                self.fail(f"{pointer}/elements", "must provide between 1 and 25 items")
            else:
                self.elements(elements, f"{pointer}/elements")
        elif kind == "context":
            elements = block.get("elements")
            if not isinstance(elements, list) or not 1 <= len(elements) <= 10:
                self.fail(f"{pointer}/elements", "must provide between 1 and 10 items")
            else:
                for i, item in enumerate(elements):
                    if isinstance(item, dict) and item.get("type") == "image":
                        self.image(item, f"{pointer}/elements/{i}")
                    else:
                        self.text(item, f"{pointer}/elements/{i}", 3000)
        elif kind == "input":
            self.text(block.get("label"), f"{pointer}/label", 2000, plain=True)
            self.text(block.get("hint"), f"{pointer}/hint", 2000, plain=True, required=False)
            if not isinstance(block.get("element"), dict):
                self.fail(f"{pointer}/element", "must provide an object")
            else:
                self.elements([block["element"]], f"{pointer}/element", single=True)
        elif kind == "image":
            self.image(block, pointer)
            self.text(block.get("title"), f"{pointer}/title", 2000, plain=True, required=False)
        elif kind == "markdown":
            self.length(block.get("text"), f"{pointer}/text", 12_000, minimum=1)

    def image(self, image: JSON, pointer: str) -> None:
        if "image_url" not in image and "slack_file" not in image:
            self.fail(pointer, "must provide either image_url or slack_file")
        self.length(image.get("alt_text"), f"{pointer}/alt_text", 2000, minimum=1)

    def elements(self, elements: list[Any], pointer: str, *, single: bool = False) -> None:
        seen: set[str] = set()
        for index, element in enumerate(elements):
            here = pointer if single else f"{pointer}/{index}"
            if not isinstance(element, dict) or not isinstance(element.get("type"), str):
                self.fail(here, "must provide an object with a type")
                continue
            if element["type"] == "image":
                self.image(element, here)
                continue
            action_id = element.setdefault("action_id", _random_id())
            self.length(action_id, f"{here}/action_id", 255, minimum=1)
            if action_id in seen:
                self.fail(f"{here}/action_id", "duplicate action_id")
            seen.add(str(action_id))
            self.element(element, here)

    def element(self, element: JSON, pointer: str) -> None:
        kind = element["type"]
        self.text(element.get("placeholder"), f"{pointer}/placeholder", 150, plain=True, required=False)
        if "confirm" in element:
            self.confirm(element["confirm"], f"{pointer}/confirm")
        if kind == "button":
            self.text(element.get("text"), f"{pointer}/text", 75, plain=True)
            if "value" in element:
                self.length(element["value"], f"{pointer}/value", 2000)
            if "url" in element:
                self.length(element["url"], f"{pointer}/url", 3000)
            if "style" in element and element["style"] not in ("primary", "danger"):
                self.fail(f"{pointer}/style", "must be a valid enum value")
        elif kind in ("static_select", "multi_static_select", "radio_buttons", "checkboxes", "overflow"):
            self.options(element, pointer)
        elif kind == "plain_text_input":
            for key in ("min_length", "max_length"):
                value = element.get(key)
                if value is not None and (not isinstance(value, int) or not 0 <= value <= 3000):
                    self.fail(f"{pointer}/{key}", "must be between 0 and 3000")
            if "initial_value" in element:
                self.length(element["initial_value"], f"{pointer}/initial_value", 3000)
        elif kind == "number_input":
            if not isinstance(element.get("is_decimal_allowed"), bool):
                self.fail(pointer, "missing required field: is_decimal_allowed")
        elif kind == "datepicker":
            initial = element.get("initial_date")
            if initial is not None and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(initial)):
                self.fail(f"{pointer}/initial_date", "must match the pattern YYYY-MM-DD")

    def options(self, element: JSON, pointer: str) -> None:
        kind = element["type"]
        limit = {"overflow": 5, "radio_buttons": 10, "checkboxes": 10}.get(kind, 100)
        plain = kind in ("static_select", "multi_static_select", "overflow")
        groups = element.get("option_groups")
        options: list[Any]
        if kind in ("static_select", "multi_static_select") and groups is not None:
            options = [o for g in groups if isinstance(g, dict) for o in (g.get("options") or [])]
            if "options" in element:
                self.fail(pointer, "must provide exactly one of options or option_groups")
        else:
            given = element.get("options")
            if not isinstance(given, list) or not given:
                self.fail(f"{pointer}/options", f"must provide between 1 and {limit} items")
                return
            options = given
        if len(options) > limit:
            self.fail(f"{pointer}/options", f"must provide no more than {limit} items")
        values: list[Any] = []
        for i, option in enumerate(options):
            here = f"{pointer}/options/{i}"
            if not isinstance(option, dict):
                self.fail(here, "must provide an object")
                continue
            self.text(option.get("text"), f"{here}/text", 75, plain=plain)
            self.length(option.get("value"), f"{here}/value", 150, minimum=1)
            values.append(option.get("value"))
        initial = element.get("initial_option")
        if isinstance(initial, dict) and initial.get("value") not in values:
            self.fail(f"{pointer}/initial_option", "must match one of the options")
        for i, initial in enumerate(element.get("initial_options") or []):
            if not isinstance(initial, dict) or initial.get("value") not in values:
                self.fail(f"{pointer}/initial_options/{i}", "must match one of the options")

    def confirm(self, confirm: Any, pointer: str) -> None:
        if not isinstance(confirm, dict):
            self.fail(pointer, "must provide an object")
            return
        self.text(confirm.get("title"), f"{pointer}/title", 100, plain=True)
        self.text(confirm.get("text"), f"{pointer}/text", 300)
        self.text(confirm.get("confirm"), f"{pointer}/confirm", 30, plain=True)
        self.text(confirm.get("deny"), f"{pointer}/deny", 30, plain=True)


def _random_id(length: int = 5) -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(length))


def _problems(messages: list[str]) -> JSON:
    return {"response_metadata": {"messages": [f"[ERROR] {m}" for m in messages]}}


def _tz_details(tz: str) -> tuple[str, int]:
    if tz == "UTC":  # no tz database needed for the default (Windows has none without the tzdata package)
        return "UTC", 0
    try:
        now = datetime.now(ZoneInfo(tz))
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {tz!r}; pass tz_offset explicitly") from None
    offset = now.utcoffset()
    return now.tzname() or tz, int(offset.total_seconds()) if offset is not None else 0


# --- the emulator -----------------------------------------------------------------------------------------------


class SlackEmulator:
    """Slack's Web API on ``POST|GET /api/{method}`` plus response URLs on ``POST /response/{id}``.

    ``tokens``: the accepted bot tokens; None accepts any ``xoxb-`` token. ``trigger_ttl``: seconds a trigger id
    stays usable. ``strict_channels``: answer ``channel_not_found`` for channels not added with
    :meth:`add_channel` (by default a channel springs into existence on first use). ``clock`` (monotonic
    seconds) drives trigger and response-URL expiry, so tests can move time without sleeping. ``latency`` delays
    every Web API answer (seconds), for benchmarks that want Slack's round trip in the picture.
    """

    def __init__(
        self,
        *,
        tokens: Iterable[str] | None = None,
        trigger_ttl: float = 3.0,
        strict_channels: bool = False,
        clock: Callable[[], float] = time.monotonic,
        latency: float = 0.0,
    ) -> None:
        self.tokens: set[str] | None = set(tokens) if tokens is not None else None
        self.trigger_ttl = trigger_ttl
        self.strict_channels = strict_channels
        self.clock = clock
        self.latency = latency
        self.base_url: str | None = None
        self.views: dict[str, JSON] = {}

        self._calls: list[Call] = []
        self._waiters: list[_Waiter] = []
        self._subscribers: list[asyncio.Queue[Call]] = []
        self._faults: dict[str, deque[_Fault]] = {}
        self._channels: dict[str, JSON] = {}
        self._messages: dict[str, dict[str, JSON]] = {}
        self._ephemeral: list[_Ephemeral] = []
        self._users: dict[str, JSON] = {}
        self._usergroups: dict[str, list[str]] = {}
        self._triggers: dict[str, _Trigger] = {}
        self._response_targets: dict[str, _ResponseTarget] = {}
        self._view_stacks: dict[str, list[str]] = {}  # root view id -> stack, root first
        self._last_ts = 0
        self._ids = itertools.count(1)

        self._methods: dict[str, Callable[[JSON], JSON]] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.update": self._chat_update,
            "chat.delete": self._chat_delete,
            "views.open": self._views_open,
            "views.push": self._views_push,
            "views.update": self._views_update,
            "users.info": self._users_info,
            "usergroups.users.list": self._usergroups_users_list,
            "conversations.info": self._conversations_info,
        }
        self.app = Starlette(
            routes=[
                Route("/api/{method}", self._api, methods=["GET", "POST"]),
                Route("/response/{rid}", self._response_url, methods=["POST"]),
            ]
        )
        self.add_user(BOT_USER_ID, BOT_NAME, real_name="commops", is_bot=True)

    # --- serving --------------------------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def serve(self, *, host: str = "127.0.0.1", port: int | None = None) -> AsyncIterator[str]:
        """Serve on the running loop and set :attr:`base_url`; yields the base URL (``http://host:port``)."""
        async with serve_asgi(self.app, host=host, port=port) as base_url:
            self.base_url = base_url
            try:
                yield base_url
            finally:
                self.base_url = None

    @property
    def api_url(self) -> str:
        """What ``SLACK_API_URL`` / ``AsyncWebClient(base_url=...)`` should be (trailing slash included)."""
        return f"{self._base()}/api/"

    def _base(self) -> str:
        if self.base_url is None:
            raise RuntimeError("SlackEmulator.base_url is not set: serve it (emulator.serve()) or set it first")
        return self.base_url

    # --- seeding --------------------------------------------------------------------------------------------

    def add_user(
        self,
        user_id: str,
        name: str,
        *,
        real_name: str | None = None,
        tz: str = "UTC",
        tz_offset: int | None = None,
        email: str | None = None,
        is_admin: bool = False,
        is_bot: bool = False,
        deleted: bool = False,
    ) -> JSON:
        """Add (or replace) a user as ``users.info`` reports it; ``tz_offset`` (seconds) defaults from ``tz``."""
        if tz_offset is None:
            tz_label, tz_offset = _tz_details(tz)
        else:
            tz_label = tz
        real = real_name or name
        profile: JSON = {
            "real_name": real,
            "real_name_normalized": real,
            "display_name": name,
            "display_name_normalized": name,
            "team": TEAM_ID,
        }
        if email is not None:
            profile["email"] = email
        if is_bot:
            profile["bot_id"] = BOT_ID
        user: JSON = {
            "id": user_id,
            "team_id": TEAM_ID,
            "name": name,
            "deleted": deleted,
            "real_name": real,
            "tz": tz,
            "tz_label": tz_label,
            "tz_offset": tz_offset,
            "profile": profile,
            "is_admin": is_admin,
            "is_owner": False,
            "is_primary_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": is_bot,
            "is_app_user": False,
            "updated": int(time.time()),
        }
        self._users[user_id] = user
        return copy.deepcopy(user)

    def add_usergroup(self, usergroup_id: str, members: Iterable[str]) -> None:
        self._usergroups[usergroup_id] = list(members)

    def add_channel(self, channel_id: str, name: str | None = None, *, is_private: bool = False) -> JSON:
        """Add a channel as ``conversations.info`` reports it (ids starting with ``D`` are direct messages)."""
        created = int(time.time())
        if channel_id.startswith("D"):
            channel: JSON = {
                "id": channel_id,
                "created": created,
                "is_im": True,
                "is_org_shared": False,
                "user": "U" + channel_id[1:],
                "is_user_deleted": False,
                "priority": 0,
            }
        else:
            name = name or channel_id.lower()
            channel = {
                "id": channel_id,
                "name": name,
                "is_channel": not is_private,
                "is_group": is_private,
                "is_im": False,
                "is_mpim": False,
                "is_private": is_private,
                "created": created,
                "is_archived": False,
                "is_general": False,
                "is_shared": False,
                "is_ext_shared": False,
                "is_org_shared": False,
                "is_member": True,
                "name_normalized": name,
                "creator": "U0000000001",
                "topic": {"value": "", "creator": "", "last_set": 0},
                "purpose": {"value": "", "creator": "", "last_set": 0},
            }
        self._channels[channel_id] = channel
        return copy.deepcopy(channel)

    # --- ids handed to the bot through payloads --------------------------------------------------------------

    def new_trigger_id(self, *, view_id: str | None = None) -> str:
        """A single-use trigger id that expires after :attr:`trigger_ttl`; ``view_id`` when the interaction
        happened inside that modal (so ``views.push`` stacks onto it)."""
        trigger_id = f"{int(time.time())}{next(self._ids):04d}.{TEAM_ID[1:]}.{secrets.token_hex(16)}"
        self._triggers[trigger_id] = _Trigger(issued=self.clock(), view_id=view_id)
        return trigger_id

    def new_response_url(
        self, *, channel_id: str | None = None, user_id: str | None = None, message_ts: str | None = None
    ) -> str:
        """``{base}/response/{id}``. ``message_ts`` is the message a click came from, for ``replace_original``
        and ``delete_original``; ``user_id`` receives ephemeral responses."""
        rid = secrets.token_urlsafe(12)
        self._response_targets[rid] = _ResponseTarget(channel_id, user_id, message_ts, self.clock())
        return f"{self._base()}/response/{rid}"

    # --- fault injection ------------------------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        error: str = "ratelimited",
        *,
        status: int | None = None,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` (``"response_url"`` for response URLs) with ``error``.

        ``status`` defaults to 429 for ``ratelimited`` (with ``Retry-After``, default 1 s) and 200 otherwise, which
        is how Slack reports most errors.
        """
        if status is None:
            status = 429 if error == "ratelimited" else 200
        if status == 429 and retry_after is None:
            retry_after = 1
        self._faults.setdefault(method, deque()).append(_Fault(error, status, retry_after, times))

    def _take_fault(self, method: str) -> None:
        queue = self._faults.get(method)
        if not queue:
            return
        fault = queue[0]
        fault.remaining -= 1
        if fault.remaining <= 0:
            queue.popleft()
        headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else None
        raise _Failure(fault.error, status=fault.status, headers=headers)

    # --- recording ------------------------------------------------------------------------------------------

    def calls(self, method: str | None = None, *, include_failed: bool = False) -> list[Call]:
        """Calls so far, oldest first; failed ones (injected or not) only with ``include_failed``."""
        return [c for c in self._calls if (method is None or c.method == method) and (include_failed or c.ok)]

    def clear(self) -> None:
        """Forget recorded calls (messages, views and seeded data stay)."""
        self._calls.clear()

    async def wait_for(
        self,
        method: str | None,
        predicate: Callable[[Call], bool] | None = None,
        timeout: float = 5.0,
        *,
        include_failed: bool = False,
    ) -> Call:
        """The first call so far that matches, else the next one to arrive; TimeoutError after ``timeout``."""
        waiter = _Waiter(method, predicate, include_failed, asyncio.get_running_loop().create_future())
        for call in self._calls:
            if waiter.matches(call):
                return call
        self._waiters.append(waiter)
        try:
            return await asyncio.wait_for(waiter.future, timeout)
        except TimeoutError:
            seen = [(c.method, c.error) for c in self._calls[-10:]]
            raise TimeoutError(f"no matching {method or 'any'} call within {timeout}s; last calls: {seen}") from None
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    def subscribe(self) -> asyncio.Queue[Call]:
        """A queue that receives every call from now on (failed ones included), e.g. for a live renderer."""
        queue: asyncio.Queue[Call] = asyncio.Queue()
        self._subscribers.append(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[Call]) -> None:
        if queue in self._subscribers:
            self._subscribers.remove(queue)

    def _record(self, call: Call) -> None:
        self._calls.append(call)
        for queue in self._subscribers:
            queue.put_nowait(call)
        for waiter in list(self._waiters):
            if waiter.future.done():
                self._waiters.remove(waiter)
                continue
            try:
                hit = waiter.matches(call)
            except Exception as exc:  # a broken predicate fails its waiter, not the request being served
                waiter.future.set_exception(exc)
                self._waiters.remove(waiter)
                continue
            if hit:
                waiter.future.set_result(call)
                self._waiters.remove(waiter)

    # --- state for renderers --------------------------------------------------------------------------------

    def messages(self, channel: str) -> list[JSON]:
        """The channel's current messages (updates applied, deletions gone), oldest first."""
        stored = self._messages.get(channel, {})
        return [copy.deepcopy(stored[ts]) for ts in sorted(stored)]

    def message(self, channel: str, ts: str) -> JSON | None:
        found = self._messages.get(channel, {}).get(ts)
        return copy.deepcopy(found) if found is not None else None

    def ephemeral_messages(self, channel: str | None = None, user: str | None = None) -> list[JSON]:
        """Ephemeral messages, each marked ``"is_ephemeral": True`` with its ``"channel"`` and ``"recipient"``."""
        return [
            copy.deepcopy(e.message)
            for e in self._ephemeral
            if (channel is None or e.channel == channel) and (user is None or e.user == user)
        ]

    def close_view(self, view_id: str) -> None:
        """The user closed (or submitted and closed) a modal: it and the views pushed on top of it go away."""
        view = self.views.get(view_id)
        if view is None:
            return
        stack = self._view_stacks.get(view["root_view_id"], [])
        if view_id in stack:
            for gone in stack[stack.index(view_id) :]:
                self.views.pop(gone, None)
            del stack[stack.index(view_id) :]
        self.views.pop(view_id, None)

    # --- HTTP -----------------------------------------------------------------------------------------------

    async def _read_args(self, request: Request) -> tuple[JSON, str | None]:
        args: JSON = dict(request.query_params)
        raw = await request.body()
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if raw:
            if content_type == "application/json":
                try:
                    body = json.loads(raw)
                except ValueError:
                    raise _Failure("invalid_json") from None
                if not isinstance(body, dict):
                    raise _Failure("invalid_json")
                args.update(body)
            elif content_type in ("application/x-www-form-urlencoded", ""):
                args.update(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
            else:
                raise _Failure("invalid_form_data")
        for key in _JSON_FIELDS:
            value = args.get(key)
            if isinstance(value, str) and value[:1] in ("[", "{"):
                with contextlib.suppress(ValueError):  # left as a string; the method rejects it
                    args[key] = json.loads(value)
        token = args.pop("token", None)
        authorization = request.headers.get("authorization", "")
        if authorization.lower().startswith("bearer "):
            token = authorization[7:].strip()
        return args, token if isinstance(token, str) else None

    def _authenticate(self, token: str | None) -> None:
        if not token:
            raise _Failure("not_authed")
        valid = token in self.tokens if self.tokens is not None else token.startswith("xoxb-")
        if not valid:
            raise _Failure("invalid_auth")

    async def _api(self, request: Request) -> Response:
        method = str(request.path_params["method"])
        if self.base_url is None:
            self.base_url = str(request.base_url).rstrip("/")
        args: JSON = {}
        try:
            args, token = await self._read_args(request)
            if self.latency:
                await asyncio.sleep(self.latency)
            self._authenticate(token)
            self._take_fault(method)
            handler = self._methods.get(method)
            if handler is None:
                raise _Failure("unknown_method")
            result = handler(args)
        except _Failure as failure:
            self._record(Call(method, args, time.time(), failure.error))
            body = {"ok": False, "error": failure.error, **failure.extra}
            return JSONResponse(body, status_code=failure.status, headers=failure.headers)
        self._record(Call(method, args, time.time(), result=copy.deepcopy(result)))
        return JSONResponse({"ok": True, **result})

    async def _response_url(self, request: Request) -> Response:
        """Slack's response_url: JSON in, plain-text errors out (like incoming webhooks)."""
        url = str(request.url)
        args: JSON = {"url": url}
        try:
            try:
                body = json.loads(await request.body())
            except ValueError:
                raise _Failure("invalid_payload", status=400) from None
            if not isinstance(body, dict):
                raise _Failure("invalid_payload", status=400)
            args = {**body, "url": url}
            self._take_fault("response_url")
            self._respond(str(request.path_params["rid"]), body)
        except _Failure as failure:
            self._record(Call("response_url", args, time.time(), failure.error))
            return PlainTextResponse(failure.error, status_code=failure.status, headers=failure.headers)
        self._record(Call("response_url", args, time.time()))
        return JSONResponse({"ok": True})

    # --- helpers shared by methods --------------------------------------------------------------------------

    def _next_ts(self) -> str:
        """Unique, increasing message ts in Slack's ``seconds.micros`` form."""
        micros = max(int(time.time() * 1_000_000), self._last_ts + 1)
        self._last_ts = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _channel(self, args: JSON) -> str:
        channel = args.get("channel")
        if not isinstance(channel, str) or not channel:
            raise _Failure("channel_not_found")
        if channel[0] in "UW":  # posting to a user id goes to the app's DM with that user
            channel = "D" + channel[1:]
        if channel not in self._channels:
            if self.strict_channels and not channel.startswith("D"):
                raise _Failure("channel_not_found")
            self.add_channel(channel)
        return channel

    def _content(self, args: JSON, *, required: bool = True) -> tuple[str, list[JSON] | None]:
        """Validated ``(text, blocks)`` of a message."""
        text = args.get("text")
        text = "" if text is None else str(text)
        if len(text) > MAX_TEXT:
            raise _Failure("msg_too_long")
        blocks: list[JSON] | None = None
        if "blocks" in args and args["blocks"] is not None:
            raw = args["blocks"]
            if not isinstance(raw, list):
                raise _Failure("invalid_blocks_format")
            if len(raw) > MAX_MESSAGE_BLOCKS:
                problem = f"must provide no more than {MAX_MESSAGE_BLOCKS} items [json-pointer:/blocks]"
                raise _Failure("invalid_blocks", extra={"errors": [problem], **_problems([problem])})
            checker = _BlockChecker()
            blocks = checker.blocks(raw, "/blocks", MAX_MESSAGE_BLOCKS)
            if checker.problems:
                raise _Failure("invalid_blocks", extra={"errors": checker.problems, **_problems(checker.problems)})
        if required and not text and not blocks and not args.get("attachments"):
            raise _Failure("no_text")
        return text, blocks

    def _new_message(self, text: str, blocks: list[JSON] | None, args: JSON, ts: str) -> JSON:
        message: JSON = {
            "user": BOT_USER_ID,
            "type": "message",
            "ts": ts,
            "bot_id": BOT_ID,
            "app_id": API_APP_ID,
            "text": text,
            "team": TEAM_ID,
        }
        if blocks:
            message["blocks"] = blocks
        for key in ("thread_ts", "attachments", "metadata", "username"):
            if args.get(key) is not None:
                message[key] = args[key]
        return message

    # --- Web API methods ------------------------------------------------------------------------------------

    def _auth_test(self, args: JSON) -> JSON:
        return {
            "url": f"https://{TEAM_DOMAIN}.slack.com/",
            "team": TEAM_DOMAIN,
            "user": BOT_NAME,
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _chat_post_message(self, args: JSON) -> JSON:
        channel = self._channel(args)
        text, blocks = self._content(args)
        ts = self._next_ts()
        message = self._new_message(text, blocks, args, ts)
        self._messages.setdefault(channel, {})[ts] = message
        return {"channel": channel, "ts": ts, "message": copy.deepcopy(message)}

    def _chat_post_ephemeral(self, args: JSON) -> JSON:
        channel = self._channel(args)
        user = args.get("user")
        if not isinstance(user, str) or not user:
            raise _Failure("user_not_found")
        text, blocks = self._content(args)
        ts = self._next_ts()
        message = self._new_message(text, blocks, args, ts)
        message.update({"is_ephemeral": True, "channel": channel, "recipient": user})
        self._ephemeral.append(_Ephemeral(channel, user, message))
        return {"message_ts": ts}

    def _chat_update(self, args: JSON) -> JSON:
        channel = self._channel(args)
        ts = str(args.get("ts") or "")
        message = self._messages.get(channel, {}).get(ts)
        if message is None:
            raise _Failure("message_not_found")
        text, blocks = self._content(args)
        message["text"] = text
        if blocks:
            message["blocks"] = blocks
        elif "blocks" in args:  # Slack keeps the old blocks when the argument is left out; [] removes them
            message.pop("blocks", None)
        if args.get("metadata") is not None:
            message["metadata"] = args["metadata"]
        message["edited"] = {"user": BOT_USER_ID, "ts": self._next_ts()}
        return {"channel": channel, "ts": ts, "text": text, "message": copy.deepcopy(message)}

    def _chat_delete(self, args: JSON) -> JSON:
        channel = self._channel(args)
        ts = str(args.get("ts") or "")
        if self._messages.get(channel, {}).pop(ts, None) is None:
            raise _Failure("message_not_found")
        return {"channel": channel, "ts": ts}

    def _check_trigger(self, args: JSON) -> _Trigger:
        trigger = self._triggers.get(str(args.get("trigger_id") or ""))
        if trigger is None:
            raise _Failure("invalid_trigger_id")
        if trigger.used:
            raise _Failure("exchanged_trigger_id")  # what Slack says for a second use
        if self.clock() - trigger.issued > self.trigger_ttl:
            raise _Failure("expired_trigger_id")
        return trigger

    def _prepared_view(self, args: JSON, *, updating: JSON | None = None) -> JSON:
        """Validate the ``view`` argument and return it as Slack stores it (ids and hash still to be set)."""
        view = args.get("view")
        if not isinstance(view, dict):
            raise _Failure("invalid_arguments", extra=_problems(["missing required field: view"]))
        checker = _BlockChecker()
        if view.get("type") != "modal":
            checker.fail("/view/type", "must be a valid enum value (modal)")
        checker.text(view.get("title"), "/view/title", 24, plain=True)
        checker.text(view.get("submit"), "/view/submit", 24, plain=True, required=False)
        checker.text(view.get("close"), "/view/close", 24, plain=True, required=False)
        blocks = checker.blocks(view.get("blocks"), "/view/blocks", MAX_VIEW_BLOCKS)
        if any(b.get("type") == "input" for b in blocks) and not view.get("submit"):
            checker.fail("/view/submit", "must provide submit when the view has input blocks")
        for key, limit in (("private_metadata", 3000), ("callback_id", 255), ("external_id", 255)):
            if key in view:
                checker.length(view[key], f"/view/{key}", limit)
        if checker.problems:
            raise _Failure("invalid_arguments", extra=_problems(checker.problems))
        external_id = view.get("external_id") or ""
        if external_id and any(
            v["external_id"] == external_id and (updating is None or v["id"] != updating["id"])
            for v in self.views.values()
        ):
            raise _Failure("duplicate_external_id")
        return {
            "team_id": TEAM_ID,
            "type": "modal",
            "blocks": blocks,
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "state": {"values": {}},
            "title": view.get("title"),
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "close": view.get("close"),
            "submit": view.get("submit"),
            "app_id": API_APP_ID,
            "external_id": external_id,
            "app_installed_team_id": TEAM_ID,
            "bot_id": BOT_ID,
        }

    def _new_hash(self) -> str:
        return f"{int(time.time())}.{secrets.token_urlsafe(6)}"

    def _store_view(self, prepared: JSON, previous: str | None, root: str | None) -> JSON:
        view_id = f"V0{next(self._ids):08d}"
        view = {
            "id": view_id,
            **prepared,
            "hash": self._new_hash(),
            "previous_view_id": previous,
            "root_view_id": root or view_id,
        }
        # Keep Slack's key order: id, team_id, type, blocks, ..., hash, title, ...
        order = [
            "id",
            "team_id",
            "type",
            "blocks",
            "private_metadata",
            "callback_id",
            "state",
            "hash",
            "title",
            "clear_on_close",
            "notify_on_close",
            "close",
            "submit",
            "previous_view_id",
            "root_view_id",
            "app_id",
            "external_id",
            "app_installed_team_id",
            "bot_id",
        ]
        view = {key: view[key] for key in order}
        self.views[view_id] = view
        self._view_stacks.setdefault(view["root_view_id"], []).append(view_id)
        return copy.deepcopy(view)

    def _views_open(self, args: JSON) -> JSON:
        trigger = self._check_trigger(args)
        prepared = self._prepared_view(args)
        trigger.used = True
        return {"view": self._store_view(prepared, None, None)}

    def _views_push(self, args: JSON) -> JSON:
        trigger = self._check_trigger(args)
        prepared = self._prepared_view(args)
        below = self.views.get(trigger.view_id) if trigger.view_id else None
        if below is not None and len(self._view_stacks.get(below["root_view_id"], [])) >= 3:
            raise _Failure("push_limit_reached")
        trigger.used = True
        if below is None:
            return {"view": self._store_view(prepared, None, None)}
        stack = self._view_stacks[below["root_view_id"]]
        return {"view": self._store_view(prepared, stack[-1], below["root_view_id"])}

    def _views_update(self, args: JSON) -> JSON:
        view_id, external_id = args.get("view_id"), args.get("external_id")
        if external_id:
            current = next((v for v in self.views.values() if v["external_id"] == external_id), None)
        elif view_id:
            current = self.views.get(str(view_id))
        else:
            raise _Failure("invalid_arguments", extra=_problems(["either view_id or external_id is required"]))
        if current is None:
            raise _Failure("not_found")
        if args.get("hash") and args["hash"] != current["hash"]:
            raise _Failure("hash_conflict")
        prepared = self._prepared_view(args, updating=current)
        if not prepared["external_id"]:
            prepared["external_id"] = current["external_id"]
        current.update(prepared)
        current["hash"] = self._new_hash()
        return {"view": copy.deepcopy(current)}

    def _users_info(self, args: JSON) -> JSON:
        user = self._users.get(str(args.get("user") or ""))
        if user is None:
            raise _Failure("user_not_found")
        return {"user": copy.deepcopy(user)}

    def _usergroups_users_list(self, args: JSON) -> JSON:
        members = self._usergroups.get(str(args.get("usergroup") or ""))
        if members is None:
            raise _Failure("no_such_subteam")
        return {"users": list(members)}

    def _conversations_info(self, args: JSON) -> JSON:
        channel = self._channel(args)
        return {"channel": copy.deepcopy(self._channels[channel])}

    # --- response_url ---------------------------------------------------------------------------------------

    def _respond(self, rid: str, body: JSON) -> None:
        target = self._response_targets.get(rid)
        if target is None:
            raise _Failure("no_service", status=404)
        if self.clock() - target.created > RESPONSE_URL_TTL:
            raise _Failure("expired_url", status=404)
        if target.uses >= RESPONSE_URL_USES:
            raise _Failure("used_url", status=404)
        original = self._original(target)
        if body.get("delete_original"):
            target.uses += 1
            if original is not None:
                self._forget(target, original)
            return
        try:
            text, blocks = self._content(body)
        except _Failure as failure:
            raise _Failure(failure.error, status=400) from None
        target.uses += 1
        if body.get("replace_original") and original is not None:
            original["text"] = text
            if blocks:
                original["blocks"] = blocks
            else:
                original.pop("blocks", None)
            return
        # A response_url minted without a channel (a shell or test shortcut) answers in the user's DM.
        channel = target.channel_id or "D" + (target.user_id or "U0UNKNOWN")[1:]
        ts = self._next_ts()
        message = self._new_message(text, blocks, body, ts)
        if body.get("response_type") == "in_channel":
            self._messages.setdefault(channel, {})[ts] = message
        else:
            message.update({"is_ephemeral": True, "channel": channel, "recipient": target.user_id})
            self._ephemeral.append(_Ephemeral(channel, target.user_id or "", message))

    def _original(self, target: _ResponseTarget) -> JSON | None:
        if target.message_ts is None or target.channel_id is None:
            return None
        found = self._messages.get(target.channel_id, {}).get(target.message_ts)
        if found is not None:
            return found
        return next(
            (
                e.message
                for e in self._ephemeral
                if e.channel == target.channel_id and e.message["ts"] == target.message_ts
            ),
            None,
        )

    def _forget(self, target: _ResponseTarget, original: JSON) -> None:
        if original.get("is_ephemeral"):
            self._ephemeral = [e for e in self._ephemeral if e.message is not original]
        elif target.channel_id is not None:
            self._messages.get(target.channel_id, {}).pop(str(original["ts"]), None)
