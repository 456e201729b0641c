"""Socket Mode: ``apps.connections.open`` and the WebSocket it hands out, as Slack serves them.

``apps.connections.open`` takes the app-level token (``xapp-…``; a bot token is ``not_allowed_token_type``) and
answers a ``ws://`` URL of this emulator with a ticket good for one connection. On each connection the emulator
says ``hello`` first, as Slack does; a test then sends Slack's envelopes (``slash_commands``, ``interactive``,
``events_api``) and reads the app's acks: each must carry the envelope's id and arrive within 3 seconds, and its
payload (a command's ``text``, a view submission's ``response_action`` and ``errors``) is kept for the test.

To see the app reconnect, a test sends ``disconnect`` (``refresh_requested``, as Slack does before it rotates a
connection), drops every connection, or takes the endpoint down (handshakes refused, the ticket left unused) and
brings it up again. WebSocket pings are answered by the server (uvicorn), so slack_sdk's ping-pong keeps working.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import secrets
from dataclasses import dataclass
from urllib.parse import parse_qsl

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from bot.devtools.slack_emulator.common import JSON, EmulatorBase, Failure
from bot.devtools.slack_payloads import API_APP_ID

ACK_DEADLINE = 3.0  # seconds: Slack's limit for every envelope's ack
APP_TOKEN_METHODS = frozenset({"apps.connections.open"})
HOST = "applink-emulator"  # what Slack's debug_info names as the serving host
# Slack answers these envelopes' acks with what their payload says (a command's reply, a modal's errors).
_RESPONSE_TYPES = frozenset({"slash_commands", "interactive"})


class LateAck(AssertionError):
    """An envelope was not acknowledged with its id within :data:`ACK_DEADLINE`."""


@dataclass(frozen=True)
class Envelope:
    """One envelope sent to the app, on connection ``connection``; ``sent`` on the emulator's clock."""

    envelope_id: str
    type: str
    payload: JSON
    accepts_response_payload: bool
    connection: int
    sent: float


@dataclass(frozen=True)
class Ack:
    """The app's acknowledgement of an envelope: its ``payload`` (None when it sent none) and how long it took."""

    envelope_id: str
    payload: JSON | None
    seconds: float

    @property
    def in_time(self) -> bool:
        return self.seconds <= ACK_DEADLINE

    @property
    def text(self) -> str | None:
        return None if self.payload is None else self.payload.get("text")

    @property
    def response_action(self) -> str | None:
        return None if self.payload is None else self.payload.get("response_action")


def socket_payload(body: str) -> JSON:
    """What Socket Mode carries as ``payload`` for a body Slack would have POSTed to a Request URL (as built by
    :mod:`bot.devtools.slack_payloads`): a command's form fields as an object, an interaction's ``payload``
    JSON, or an Events API body as it is."""
    if body.startswith("{"):
        parsed = json.loads(body)
    else:
        fields = dict(parse_qsl(body, keep_blank_values=True))
        parsed = json.loads(fields["payload"]) if set(fields) == {"payload"} else fields
    if not isinstance(parsed, dict):
        raise ValueError("a Socket Mode payload is a JSON object")
    return parsed


class SocketMode(EmulatorBase):
    """Tickets handed out, open connections, the envelopes sent and the acks received.

    ``app_tokens``: the accepted app-level tokens; None accepts any ``xapp-`` token.
    """

    def __init__(self) -> None:
        super().__init__()
        self.app_tokens: set[str] | None = None
        self.envelopes: list[Envelope] = []
        self.acks: dict[str, Ack] = {}
        self.app_messages: list[JSON] = []  # what the app sent that acknowledged no known envelope
        self.connections_opened = 0
        self.refusing = False
        self._tickets: set[str] = set()
        self._sockets: dict[int, WebSocket] = {}
        self._envelope_ids = itertools.count(1)
        self._ack_waiters: dict[str, list[asyncio.Future[Ack]]] = {}
        self._connection_waiters: list[tuple[int, asyncio.Future[int]]] = []

    # --- the Web API method ---------------------------------------------------------------------------------

    def _authenticate_app(self, token: str) -> None:
        if not token.startswith("xapp-"):
            raise Failure("not_allowed_token_type")
        if self.app_tokens is not None and token not in self.app_tokens:
            raise Failure("invalid_auth")

    def _apps_connections_open(self, _args: JSON) -> JSON:
        ticket = secrets.token_hex(16)
        self._tickets.add(ticket)
        return {"url": f"{self._ws_base()}/link/?ticket={ticket}&app_id={API_APP_ID}"}

    def _ws_base(self) -> str:
        base = self._base()
        return "ws" + base[len("http"):] if base.startswith("http") else base

    # --- the WebSocket --------------------------------------------------------------------------------------

    async def _link(self, websocket: WebSocket) -> None:
        ticket = websocket.query_params.get("ticket", "")
        if self.refusing or ticket not in self._tickets:
            await websocket.close(code=1008)  # before accept: the handshake is refused (HTTP 403)
            return
        self._tickets.discard(ticket)
        await websocket.accept()
        self.connections_opened += 1
        number = self.connections_opened
        self._sockets[number] = websocket
        await websocket.send_json({
            "type": "hello", "num_connections": len(self._sockets),
            "debug_info": {"host": HOST, "build_number": 1, "approximate_connection_time": 18060},
            "connection_info": {"app_id": API_APP_ID},
        })
        self._connected(number)
        try:
            async for text in websocket.iter_text():
                self._received(text)
        except WebSocketDisconnect:
            pass
        finally:
            self._sockets.pop(number, None)

    def _received(self, text: str) -> None:
        try:
            message = json.loads(text)
        except ValueError:
            self.app_messages.append({"unparsable": text})
            return
        envelope_id = message.get("envelope_id") if isinstance(message, dict) else None
        sent = next((e for e in self.envelopes if e.envelope_id == envelope_id), None)
        if sent is None or envelope_id in self.acks:
            self.app_messages.append(message if isinstance(message, dict) else {"value": message})
            return
        payload = message.get("payload")
        ack = Ack(str(envelope_id), payload if isinstance(payload, dict) else None, self.clock() - sent.sent)
        self.acks[ack.envelope_id] = ack
        for waiter in self._ack_waiters.pop(ack.envelope_id, []):
            if not waiter.done():
                waiter.set_result(ack)

    def _connected(self, number: int) -> None:
        for entry in list(self._connection_waiters):
            after, waiter = entry
            if number > after:
                self._connection_waiters.remove(entry)
                if not waiter.done():
                    waiter.set_result(number)

    # --- what a test does -----------------------------------------------------------------------------------

    @property
    def connections(self) -> int:
        """How many connections are open now."""
        return len(self._sockets)

    async def wait_connected(self, *, after: int = 0, timeout: float = 10.0) -> int:
        """The number of the first connection opened after connection ``after`` (0: any), once it is open."""
        open_now = [number for number in self._sockets if number > after]
        if open_now:
            return min(open_now)
        waiter: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        entry = (after, waiter)
        self._connection_waiters.append(entry)
        try:
            return await asyncio.wait_for(waiter, timeout)
        except TimeoutError:
            raise TimeoutError(f"no Socket Mode connection after #{after} within {timeout}s") from None
        finally:
            if entry in self._connection_waiters:
                self._connection_waiters.remove(entry)

    async def send_envelope(self, kind: str, payload: JSON, *, accepts_response_payload: bool | None = None,
                            connection: int | None = None) -> Envelope:
        """Send one envelope on ``connection`` (default: the newest open one)."""
        if not self._sockets:
            raise RuntimeError("no Socket Mode connection is open")
        number = connection if connection is not None else max(self._sockets)
        accepts = kind in _RESPONSE_TYPES if accepts_response_payload is None else accepts_response_payload
        envelope = Envelope(f"e{next(self._envelope_ids):06d}-{secrets.token_hex(6)}", kind, payload, accepts,
                            number, self.clock())
        message: JSON = {"envelope_id": envelope.envelope_id, "type": kind, "payload": payload,
                         "accepts_response_payload": accepts}
        if kind == "events_api":
            message.update(retry_attempt=0, retry_reason="")
        self.envelopes.append(envelope)
        await self._sockets[number].send_json(message)
        return envelope

    async def send_command(self, body: str | JSON) -> Envelope:
        """A slash command: ``body`` as :func:`bot.devtools.slack_payloads.slash_command` builds it, or its fields."""
        return await self.send_envelope("slash_commands", socket_payload(body) if isinstance(body, str) else body)

    async def send_interactive(self, body: str | JSON) -> Envelope:
        """A click, a view submission …: a ``payload=`` form body from slack_payloads, or the payload itself."""
        return await self.send_envelope("interactive", socket_payload(body) if isinstance(body, str) else body)

    async def send_event(self, body: str | JSON) -> Envelope:
        return await self.send_envelope("events_api", socket_payload(body) if isinstance(body, str) else body)

    async def ack_of(self, envelope: Envelope | str, timeout: float = ACK_DEADLINE) -> Ack:
        """The ack of ``envelope``, waiting up to ``timeout`` for it; :class:`LateAck` when none came, or when it
        came later than Slack allows (measured on the emulator's clock)."""
        envelope_id = envelope if isinstance(envelope, str) else envelope.envelope_id
        ack = self.acks.get(envelope_id)
        if ack is None:
            waiter: asyncio.Future[Ack] = asyncio.get_running_loop().create_future()
            self._ack_waiters.setdefault(envelope_id, []).append(waiter)
            try:
                ack = await asyncio.wait_for(waiter, timeout)
            except TimeoutError:
                raise LateAck(f"envelope {envelope_id} was not acknowledged within {timeout:g}s") from None
        if not ack.in_time:
            raise LateAck(f"envelope {envelope_id} was acknowledged after {ack.seconds:.2f}s (Slack allows "
                          f"{ACK_DEADLINE:g}s)")
        return ack

    async def disconnect(self, reason: str = "refresh_requested") -> int:
        """Ask every connected app to reconnect, as Slack does before it rotates a connection; returns the number
        of the newest connection at that moment (for :meth:`wait_connected`)."""
        newest = max(self._sockets, default=self.connections_opened)
        for websocket in list(self._sockets.values()):
            with contextlib.suppress(Exception):  # a connection closing at this moment has nothing to be told
                await websocket.send_json({"type": "disconnect", "reason": reason, "debug_info": {"host": HOST}})
        return newest

    async def drop(self, code: int = 1011) -> None:
        """Close every connection from this side, as a Slack server going away does."""
        for number, websocket in list(self._sockets.items()):
            self._sockets.pop(number, None)
            if websocket.application_state != WebSocketState.DISCONNECTED:
                with contextlib.suppress(Exception):
                    await websocket.close(code=code)

    async def take_down(self) -> None:
        """Drop every connection and refuse new ones until :meth:`bring_up` (tickets stay good)."""
        self.refusing = True
        await self.drop()

    def bring_up(self) -> None:
        self.refusing = False
