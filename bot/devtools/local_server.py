"""Serve an ASGI app with uvicorn on the running event loop (sandbox, Slack emulator, tests, the shell)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Any

import uvicorn


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def serve_asgi(app: Any, *, host: str = "127.0.0.1", port: int | None = None) -> AsyncIterator[str]:
    """Run ``app`` until the block exits; yields its base URL (``http://host:port``)."""
    port = port or free_port(host)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    # The owner of the loop (CLI, shell, test) decides about signals, not this embedded server.
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()  # re-raise the start-up error (port taken, ...)
                raise RuntimeError(f"server on {host}:{port} stopped during start-up")
            await asyncio.sleep(0.01)
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        server.force_exit = True  # do not wait for requests parked in injected latency
        await task
