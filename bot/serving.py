"""Serving Slack: HTTP (``POST /slack/events``, ``GET /healthz``) or Socket Mode, with graceful shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from sqlalchemy import text

from bot.services import Services

log = logging.getLogger("commops.serving")

DRAIN_SECONDS = 10.0


def http_app(app: AsyncApp, services: Services) -> web.Application:
    async def events(request: web.Request) -> web.StreamResponse:
        return await to_aiohttp_response(await app.async_dispatch(await to_bolt_request(request)))

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


async def run_socket(app: AsyncApp, services: Services, app_token: str) -> None:
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    stop = stop_event_on_signals()
    handler = AsyncSocketModeHandler(app, app_token)
    await handler.connect_async()  # type: ignore[no-untyped-call]
    log.info("connected to Slack in Socket Mode")
    try:
        await stop.wait()
    finally:
        await handler.close_async()  # type: ignore[no-untyped-call]
        await services.background.drain(DRAIN_SECONDS)
