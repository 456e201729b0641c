"""Answer Slack the moment a listener calls ``ack()``, and let the listener go on in the background.

Bolt's own way (``process_before_response=False``) checks for the ack every 10 ms, which puts up to 10 ms on
every request. Here the app runs with ``process_before_response=True`` and each listener is wrapped: the wrapper
starts the listener as a task and returns as soon as the listener acks (an event, not polling), so Bolt sends
the ack right away while the work continues. A failure before the ack is re-raised to Bolt's error handler; one
after it is logged and the user is told, since Bolt no longer watches the task.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.listener.async_listener import AsyncCustomListener

from bot.background import BackgroundWork

log = logging.getLogger("commops.early_ack")

ACK_DEADLINE = 2.5  # seconds; Slack gives up at 3
LATE_FAILURE = (":boom: Something went wrong on our side after your request was accepted; it may be incomplete. "
                "Check the result before trying again, and tell the bot's operators if it keeps happening.")


class _SignallingAck:
    """Bolt's ack, plus an event the wrapper waits on."""

    def __init__(self, ack: Any) -> None:
        self._ack = ack
        self.done = asyncio.Event()

    async def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return await self._ack(*args, **kwargs)
        finally:
            self.done.set()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ack, name)


def _ack_early(listener: Callable[..., Awaitable[Any]], background: BackgroundWork) -> Callable[..., Awaitable[Any]]:
    @functools.wraps(listener)
    async def wrapper(**kwargs: Any) -> None:
        ack = kwargs.get("ack")
        signal = _SignallingAck(ack) if ack is not None else None
        if signal is not None:
            kwargs["ack"] = signal
        acked = asyncio.ensure_future(signal.done.wait()) if signal is not None else None
        task = background.spawn(_run(listener, kwargs, signal), name=getattr(listener, "__name__", "listener"))
        waiting: set[asyncio.Future[Any]] = {task, *([acked] if acked else [])}
        await asyncio.wait(waiting, timeout=ACK_DEADLINE, return_when=asyncio.FIRST_COMPLETED)
        if acked is not None and not acked.done():
            acked.cancel()
        failed_before_ack = not (signal and signal.done.is_set())
        if task.done() and not task.cancelled() and task.exception() is not None and failed_before_ack:
            raise task.exception()  # type: ignore[misc]  # Bolt's error handler answers

    return wrapper


async def _run(listener: Callable[..., Awaitable[Any]], kwargs: dict[str, Any], signal: _SignallingAck | None) -> None:
    try:
        await listener(**kwargs)
    except Exception:
        if signal is None or not signal.done.is_set():
            raise  # the wrapper re-raises it to Bolt (or, past the deadline, BackgroundWork logs it)
        log.exception("%s failed after acknowledging", getattr(listener, "__name__", "listener"))
        try:
            await _tell_late_failure(kwargs)
        except Exception:  # best effort; the failure is logged above
            log.warning("could not tell the user about the failure")


async def _tell_late_failure(kwargs: dict[str, Any]) -> None:
    """Through the response URL when there is one; a modal (which has none) is replaced by the notice, so it
    is not left saying "Saving…" forever."""
    respond, body, client = kwargs.get("respond"), kwargs.get("body") or {}, kwargs.get("client")
    if body.get("response_url") and respond is not None:
        await respond(response_type="ephemeral", replace_original=False, text=LATE_FAILURE)
        return
    view = body.get("view") or {}
    if view.get("id") and client is not None:
        await client.views_update(view_id=view["id"], view={
            "type": "modal", "title": {"type": "plain_text", "text": "commops"},
            "close": {"type": "plain_text", "text": "Close"},
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": LATE_FAILURE}}],
        })


def install(app: AsyncApp, background: BackgroundWork) -> None:
    """Wrap every listener registered so far. Call after all ``register`` calls."""
    for listener in app._async_listeners:
        if isinstance(listener, AsyncCustomListener):
            listener.ack_function = _ack_early(listener.ack_function, background)
