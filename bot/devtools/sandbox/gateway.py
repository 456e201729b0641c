"""The front door for vendor requests: record, delay, count, fault, rate-limit, then pass on.

A pure ASGI middleware so it sees every request exactly as the client sent it (even those it refuses) and can
hold back or spoil an answer after the route produced it. ``/_sandbox/`` requests pass straight through.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from enum import Enum
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.devtools.sandbox import envelopes, faults
from bot.devtools.sandbox.clock import as_aware
from bot.devtools.sandbox.traffic import Vendor

if TYPE_CHECKING:
    from bot.devtools.sandbox.state import SandboxState


def vendor_of(path: str) -> Vendor | None:
    if path.startswith("/_sandbox"):
        return None
    if path == "/api" or path.startswith("/api/"):
        return "comm"
    return "capillary"


class Pause(Enum):
    ELAPSED = "elapsed"
    CLIENT_GONE = "client gone"
    CANCELLED = "cancelled"


async def pause(seconds: float, receive: Receive) -> Pause:
    """Sleep, but stop early when the client hangs up; a server shutting down mid-sleep ends it quietly."""

    async def disconnected() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    sleeper = asyncio.ensure_future(asyncio.sleep(seconds))
    watcher = asyncio.ensure_future(disconnected())
    try:
        done, _ = await asyncio.wait({sleeper, watcher}, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        # Swallowed on purpose: re-raising makes uvicorn log "Exception in ASGI application" with a traceback.
        return Pause.CANCELLED
    finally:
        sleeper.cancel()
        watcher.cancel()
    return Pause.ELAPSED if sleeper in done else Pause.CLIENT_GONE


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that hands the buffered body to the route, then behaves like the real one."""
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


class _Buffered:
    """Collects a route's response so it can be sent late, or cut short."""

    def __init__(self) -> None:
        self.start: Message | None = None
        self.body = b""

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.start = message
        elif message["type"] == "http.response.body":
            self.body += message.get("body", b"")

    async def forward(self, send: Send, *, spoil: bool = False) -> None:
        if self.start is None:
            return
        body = faults.spoil(self.body) if spoil else self.body
        headers = [(k, v) for k, v in self.start.get("headers", []) if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({**self.start, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})


def _limited(vendor: Vendor, path: str, wait: float) -> JSONResponse:
    if vendor == "comm":
        return envelopes.comm_error(429, headers={"Retry-After": str(int(wait))})
    return envelopes.capillary_error(path, 429, status=429)  # Capillary documents no Retry-After


async def _gone_quietly(send: Send) -> None:
    """Answer 503 so the server has nothing to complain about; the connection is probably gone anyway."""
    body = b'{"message":"sandbox shutting down"}'
    with contextlib.suppress(Exception):
        await send({"type": "http.response.start", "status": 503,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body, "more_body": False})


class VendorGateway:
    def __init__(self, app: ASGIApp, state: SandboxState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        vendor = vendor_of(scope["path"]) if scope["type"] == "http" else None
        if vendor is None:
            await self.app(scope, receive, send)
            return
        state, method, path = self.state, scope["method"], scope["path"]
        body = await _read_body(receive)
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True))
        call = state.calls.record(vendor=vendor, method=method, path=path, query=query, body=body,
                                  at=as_aware(state.now()).isoformat())
        request_id = str(uuid.uuid4()) if vendor == "capillary" else None

        async def observed(message: Message) -> None:
            if message["type"] == "http.response.start":
                call["status"] = message["status"]
                if request_id is not None:
                    message = {**message, "headers": [*message.get("headers", []),
                                                      (b"x-cap-requestid", request_id.encode())]}
            await send(message)

        replay = _replay(body, receive)
        if state.latency_ms > 0:
            paused = await pause(state.latency_ms / 1000, receive)
            if paused is not Pause.ELAPSED:
                if paused is Pause.CANCELLED:
                    await _gone_quietly(observed)
                return
        state.traffic.arrive(vendor)
        rule = state.faults.take(method, path)
        if rule is not None:
            state.traffic.vendors[vendor].faulted += 1
            if rule.kind in faults.ANSWERING_KINDS:
                await faults.answer(rule, vendor, path)(scope, replay, observed)
                return
        wait = state.traffic.admit(vendor)
        if wait is not None:
            await _limited(vendor, path, wait)(scope, replay, observed)
            return
        if rule is None:
            await self.app(scope, replay, observed)
            return
        # timeout / malformed: the request takes effect; only the answer is late or cut short.
        buffered = _Buffered()
        await self.app(scope, replay, buffered.send)
        if rule.kind == "timeout" and await pause(state.timeout_seconds, receive) is Pause.CLIENT_GONE:
            return
        with contextlib.suppress(Exception):
            await buffered.forward(observed, spoil=rule.kind == "malformed")
