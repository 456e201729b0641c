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
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncApp

    from bot.services import Services
    from bot.store.engine import Store

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


def http_app(app: AsyncApp | Loaded, services: Services | None = None) -> web.Application:
    loaded = app if isinstance(app, Loaded) else Loaded(app, services)

    async def events(request: web.Request) -> web.StreamResponse:
        if not await loaded.wait(LOADING_WAIT) or loaded.app is None:
            return web.json_response({"error": "starting"}, status=503)  # Slack retries
        from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request

        return await to_aiohttp_response(await loaded.app.async_dispatch(await to_bolt_request(request)))

    web_app = web.Application()
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


@contextlib.asynccontextmanager
async def _serve(application: web.Application, host: str, port: int) -> AsyncIterator[str]:
    runner = web.AppRunner(application, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port, reuse_address=True).start()  # e.g. the port is taken: OSError
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def serve_http(app: AsyncApp | Loaded, services: Services | None = None, *, host: str,
                     port: int) -> AsyncIterator[str]:
    """``/slack/events`` and the probes on ``host:port``; ``app`` may be a :class:`Loaded` still loading."""
    async with _serve(http_app(app, services), host, port) as url:
        yield url


def stop_event_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    return stop


async def run_http(app: AsyncApp, services: Services, *, host: str, port: int) -> None:
    stop = stop_event_on_signals()
    async with serve_http(app, services, host=host, port=port) as url:
        log.info("serving Slack over HTTP at %s/slack/events", url)
        await stop.wait()
        log.info("stopping: no new requests; finishing those in progress")
    await services.background.drain(DRAIN_SECONDS)


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
        self._connecting = asyncio.create_task(_connect(self._handler), name="socket mode connect")

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


async def _connect(handler: Any) -> None:
    # slack_sdk retries a failed connection by itself (and logs each failure) until it is closed.
    await handler.connect_async()
    log.info("connected to Slack in Socket Mode")


async def run_socket(app: AsyncApp, services: Services, app_token: str, *, host: str, health_port: int) -> None:
    stop = stop_event_on_signals()
    async with serve_socket(app, services, app_token, host=host, health_port=health_port) as serving:
        log.info("serving Slack in Socket Mode; /healthz, /readyz and /metrics at %s", serving.health_url)
        await stop.wait()
        log.info("stopping: no new requests; finishing those in progress")
    await services.background.drain(DRAIN_SECONDS)
