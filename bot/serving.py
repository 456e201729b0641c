"""Serving Slack: HTTP (``POST /slack/events`` beside ``GET /healthz``, ``/readyz`` and ``/metrics``) or Socket
Mode (the three GETs on their own port, HEALTH_PORT), with graceful shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from sqlalchemy import text

from bot.observability.metrics import exposition
from bot.services import Services
from bot.store.schema import schema_current

log = logging.getLogger("commops.serving")

DRAIN_SECONDS = 10.0
PROBE_TIMEOUT = 2.0  # seconds the store may take to answer a probe
SOCKET_PING_SECONDS = 10.0  # slack_sdk's ping to Slack; a socket silent for 4 pings counts as lost

Connected = Callable[[], Awaitable[bool]]


def http_app(app: AsyncApp, services: Services) -> web.Application:
    async def events(request: web.Request) -> web.StreamResponse:
        return await to_aiohttp_response(await app.async_dispatch(await to_bolt_request(request)))

    web_app = web.Application()
    web_app.router.add_post("/slack/events", events)
    web_app.add_routes(probe_routes(services))
    return web_app


def probe_routes(services: Services, socket_connected: Connected | None = None) -> list[web.RouteDef]:
    """``/healthz`` (liveness: the process answers), ``/readyz`` (the store answers, its schema is current and,
    in Socket Mode, ``socket_connected()``; else 503 naming what is missing) and ``/metrics`` (Prometheus text)."""

    async def healthz(_request: web.Request) -> web.StreamResponse:
        # Liveness only: the process answers. A store or Slack outage is /readyz's business; failing liveness on
        # it would restart every replica at once for a problem a restart cannot fix.
        return web.json_response({"status": "ok", "pending_work": services.background.pending})

    async def readyz(_request: web.Request) -> web.StreamResponse:
        checks = await readiness(services, socket_connected)
        missing = [name for name, state in checks.items() if state not in ("ok", "current", "connected")]
        if missing:
            return web.json_response({"status": "not ready", "missing": missing, **checks}, status=503)
        return web.json_response({"status": "ready", **checks})

    async def metrics(_request: web.Request) -> web.StreamResponse:
        body, content_type = exposition()
        return web.Response(body=body, headers={"Content-Type": content_type})

    return [web.get("/healthz", healthz), web.get("/readyz", readyz), web.get("/metrics", metrics)]


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
async def serve_http(app: AsyncApp, services: Services, *, host: str, port: int) -> AsyncIterator[str]:
    runner = web.AppRunner(http_app(app, services), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port, reuse_address=True)
    await site.start()
    try:
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


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


@contextlib.asynccontextmanager
async def serve_socket(app: AsyncApp, services: Services, app_token: str, *, host: str, health_port: int,
                       ping_interval: float = SOCKET_PING_SECONDS) -> AsyncIterator[SocketServing]:
    """Serve ``/healthz``, ``/readyz`` and ``/metrics`` on ``host:health_port`` and connect to Slack in Socket Mode
    (slack_sdk's client, through Bolt's adapter: it reconnects by itself when Slack asks it to or the socket
    drops). The socket counts as connected while the client's own ``is_connected()`` says so: a session that is
    open, not closed by either side, and whose pings Slack answers."""
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    handler = AsyncSocketModeHandler(app, app_token, ping_interval=ping_interval)
    client: Any = handler.client

    async def connected() -> bool:
        return bool(await client.is_connected())

    health = web.Application()
    health.add_routes(probe_routes(services, connected))
    runner = web.AppRunner(health, access_log=None, handle_signals=False)
    connecting: asyncio.Task[None] | None = None
    try:
        await runner.setup()
        await web.TCPSite(runner, host, health_port, reuse_address=True).start()  # e.g. the port is taken: no socket
        connecting = asyncio.create_task(_connect(handler), name="socket mode connect")
        yield SocketServing(f"http://{host}:{health_port}", connected)
    finally:
        await handler.close_async()  # type: ignore[no-untyped-call]  # no new requests from here on
        if connecting is not None:
            connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await connecting
        await runner.cleanup()


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
