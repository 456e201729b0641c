"""The HTTP server's own limits, met over raw sockets: half-sent requests are closed after a few seconds, bodies
have a size cap and a deadline, and connections beyond the cap are closed at once, while Slack's own requests
still get through."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from bot.serving import Limits
from tests.conftest import Sandbox
from tests.e2e.conftest import Bot, running_bot

LIMITS = Limits(header_seconds=1.0, body_seconds=1.0, max_connections=4)
HEAD = b"POST /slack/events HTTP/1.1\r\nHost: commops\r\n"


@pytest.fixture
async def tight(sandbox: Sandbox, tmp_path: Path) -> AsyncIterator[Bot]:
    async with running_bot(sandbox, tmp_path, limits=LIMITS) as running:
        yield running


@contextlib.asynccontextmanager
async def connection(bot: Bot, source: str | None = None,
                     ) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    address = urlsplit(bot.url)
    reader, writer = await asyncio.open_connection(address.hostname, address.port,
                                                   local_addr=(source, 0) if source else None)
    try:
        yield reader, writer
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def closed_after(reader: asyncio.StreamReader, within: float) -> tuple[bytes, float]:
    """Everything the server sends until it closes the connection, and how long that took."""
    started = time.monotonic()
    try:
        received = await asyncio.wait_for(reader.read(), within)
    except ConnectionResetError:
        received = b""
    return received, time.monotonic() - started


async def test_a_connection_that_sends_nothing_is_closed(tight: Bot) -> None:
    async with connection(tight) as (reader, _writer):
        received, took = await closed_after(reader, 5)
    assert received == b"" and took < 3


async def test_half_sent_headers_are_closed_even_when_trickling(tight: Bot) -> None:
    async with connection(tight) as (reader, writer):
        writer.write(HEAD)

        async def trickle() -> None:  # a byte every 0.2 s: activity, but never a whole request
            with contextlib.suppress(ConnectionError):
                for _ in range(50):
                    writer.write(b"X")
                    await writer.drain()
                    await asyncio.sleep(0.2)

        trickling = asyncio.create_task(trickle())
        received, took = await closed_after(reader, 5)
        trickling.cancel()
    assert received == b"" and took < 3


async def test_a_body_that_does_not_arrive_gets_408_and_the_connection_closes(tight: Bot) -> None:
    async with connection(tight) as (reader, writer):
        writer.write(HEAD + b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n"
                     + b"command=/re")
        received, took = await closed_after(reader, 5)
    assert received.startswith(b"HTTP/1.1 408") and took < 3


async def test_a_body_over_the_cap_gets_413(tight: Bot) -> None:
    big = b"x" * (LIMITS.max_body_bytes + 1)
    assert (await tight.http.post(f"{tight.url}/slack/events", content=big)).status_code == 413
    async with connection(tight) as (reader, writer):  # the claim alone is enough: nothing is read
        writer.write(HEAD + b"Content-Length: 104857600\r\n\r\n")
        received, _ = await closed_after(reader, 5)
    assert received.startswith(b"HTTP/1.1 413")


async def test_connections_beyond_the_cap_are_closed_at_once_and_slack_still_gets_through(tight: Bot) -> None:
    async with contextlib.AsyncExitStack() as held:
        for _ in range(LIMITS.max_connections):
            await held.enter_async_context(connection(tight))
        async with connection(tight) as (reader, _writer):
            received, took = await closed_after(reader, 5)
        assert received == b"" and took < 0.5  # not the header deadline: closed on arrival
    for _ in range(100):  # the held ones are closed; the server learns of it as the closes arrive
        try:
            response = await tight.command("/resend", "help")
            break
        except httpx.TransportError:
            await asyncio.sleep(0.02)
    assert response.status_code == 200 and "Usage" in response.text


async def test_one_client_cannot_take_every_connection(sandbox: Sandbox, tmp_path: Path) -> None:
    limits = Limits(header_seconds=5.0, body_seconds=1.0, max_connections=8, max_per_client=3)
    async with running_bot(sandbox, tmp_path, limits=limits) as bot, contextlib.AsyncExitStack() as held:
        for _ in range(limits.max_per_client):  # a slow client from 127.0.0.2 sends nothing
            await held.enter_async_context(connection(bot, source="127.0.0.2"))
        async with connection(bot, source="127.0.0.2") as (reader, _writer):
            received, took = await closed_after(reader, 5)
        assert received == b"" and took < 0.5  # its next one is closed on arrival
        response = await bot.command("/resend", "help")  # everyone else (127.0.0.1) still gets through
        assert response.status_code == 200 and "Usage" in response.text


async def test_a_malformed_http_request_is_one_line_not_a_traceback(tight: Bot,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    bad = [b"X-A: a\x00b\r\nContent-Length: 0\r\n\r\n", b"Content-Length: 1\r\nContent-Length: 2\r\n\r\nx",
           b"Content-Length: -1\r\n\r\n", b"Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n"]
    with caplog.at_level(logging.DEBUG):
        for extra in bad:
            async with connection(tight) as (reader, writer):
                writer.write(HEAD + extra)
                received, _ = await closed_after(reader, 5)
            assert received.split(b" ", 2)[1] == b"400"
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR or record.exc_info]
    assert sum("refused a malformed HTTP request" in record.getMessage() for record in caplog.records) == len(bad)
