"""Serving Slack: HTTP (``POST /slack/events`` beside ``GET /healthz``, ``/readyz`` and ``/metrics``) or Socket
Mode (the three GETs on their own port, HEALTH_PORT), with graceful shutdown.

The server can start before the bot is built (:class:`Loaded`): ``commops run`` binds its port and answers
``/healthz`` first, then loads Slack's SDK, the store and the vendor clients behind it (a process that is loading can
serve, so it is alive; ``/readyz`` says not ready until it is). A Slack request that arrives meanwhile waits for the
bot, up to ``LOADING_WAIT``. This module imports only aiohttp's server at first: the rest when it is needed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, cast

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncApp

    from bot.services import Services
    from bot.store.engine import Store
    from handlers.middleware.edge import Edge

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

log = logging.getLogger("commops.serving")

DRAIN_SECONDS = 10.0
PROBE_TIMEOUT = 2.0  # seconds the store may take to answer a probe
SOCKET_PING_SECONDS = 10.0  # slack_sdk's ping to Slack; a socket silent for 4 pings counts as lost
LOADING_WAIT = 2.5  # seconds a Slack request that arrives while the bot loads may wait for it (Slack allows 3)

Connected = Callable[[], Awaitable[bool]]


class Loaded:
    """The bot's app and services once they are built; the routes read them through this."""

    def __init__(self, app: AsyncApp | None = None, services: Services | None = None) -> None:
        self.app = app
        self.services = services
        self._ready = asyncio.Event()
        if app is not None and services is not None:
            self._ready.set()

    def attach(self, app: AsyncApp, services: Services) -> None:
        self.app, self.services = app, services
        self._ready.set()

    async def wait(self, timeout: float) -> bool:
        """Whether the bot is built (waiting up to ``timeout`` seconds for it)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._ready.wait(), timeout)
        return self.app is not None


@dataclass(frozen=True)
class Limits:
    """What one client may take of the HTTP server. Slack's requests are small and quick; anything slower or
    bigger is not Slack. (TLS is not here: run the bot behind a proxy that terminates it.)"""

    max_body_bytes: int = 1024 * 1024  # 413 above; Slack's payloads stay well under
    header_seconds: float = 5.0  # request line and headers, from the connection (or the previous answer) on
    body_seconds: float = 5.0  # the body, from the end of the headers on; 408 after
    max_connections: int = 256  # connections beyond are closed at once
    # One address may hold at most this many, so one slow client cannot take every connection. Behind a proxy
    # (as the README advises) every connection comes from the proxy: raise it there, and let the proxy limit.
    max_per_client: int = 64


class _Connections:
    """The protocol factory in front of aiohttp's: counts open connections and gives each a deadline."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.protocol_factory: Callable[[], asyncio.Protocol] | None = None  # aiohttp's, once the runner is set up
        self._open: dict[asyncio.BaseTransport, _Guarded] = {}
        self._per_client: dict[str, int] = {}
        self._capped: set[str] = set()
        self._full = False

    def __call__(self) -> asyncio.Protocol:
        return _Guarded(self)

    def admit(self, guard: _Guarded, transport: asyncio.BaseTransport) -> bool:
        if len(self._open) >= self.limits.max_connections:
            if not self._full:  # one line per burst, not one per connection
                log.warning("%d connections are open: closing new ones until some end", len(self._open))
                self._full = True
            return False
        client = _client_of(transport)
        held = self._per_client.get(client, 0)
        if held >= self.limits.max_per_client:
            if client not in self._capped:  # one line per burst, not one per connection
                log.warning("%s holds %d connections: closing its new ones until some end", client, held)
                self._capped.add(client)
            return False
        self._per_client[client] = held + 1
        self._open[transport] = guard
        return True

    def forget(self, transport: asyncio.BaseTransport | None) -> None:
        if transport is not None and self._open.pop(transport, None) is not None:
            self._full = self._full and len(self._open) >= self.limits.max_connections
            client = _client_of(transport)
            left = self._per_client.get(client, 1) - 1
            if left > 0:
                self._per_client[client] = left
            else:
                self._per_client.pop(client, None)
            if left < self.limits.max_per_client:
                self._capped.discard(client)

    def guard_of(self, transport: asyncio.BaseTransport | None) -> _Guarded | None:
        return self._open.get(transport) if transport is not None else None


def _client_of(transport: asyncio.BaseTransport) -> str:
    peer = transport.get_extra_info("peername")
    return str(peer[0]) if isinstance(peer, tuple) and peer else "unknown"


class _Guarded(asyncio.Protocol):
    """aiohttp's protocol for one connection, closed when a request's line and headers take longer than
    ``header_seconds`` (counted from the connection, or from the previous answer, on): a client that sends a
    request a byte at a time, or sends nothing, cannot hold the connection."""

    def __init__(self, connections: _Connections) -> None:
        self._connections = connections
        self._inner: asyncio.Protocol | None = None
        self._transport: asyncio.BaseTransport | None = None
        self._deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport
        factory = self._connections.protocol_factory
        if factory is None or not self._connections.admit(self, transport):
            cast(asyncio.Transport, transport).abort()
            return
        self._inner = factory()
        self._inner.connection_made(transport)
        self.arm()

    def data_received(self, data: bytes) -> None:
        if self._inner is not None:
            self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received() if self._inner is not None else None

    def connection_lost(self, exc: Exception | None) -> None:
        self.disarm()
        self._connections.forget(self._transport)
        if self._inner is not None:
            self._inner.connection_lost(exc)

    def pause_writing(self) -> None:
        if self._inner is not None:
            self._inner.pause_writing()

    def resume_writing(self) -> None:
        if self._inner is not None:
            self._inner.resume_writing()

    def arm(self) -> None:
        self.disarm()
        seconds = self._connections.limits.header_seconds
        self._deadline = asyncio.get_running_loop().call_later(seconds, self._expire)

    def disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self) -> None:
        self._deadline = None
        log.info("closed a connection that sent no complete request within %.0f s",
                 self._connections.limits.header_seconds)
        if self._transport is not None:
            self._transport.close()


def _edge(app: AsyncApp) -> Edge:
    from handlers.middleware.edge import edge_of

    edge = edge_of(app)
    if edge is None:
        raise ValueError("serving needs the app bot.app.build_app makes, with the edge in front of it")
    return edge


def http_app(app: AsyncApp | Loaded, services: Services | None = None, *, limits: Limits | None = None,
             connections: _Connections | None = None) -> web.Application:
    """``app`` may be a :class:`Loaded` still loading: Slack's requests wait for it (up to ``LOADING_WAIT``)."""
    limits = limits or Limits()
    loaded = app if isinstance(app, Loaded) else Loaded(app, services)
    if loaded.app is not None:
        _edge(loaded.app)  # refused now, not at the first request

    @web.middleware
    async def deadlines(request: web.Request, handler: Handler) -> web.StreamResponse:
        """While a request is handled its connection has no header deadline; the next request gets a new one."""
        guard = connections.guard_of(request.transport) if connections is not None else None
        if guard is not None:
            guard.disarm()
        try:
            return await handler(request)
        finally:
            if guard is not None:
                guard.arm()

    async def events(request: web.Request) -> web.StreamResponse:
        if request.content_length is not None and request.content_length > limits.max_body_bytes:
            return _closing(413, f"a body of {request.content_length} bytes")
        try:
            async with asyncio.timeout(limits.body_seconds):
                raw = await request.read()
        except TimeoutError:
            return _closing(408, f"a body that took more than {limits.body_seconds:.0f} s")
        except web.HTTPRequestEntityTooLarge:
            return _closing(413, f"a body over {limits.max_body_bytes} bytes")
        except ConnectionError:
            return _closing(400, "a body cut short")
        if not await loaded.wait(LOADING_WAIT) or loaded.app is None:
            return web.json_response({"error": "starting"}, status=503)  # Slack retries
        from slack_bolt.adapter.aiohttp import to_aiohttp_response

        return await to_aiohttp_response(await _edge(loaded.app).dispatch(loaded.app, raw, request.headers.items()))

    web_app = web.Application(client_max_size=limits.max_body_bytes, middlewares=[deadlines])
    web_app.router.add_post("/slack/events", events)
    web_app.add_routes(probe_routes(loaded))
    return web_app


def probe_routes(target: Services | Loaded, socket_connected: Connected | None = None) -> list[web.RouteDef]:
    """``/healthz`` (liveness: the process answers), ``/readyz`` (the bot is loaded, the store answers, its schema is
    current and, in Socket Mode, ``socket_connected()``; else 503 naming what is missing) and ``/metrics``
    (Prometheus text)."""
    loaded = target if isinstance(target, Loaded) else Loaded(services=target)

    async def healthz(_request: web.Request) -> web.StreamResponse:
        # Liveness only: the process answers. A store or Slack outage is /readyz's business; failing liveness on
        # it would restart every replica at once for a problem a restart cannot fix.
        services = loaded.services
        body: dict[str, Any] = {"status": "ok", "pending_work": services.background.pending if services else 0}
        if services is None:
            body["starting"] = True
        return web.json_response(body)

    async def readyz(_request: web.Request) -> web.StreamResponse:
        services = loaded.services
        if services is None:
            return web.json_response({"status": "not ready", "missing": ["startup"], "startup": "loading"},
                                     status=503)
        checks = await readiness(services, socket_connected)
        missing = [name for name, state in checks.items() if state not in ("ok", "current", "connected")]
        if missing:
            return web.json_response({"status": "not ready", "missing": missing, **checks}, status=503)
        return web.json_response({"status": "ready", **checks})

    async def metrics(_request: web.Request) -> web.StreamResponse:
        from bot.observability.metrics import exposition

        body, content_type = exposition()
        return web.Response(body=body, headers={"Content-Type": content_type})

    return [web.get("/healthz", healthz), web.get("/readyz", readyz), web.get("/metrics", metrics)]


async def schema_current(store: Store) -> bool:
    from bot.store import schema

    return await schema.schema_current(store)


async def readiness(services: Services, socket_connected: Connected | None = None) -> dict[str, str]:
    """Each condition of readiness and its state: ``store`` (ok, or why not), ``schema`` (current, behind or
    unknown) and, in Socket Mode, ``socket`` (connected or disconnected)."""
    store = await _store_problem(services)
    checks = {"store": store or "ok"}
    if store is not None:
        checks["schema"] = "unknown"
    else:
        try:
            current = await asyncio.wait_for(schema_current(services.store), PROBE_TIMEOUT)
        except Exception as error:  # a schema that cannot be read is not known to be current
            log.warning("readiness: the schema check failed: %s", type(error).__name__)
            checks["schema"] = "unknown"
        else:
            checks["schema"] = "current" if current else "behind"
    if socket_connected is not None:
        checks["socket"] = "connected" if await socket_connected() else "disconnected"
    return checks


async def _store_problem(services: Services) -> str | None:
    """None when the store answers ``SELECT 1`` in time, else the failure's name."""
    from sqlalchemy import text

    async def ask() -> None:
        async with services.store.probe() as connection:  # its own connection: never behind the bot's work
            await connection.execute(text("SELECT 1"))

    try:
        await asyncio.wait_for(ask(), PROBE_TIMEOUT)
    except TimeoutError:
        return "timeout"
    except Exception as error:
        return type(error).__name__
    return None


def _closing(status: int, what: str) -> web.Response:
    log.info("refused a request (%d): %s", status, what)
    response = web.Response(status=status, text=HTTPStatus(status).phrase)
    response.force_close()
    return response


class _MalformedHttpInOneLine(logging.Filter):
    """aiohttp logs every request it cannot parse (a NUL in a header, two Content-Lengths…) as an ERROR with a
    traceback, before any signature could be checked: anyone could fill the log. It already answered 400, so
    one INFO line is all such a request is worth."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, HttpProcessingError):
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.msg, record.args = "refused a malformed HTTP request (400): %s", (type(error).__name__,)
            record.exc_info, record.exc_text = None, None
        return True


def _quiet_malformed_requests() -> None:
    server_log = logging.getLogger("aiohttp.server")
    if not any(isinstance(existing, _MalformedHttpInOneLine) for existing in server_log.filters):
        server_log.addFilter(_MalformedHttpInOneLine())


@contextlib.asynccontextmanager
async def _serve(application: web.Application, host: str, port: int) -> AsyncIterator[str]:
    runner = web.AppRunner(application, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port, reuse_address=True).start()  # e.g. the port is taken: OSError
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


async def _learn_identity(loaded: Loaded) -> None:
    """Once the bot is loaded, learn its workspace and app (requests wait for it if need be)."""
    while not await loaded.wait(3600):
        pass
    assert loaded.app is not None
    await _edge(loaded.app).identity.get()


@contextlib.asynccontextmanager
async def serve_http(app: AsyncApp | Loaded, services: Services | None = None, *, host: str, port: int,
                     limits: Limits | None = None) -> AsyncIterator[str]:
    """``/slack/events`` and the probes on ``host:port``; ``app`` may be a :class:`Loaded` still loading."""
    limits = limits or Limits()
    loaded = app if isinstance(app, Loaded) else Loaded(app, services)
    _quiet_malformed_requests()
    connections = _Connections(limits)
    runner = web.AppRunner(http_app(loaded, limits=limits, connections=connections), access_log=None,
                           handle_signals=False, lingering_time=1.0)
    await runner.setup()
    connections.protocol_factory = runner.server
    server = await asyncio.get_running_loop().create_server(connections, host, port, reuse_address=True)
    # Learn the bot's workspace and app now, without holding up the start (requests wait for it if need be).
    learning = asyncio.create_task(_learn_identity(loaded), name="learn the workspace")
    try:
        yield f"http://{host}:{port}"
    finally:
        learning.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await learning
        server.close()
        await runner.cleanup()


def stop_event_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    return stop


SocketListener = Callable[[Any, Any], Awaitable[None]]


def socket_mode_listener(app: AsyncApp) -> SocketListener:
    """What answers each Socket Mode envelope: its payload through the edge (typed body, reply URLs, workspace and
    app) and then Bolt, as over HTTP. A refused envelope is acknowledged empty, so Slack does not send it again."""
    from slack_bolt.adapter.socket_mode.async_internals import send_async_response
    from slack_bolt.adapter.socket_mode.internals import build_headers
    from slack_sdk.socket_mode.response import SocketModeResponse

    edge = _edge(app)

    async def handle(client: Any, request: Any) -> None:
        started = time.time()
        retry = [(name, value) for name, value in (build_headers(request) or {}).items() if isinstance(value, str)]
        response = await edge.dispatch_body(app, request.payload, retry)
        if response.status == 200:
            await send_async_response(client, request, response, started)
        else:
            await client.send_socket_mode_response(SocketModeResponse(envelope_id=request.envelope_id))

    return handle


@dataclass(frozen=True)
class SocketServing:
    """Socket Mode being served: where the health server listens, and whether the socket is connected now."""

    health_url: str
    connected: Connected


class SocketLink:
    """The Socket Mode connection of a loaded bot (slack_sdk's client, through Bolt's adapter: it reconnects by
    itself when Slack asks it to or the socket drops). The socket counts as connected while the client's own
    ``is_connected()`` says so: a session that is open, not closed by either side, and whose pings Slack
    answers."""

    def __init__(self) -> None:
        self._handler: Any = None
        self._connecting: asyncio.Task[None] | None = None

    async def connected(self) -> bool:
        return self._handler is not None and bool(await self._handler.client.is_connected())

    def start(self, app: AsyncApp, app_token: str, ping_interval: float = SOCKET_PING_SECONDS) -> None:
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        self._handler = AsyncSocketModeHandler(app, app_token, ping_interval=ping_interval)
        # Bolt's own listener would dispatch payloads unchecked: every envelope goes through the edge instead.
        self._handler.client.socket_mode_request_listeners[:] = [socket_mode_listener(app)]
        self._connecting = asyncio.create_task(_connect(self._handler, app), name="socket mode connect")

    async def close(self) -> None:
        if self._handler is not None:
            await self._handler.close_async()  # no new requests from here on
        if self._connecting is not None:
            self._connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._connecting


@contextlib.asynccontextmanager
async def serve_health(target: Services | Loaded, *, host: str, port: int,
                       socket_connected: Connected | None = None) -> AsyncIterator[str]:
    """``/healthz``, ``/readyz`` and ``/metrics`` alone on ``host:port`` (Socket Mode's HEALTH_PORT)."""
    health = web.Application()
    health.add_routes(probe_routes(target, socket_connected))
    async with _serve(health, host, port) as url:
        yield url


@contextlib.asynccontextmanager
async def serve_socket(app: AsyncApp, services: Services, app_token: str, *, host: str, health_port: int,
                       ping_interval: float = SOCKET_PING_SECONDS) -> AsyncIterator[SocketServing]:
    """Serve ``/healthz``, ``/readyz`` and ``/metrics`` on ``host:health_port`` and connect to Slack in Socket Mode
    (a taken port stops it before any socket is opened)."""
    link = SocketLink()
    async with serve_health(services, host=host, port=health_port, socket_connected=link.connected) as url:
        try:
            link.start(app, app_token, ping_interval)
            yield SocketServing(url, link.connected)
        finally:
            await link.close()  # before the health server stops


async def _connect(handler: Any, app: AsyncApp) -> None:
    from handlers.middleware.edge import edge_of

    edge = edge_of(app)
    if edge is not None:  # the workspace and app the edge admits (requests wait for it if this fails)
        await edge.identity.get()
    # slack_sdk retries a failed connection by itself (and logs each failure) until it is closed.
    await handler.connect_async()
    log.info("connected to Slack in Socket Mode")
