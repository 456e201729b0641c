"""The emulator itself: :class:`SlackEmulator` assembles the parts, routes HTTP to them, and serves itself."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import time
from collections.abc import AsyncIterator, Callable, Iterable
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute

from bot.devtools.local_server import serve_asgi
from bot.devtools.slack_emulator.common import BOT_NAME, BOT_USER_ID, JSON, Call, Failure
from bot.devtools.slack_emulator.faults import Faults
from bot.devtools.slack_emulator.recording import CallLog
from bot.devtools.slack_emulator.response_urls import ResponseUrls
from bot.devtools.slack_emulator.socket_mode import APP_TOKEN_METHODS, SocketMode
from bot.devtools.slack_emulator.views import Views

# Arguments that slack_sdk (or a hand-made form post) may send as a JSON string inside a form field.
_JSON_FIELDS = ("blocks", "attachments", "view", "metadata")


class SlackEmulator(ResponseUrls, Views, SocketMode, CallLog, Faults):
    """Slack's Web API on ``POST|GET /api/{method}``, response URLs on ``POST /response/{id}``, and Socket Mode's
    WebSocket on ``/link/`` (see ``socket_mode.py``).

    ``tokens``: the accepted bot tokens; None accepts any ``xoxb-`` token. ``app_tokens``: the accepted app-level
    tokens (``apps.connections.open``); None accepts any ``xapp-`` token. ``trigger_ttl``: seconds a trigger id
    stays usable. ``strict_channels``: answer ``channel_not_found`` for channels not added with
    :meth:`add_channel` (by default a channel springs into existence on first use). ``clock`` (monotonic
    seconds) drives trigger and response-URL expiry, so tests can move time without sleeping. ``latency`` delays
    every Web API answer (seconds), for benchmarks that want Slack's round trip in the picture.
    """

    def __init__(
        self,
        *,
        tokens: Iterable[str] | None = None,
        app_tokens: Iterable[str] | None = None,
        trigger_ttl: float = 3.0,
        strict_channels: bool = False,
        clock: Callable[[], float] = time.monotonic,
        latency: float = 0.0,
    ) -> None:
        self.tokens = set(tokens) if tokens is not None else None
        self.trigger_ttl = trigger_ttl
        self.strict_channels = strict_channels
        self.clock = clock
        self.latency = latency
        self.base_url = None
        super().__init__()
        self.app_tokens = set(app_tokens) if app_tokens is not None else None

        self._methods: dict[str, Callable[[JSON], JSON]] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.update": self._chat_update,
            "chat.delete": self._chat_delete,
            "views.open": self._views_open,
            "views.push": self._views_push,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "users.info": self._users_info,
            "usergroups.users.list": self._usergroups_users_list,
            "conversations.info": self._conversations_info,
            "apps.connections.open": self._apps_connections_open,
        }
        self.app = Starlette(
            routes=[
                Route("/api/{method}", self._api, methods=["GET", "POST"]),
                Route("/response/{rid}", self._response_url, methods=["POST"]),
                WebSocketRoute("/link/", self._link),
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
                    raise Failure("invalid_json") from None
                if not isinstance(body, dict):
                    raise Failure("invalid_json")
                args.update(body)
            elif content_type in ("application/x-www-form-urlencoded", ""):
                args.update(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
            else:
                raise Failure("invalid_form_data")
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

    def _authenticate(self, token: str | None, method: str) -> None:
        if not token:
            raise Failure("not_authed")
        if method in APP_TOKEN_METHODS:
            self._authenticate_app(token)
            return
        if token.startswith("xapp-"):
            raise Failure("not_allowed_token_type")
        valid = token in self.tokens if self.tokens is not None else token.startswith("xoxb-")
        if not valid:
            raise Failure("invalid_auth")

    async def _api(self, request: Request) -> Response:
        method = str(request.path_params["method"])
        if self.base_url is None:
            self.base_url = str(request.base_url).rstrip("/")
        args: JSON = {}
        try:
            args, token = await self._read_args(request)
            if self.latency:
                await asyncio.sleep(self.latency)
            self._authenticate(token, method)
            self._take_fault(method)
            handler = self._methods.get(method)
            if handler is None:
                raise Failure("unknown_method")
            result = handler(args)
        except Failure as failure:
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
                raise Failure("invalid_payload", status=400) from None
            if not isinstance(body, dict):
                raise Failure("invalid_payload", status=400)
            args = {**body, "url": url}
            self._take_fault("response_url")
            self._respond(str(request.path_params["rid"]), body)
        except Failure as failure:
            self._record(Call("response_url", args, time.time(), failure.error))
            return PlainTextResponse(failure.error, status_code=failure.status, headers=failure.headers)
        self._record(Call("response_url", args, time.time()))
        return JSONResponse({"ok": True})
