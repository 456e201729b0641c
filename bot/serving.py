"""Serving Slack: HTTP (``POST /slack/events``, ``GET /healthz``) or Socket Mode, with graceful shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from sqlalchemy import text

from bot.services import Services
from handlers.middleware.edge import edge_of

log = logging.getLogger("commops.serving")

DRAIN_SECONDS = 10.0


def http_app(app: AsyncApp, services: Services) -> web.Application:
    edge = edge_of(app)
    if edge is None:
        raise ValueError("serving needs the app bot.app.build_app makes, with the edge in front of it")

    async def events(request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        return await to_aiohttp_response(await edge.dispatch(app, raw, request.headers.items()))

    async def healthz(_request: web.Request) -> web.StreamResponse:
        try:
            async with services.store.session() as session:
                await session.execute(text("SELECT 1"))
        except Exception as error:  # the store is the one dependency the bot cannot serve without
            return web.json_response({"status": "unavailable", "store": type(error).__name__}, status=503)
        return web.json_response({"status": "ok", "store": "ok"})

    web_app = web.Application()
    web_app.router.add_post("/slack/events", events)
    web_app.router.add_get("/healthz", healthz)
    return web_app


@contextlib.asynccontextmanager
async def serve_http(app: AsyncApp, services: Services, *, host: str, port: int) -> AsyncIterator[str]:
    runner = web.AppRunner(http_app(app, services), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port, reuse_address=True)
    await site.start()
    edge = edge_of(app)
    # Learn the bot's workspace and app now, without holding up the start (requests wait for it if need be).
    learning = asyncio.create_task(edge.identity.get()) if edge is not None else None
    try:
        yield f"http://{host}:{port}"
    finally:
        if learning is not None:
            learning.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await learning
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


SocketListener = Callable[[Any, Any], Awaitable[None]]


def socket_mode_listener(app: AsyncApp) -> SocketListener:
    """What answers each Socket Mode envelope: its payload through the edge (typed body, reply URLs, workspace and
    app) and then Bolt, as over HTTP. A refused envelope is acknowledged empty, so Slack does not send it again."""
    from slack_bolt.adapter.socket_mode.async_internals import send_async_response
    from slack_bolt.adapter.socket_mode.internals import build_headers
    from slack_sdk.socket_mode.response import SocketModeResponse

    edge = edge_of(app)
    if edge is None:
        raise ValueError("serving needs the app bot.app.build_app makes, with the edge in front of it")

    async def handle(client: Any, request: Any) -> None:
        started = time.time()
        retry = [(name, value) for name, value in (build_headers(request) or {}).items() if isinstance(value, str)]
        response = await edge.dispatch_body(app, request.payload, retry)
        if response.status == 200:
            await send_async_response(client, request, response, started)
        else:
            await client.send_socket_mode_response(SocketModeResponse(envelope_id=request.envelope_id))

    return handle


async def run_socket(app: AsyncApp, services: Services, app_token: str) -> None:
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    stop = stop_event_on_signals()
    edge = edge_of(app)
    if edge is not None:  # the workspace and app the edge admits (requests wait for it if this fails)
        await edge.identity.get()
    handler = AsyncSocketModeHandler(app, app_token)
    # Bolt's own listener would dispatch payloads unchecked: every envelope goes through the edge instead.
    handler.client.socket_mode_request_listeners[:] = [socket_mode_listener(app)]
    await handler.connect_async()  # type: ignore[no-untyped-call]
    log.info("connected to Slack in Socket Mode")
    try:
        await stop.wait()
    finally:
        await handler.close_async()  # type: ignore[no-untyped-call]
        await services.background.drain(DRAIN_SECONDS)
