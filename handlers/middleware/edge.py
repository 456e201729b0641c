"""The edge: what every request passes before Bolt sees it.

Over HTTP (:meth:`Edge.dispatch`, which ``bot.serving`` and the shell call with the raw bytes), in this order:

1. the signature (:mod:`handlers.middleware.signature`): anything not signed by Slack gets 401 and nothing else;
2. the body (:mod:`handlers.middleware.payloads`): decoded and checked against its typed model, else 400;
3. the response URLs: only Slack's (``https://hooks.slack.com``) or the configured Slack API's own host, so no
   reply can be sent anywhere else, else 400;
4. the workspace and app: the bot's own, learnt from ``auth.test`` (:class:`Identity`), else 403.

Each refusal is one log line and no Bolt dispatch at all: no listener, no error handler, no reply. An admitted
request goes to Bolt with its typed model in the context (:data:`PAYLOAD_KEY`), so the authorize middleware and
listeners read types, not guesses. Bolt takes an already parsed body only under its ``socket_mode`` name; in Bolt
that name changes nothing but skipping Bolt's own signature check, which step 1 has just done.

In Socket Mode Slack's own socket authenticates the requests; ``bot.serving`` hands each envelope's payload to
:meth:`Edge.dispatch_body`, which runs steps 2 to 4 before Bolt sees it (a refusal runs nothing and answers the
envelope empty: Socket Mode has no status to show). It cannot be a Bolt middleware: Bolt reads the body to
build any middleware's arguments, and a malformed body breaks that before the middleware runs.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from handlers.middleware import signature
from handlers.middleware.payloads import UNATTRIBUTED, NotUnderstood, SlackPayload, decode, parse

log = logging.getLogger("commops.edge")

PAYLOAD_KEY = "slack_payload"  # Bolt context key: the request's typed model, set once it is admitted
SLACK_REPLY_ORIGIN = ("https", "hooks.slack.com", 443)
IDENTITY_TIMEOUT = 5.0  # seconds for auth.test
IDENTITY_RETRY = 5.0  # after a failed auth.test, seconds before the next try
_URL = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]!$&'()*+,;=%]+")  # no spaces, no backslash, no user info
_DEFAULT_PORTS = {"https": 443, "http": 80}
_EDGES: weakref.WeakKeyDictionary[AsyncApp, Edge] = weakref.WeakKeyDictionary()
_ANSWERS = {400: "request not understood", 401: "request not signed by Slack", 403: "not this app's workspace",
            503: "cannot tell yet which workspace this app serves; try again"}


@dataclass(frozen=True)
class Refusal:
    status: int
    reason: str


@dataclass(frozen=True)
class Admitted:
    payload: SlackPayload
    body: dict[str, Any]


@dataclass(frozen=True)
class BotIdentity:
    team_id: str
    app_id: str | None  # None when auth.test does not name the app: then only the workspace is checked


class Identity:
    """The bot's own workspace and app, from ``auth.test``: learnt once (at start, or at the first request that
    needs it); a failure is logged and tried again at most every few seconds."""

    def __init__(self, client: AsyncWebClient, clock: Callable[[], float] = time.monotonic) -> None:
        self._client = client
        self._clock = clock
        self._known: BotIdentity | None = None
        self._failed_at: float | None = None
        self._lock = asyncio.Lock()

    @property
    def known(self) -> BotIdentity | None:
        return self._known

    async def get(self) -> BotIdentity | None:
        if self._known is not None:
            return self._known
        async with self._lock:
            if self._known is not None:
                return self._known
            if self._failed_at is not None and self._clock() - self._failed_at < IDENTITY_RETRY:
                return None
            self._known = await self._ask()
            self._failed_at = None if self._known is not None else self._clock()
            return self._known

    async def _ask(self) -> BotIdentity | None:
        try:
            async with asyncio.timeout(IDENTITY_TIMEOUT):
                reply = await self._client.auth_test()
        except Exception as error:  # Slack unreachable, or the token refused: the log line says which
            code = getattr(getattr(error, "response", None), "get", lambda _key: None)("error")
            log.warning("cannot learn this bot's workspace from auth.test (%s); requests wait for it",
                        code or type(error).__name__)
            return None
        team, app = reply.get("team_id"), reply.get("app_id")
        if not isinstance(team, str) or not team:
            log.warning("auth.test named no workspace; requests wait for it")
            return None
        if not isinstance(app, str) or not app:
            log.warning("auth.test did not name this app: requests are checked for the workspace only")
            app = None
        log.info("serving workspace %s, app %s", team, app or "(not named)")
        return BotIdentity(team, app)


def reply_origins(slack_api_url: str) -> frozenset[tuple[str, str, int]]:
    """Where replies may go: Slack's response URLs, and the host of the configured Slack API (an emulator's)."""
    parts = urlsplit(slack_api_url)
    scheme = parts.scheme.lower()
    origin = (scheme, parts.hostname or "", parts.port or _DEFAULT_PORTS.get(scheme, 0))
    return frozenset({SLACK_REPLY_ORIGIN, origin})


def _origin(url: str) -> tuple[str, str, int] | None:
    if not _URL.fullmatch(url):
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if "@" in parts.netloc or not parts.hostname:
        return None
    return scheme, parts.hostname, port or _DEFAULT_PORTS.get(scheme, 0)


def _header(pairs: Iterable[tuple[str, str]], name: str) -> str | None:
    found = None
    for key, value in pairs:
        if key.lower() == name:
            found = value
    return found


class Edge:
    def __init__(self, *, signing_secret: str | None, identity: Identity,
                 reply_to: Iterable[tuple[str, str, int]] = (SLACK_REPLY_ORIGIN,),
                 clock: Callable[[], float] = time.time) -> None:
        self._secret = signing_secret
        self.identity = identity
        self._reply_to = frozenset(reply_to)
        self._clock = clock

    # --- HTTP ---------------------------------------------------------------------------------------------------

    async def admit(self, raw: bytes, headers: Iterable[tuple[str, str]]) -> Admitted | Refusal:
        """Steps 1 to 4 for a raw HTTP request."""
        pairs = list(headers)
        if self._secret is None:
            return self._refuse(401, "no signing secret is configured")
        problem = signature.check(self._secret, pairs, raw, self._clock)
        if problem is not None:
            return self._refuse(401, f"not signed by Slack: {problem}")
        try:
            body = decode(raw, _header(pairs, "content-type"))
        except NotUnderstood as error:
            return self._refuse(400, error.reason)
        return await self.admit_body(body)

    async def dispatch(self, app: AsyncApp, raw: bytes, headers: Iterable[tuple[str, str]]) -> BoltResponse:
        """A raw HTTP request: refused here, or handed to Bolt's dispatch with its typed model in the context."""
        pairs = list(headers)
        return await self._dispatch(app, await self.admit(raw, pairs), pairs)

    # --- any transport --------------------------------------------------------------------------------------------

    async def admit_body(self, body: Mapping[str, Any]) -> Admitted | Refusal:
        """Steps 2 to 4 for a body whose sender is already known to be Slack."""
        try:
            payload = parse(body)
        except NotUnderstood as error:
            return self._refuse(400, error.reason)
        for url in payload.reply_urls:
            if _origin(url) not in self._reply_to:
                return self._refuse(400, f"a {payload.kind} whose response URL is not Slack's")
        if isinstance(payload, UNATTRIBUTED):
            return Admitted(payload, dict(body))
        identity = await self.identity.get()
        if identity is None:
            return self._refuse(503, f"a {payload.kind} before this bot knows its workspace")
        if payload.workspace != identity.team_id:
            return self._refuse(403, f"a {payload.kind} for workspace {payload.workspace or '(none)'}, "
                                     f"not {identity.team_id}")
        if identity.app_id is not None and payload.api_app_id != identity.app_id:
            return self._refuse(403, f"a {payload.kind} for app {payload.api_app_id or '(none)'}, "
                                     f"not {identity.app_id}")
        return Admitted(payload, dict(body))

    async def dispatch_body(self, app: AsyncApp, body: object,
                            headers: Iterable[tuple[str, str]] = ()) -> BoltResponse:
        """A parsed body from a transport that already knows Slack sent it (Socket Mode): steps 2 to 4, then Bolt."""
        if not isinstance(body, Mapping):
            return await self._dispatch(app, self._refuse(400, "a body that is not a JSON object"), [])
        return await self._dispatch(app, await self.admit_body(body), list(headers))

    def install(self, app: AsyncApp) -> None:
        """Put this edge in front of ``app``: :func:`edge_of` finds it, and the servers send every request to it."""
        _EDGES[app] = self

    @staticmethod
    async def _dispatch(app: AsyncApp, verdict: Admitted | Refusal, headers: list[tuple[str, str]]) -> BoltResponse:
        if isinstance(verdict, Refusal):
            return BoltResponse(status=verdict.status, body=_ANSWERS.get(verdict.status, "refused"),
                                headers={"content-type": "text/plain; charset=utf-8"})
        bolt_headers: dict[str, list[str]] = {}
        for key, value in headers:
            bolt_headers.setdefault(key.lower(), []).append(value)
        request = AsyncBoltRequest(body=verdict.body, headers=bolt_headers,  # type: ignore[arg-type]
                                   context={PAYLOAD_KEY: verdict.payload}, mode="socket_mode")
        response: BoltResponse = await app.async_dispatch(request)
        return response

    @staticmethod
    def _refuse(status: int, reason: str) -> Refusal:
        # Unsigned requests are the internet's background noise; the rest mean something is off at Slack's end.
        log.log(logging.INFO if status == 401 else logging.WARNING, "refused a request (%d): %s", status, reason)
        return Refusal(status, reason)


def edge_of(app: AsyncApp) -> Edge | None:
    """The edge installed in front of ``app``, if any."""
    return _EDGES.get(app)


def admitted(context: Mapping[str, Any]) -> SlackPayload | None:
    """The typed model of a request the edge admitted, else None."""
    payload = context.get(PAYLOAD_KEY)
    return payload if isinstance(payload, SlackPayload) else None
