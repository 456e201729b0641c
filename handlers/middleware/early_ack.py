"""Answer Slack the moment a listener calls ``ack()``, and let the listener go on in the background.

Bolt's own way (``process_before_response=False``) checks for the ack every 10 ms, which puts up to 10 ms on
every request. Here the app runs with ``process_before_response=True`` and every listener is registered through
:class:`Listeners`, which wraps it: the wrapper starts the listener as a task and returns as soon as the listener
acks (one future, resolved by the ack, not polling), so Bolt sends the ack right away while the work continues.
A failure before the ack is re-raised to Bolt's error handler; one after it is logged and the user is told, since
Bolt no longer watches the task.

A middleware may put a *gate* into the context (:data:`GATE_KEY`): a check that must pass before the listener does
any work, but that Slack's answer need not wait for (the replay guard's store lookup). The listener's ``ack()``
answers Slack, then waits for the gate; a gate that raises :class:`Stop` ends the listener there, quietly or with a
notice for the person.

The wrapper is an ordinary Bolt listener that asks for Bolt's documented ``args`` argument (every argument Bolt
can give, plus the context) and hands the wrapped listener the ones it names, so nothing here depends on Bolt's
private attributes.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_bolt.kwargs_injection.async_args import AsyncArgs
from slack_sdk.web.async_client import AsyncWebClient

from bot.actor import Actor
from bot.background import BackgroundWork
from bot.observability.context import current_request
from handlers.middleware.authorize import ACTOR_KEY, ATTEMPT_KEY
from handlers.middleware.call import Call

log = logging.getLogger("commops.early_ack")

ACK_DEADLINE = 2.5  # seconds; Slack gives up at 3
LATE_FAILURE = (":boom: Something went wrong on our side after your request was accepted; it may be incomplete. "
                "Check the result before trying again, and tell the bot's operators if it keeps happening.")

Listener = Callable[..., Awaitable[Any]]
L = TypeVar("L", bound=Listener)
Gate = Callable[[], Awaitable[None]]
GATE_KEY = "gate"  # Bolt context key of a middleware's gate


class Stop(Exception):
    """A gate's answer: the request is not served. ``notice`` (mrkdwn) is told to the person; None: nothing is."""

    def __init__(self, notice: str | None = None) -> None:
        super().__init__(notice or "stopped by a gate")
        self.notice = notice


class _SignallingAck:
    """Bolt's ack, which also resolves ``answered`` (what the wrapper waits on); after answering Slack it passes the
    gate, if any."""

    def __init__(self, ack: Any, gate: Gate | None, answered: asyncio.Future[None]) -> None:
        self._ack = ack
        self._gate = gate
        self._answered = answered
        self.done = False

    async def __call__(self, *args: Any, **kwargs: Any) -> Any:
        gate, self._gate = self._gate, None
        answer = await self._answer(*args, **kwargs)
        if gate is not None:
            await gate()  # raises Stop when the work must not go on
        return answer

    async def only(self, *args: Any, **kwargs: Any) -> Any:
        """Answer Slack, and nothing more: the listener will do no work, so it need not pass the gate."""
        self._gate = None
        return await self._answer(*args, **kwargs)

    async def _answer(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return await self._ack(*args, **kwargs)
        finally:
            self.done = True
            _resolve(self._answered)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ack, name)


async def answer_only(ack: AsyncAck, **answer: Any) -> None:
    """Answer Slack with ``answer`` when the listener will do nothing else (e.g. "busy"): the request's work does
    not wait for the gate (the replay guard's store lookup goes on by itself), so the request is done at once."""
    if isinstance(ack, _SignallingAck):
        await ack.only(**answer)
    else:
        await ack(**answer)


def _resolve(future: asyncio.Future[None], *_: object) -> None:
    if not future.done():
        future.set_result(None)


def _arguments(listener: Listener, wanted: tuple[str, ...], args: AsyncArgs, ack: _SignallingAck) -> dict[str, Any]:
    """What ``listener`` names (``wanted``), from Bolt's arguments or (the actor, the attempt id) the request's
    context."""
    given: dict[str, Any] = {}
    for name in wanted:
        if name == "ack":
            given[name] = ack
        elif hasattr(args, name):
            given[name] = getattr(args, name)
        elif name in args.context:
            given[name] = args.context[name]
        else:
            raise TypeError(f"{getattr(listener, '__name__', 'listener')} asks for {name!r}, which neither Bolt nor "
                            "the authorize middleware provides")
    return given


def ack_early(listener: Listener, background: BackgroundWork) -> Listener:
    name = getattr(listener, "__name__", "listener")
    wanted = tuple(inspect.signature(listener).parameters)

    async def answer_at_ack(args: AsyncArgs) -> None:
        loop = asyncio.get_running_loop()
        answered: asyncio.Future[None] = loop.create_future()  # by the ack, the listener's end, or the deadline
        signal = _SignallingAck(args.ack, args.context.get(GATE_KEY), answered)
        scope = current_request()
        if scope is not None:
            scope.handed_off = True  # the request is counted when the work ends, not at the ack
        task = background.spawn(_run(listener, _arguments(listener, wanted, args, signal), signal, _Notice.of(args)),
                                name=name)
        task.add_done_callback(functools.partial(_resolve, answered))
        deadline = loop.call_later(ACK_DEADLINE, _resolve, answered)
        try:
            await answered
        finally:
            deadline.cancel()
        if scope is not None:
            scope.acked()  # Bolt sends the ack as this returns (or its error handler's, when the listener failed)
        if task.done() and not task.cancelled() and task.exception() is not None and not signal.done:
            raise task.exception()  # type: ignore[misc]  # Bolt's error handler answers

    answer_at_ack.__name__ = answer_at_ack.__qualname__ = name
    return answer_at_ack


@dataclass(frozen=True)
class _Notice:
    """What telling the person about a failure needs, taken from the request up front: the listener's task keeps
    this, not all of Bolt's arguments (the request, its context, every utility), while it waits its turn."""

    body: dict[str, Any]
    client: AsyncWebClient
    respond: Any
    ack: Any
    actor: Actor | None
    attempt_id: str

    @classmethod
    def of(cls, args: AsyncArgs) -> _Notice:
        body = args.body or {}
        actor = args.context.get(ACTOR_KEY)
        return cls(body, args.client, args.respond if body.get("response_url") else None, args.ack,
                   actor if isinstance(actor, Actor) else None, str(args.context.get(ATTEMPT_KEY) or ""))


async def _run(listener: Listener, kwargs: dict[str, Any], signal: _SignallingAck, notice: _Notice) -> None:
    failed = True
    try:
        await listener(**kwargs)
        failed = False
    except Stop as stop:  # a gate said no; it has logged why
        failed = False
        if stop.notice is not None:
            await _tell_quietly(notice, stop.notice)
    except Exception:
        if not signal.done:
            raise  # the wrapper re-raises it to Bolt (or, past the deadline, BackgroundWork logs it)
        log.exception("%s failed after acknowledging", getattr(listener, "__name__", "listener"))
        await _tell_quietly(notice, LATE_FAILURE)
    finally:
        scope = current_request()  # the task copied the request's context when it was created
        if scope is not None:
            scope.finish(failed=failed)


async def _tell_quietly(notice: _Notice, text: str) -> None:
    try:
        await _tell(notice, text)
    except Exception:  # best effort; what happened is logged already
        log.warning("could not tell the user what happened to their request")


async def _tell(notice: _Notice, text: str) -> None:
    """A submitted form (answered with a "Saving…" view) is replaced by the notice, so it is not left saying
    "Saving…" forever; anything else is told through the one reply path (response URL, post, DM)."""
    body = notice.body
    view = body.get("view")
    if body.get("type") == "view_submission" and isinstance(view, dict) and view.get("id"):
        await notice.client.views_update(view_id=view["id"], view={
            "type": "modal", "title": {"type": "plain_text", "text": "commops"},
            "close": {"type": "plain_text", "text": "Close"},
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
        })
        return
    if notice.actor is not None:
        await Call(notice.actor, notice.attempt_id, notice.ack, notice.respond, notice.client).tell(text)
    elif notice.respond is not None:
        await notice.respond(response_type="ephemeral", replace_original=False, text=text)


class Listeners:
    """The one way a family registers its listeners: each answers Slack at its ``ack()`` and goes on as work
    that the bot tracks and drains at shutdown. Listeners may name Bolt's arguments and the context's
    ``actor`` and ``attempt_id`` (set by the authorize middleware)."""

    def __init__(self, app: AsyncApp, background: BackgroundWork) -> None:
        self._app = app
        self._background = background

    @property
    def client(self) -> AsyncWebClient:
        return self._app.client

    def _register(self, bolt_decorator: Callable[[Listener], Any]) -> Callable[[L], L]:
        def register(listener: L) -> L:
            bolt_decorator(ack_early(listener, self._background))
            return listener

        return register

    def command(self, name: str) -> Callable[[L], L]:
        return self._register(self._app.command(name))

    def action(self, action_id: str) -> Callable[[L], L]:
        return self._register(self._app.action(action_id))

    def view(self, callback_id: str) -> Callable[[L], L]:
        return self._register(self._app.view(callback_id))

    def shortcut(self, callback_id: str) -> Callable[[L], L]:
        """A global or message shortcut (Bolt's ``app.shortcut`` serves both)."""
        return self._register(self._app.shortcut(callback_id))

    def event(self, event_type: str) -> Callable[[L], L]:
        """An Events API event; its listener acks at once like any other (Slack retries events left unanswered)."""
        return self._register(self._app.event(event_type))
