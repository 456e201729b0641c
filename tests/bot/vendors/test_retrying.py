"""bot.vendors.retrying, which both vendor clients use: what is tried again, and how long it waits in between."""

from __future__ import annotations

import time

import pytest

from bot.vendors.errors import ConnectionFailed, NotFound, RateLimited, Timeout, Unavailable
from bot.vendors.retrying import Retries, may_retry, with_retries

FAST = Retries(attempts=3, backoff_initial=0.001, backoff_max=0.01)


@pytest.mark.parametrize(("error", "idempotent", "max_wait", "allowed"), [
    (ConnectionFailed("never sent", vendor="V"), False, None, True),  # never left: safe for any call
    (ConnectionFailed("never sent", vendor="V"), True, None, True),
    (Unavailable("503", vendor="V"), True, None, True),
    (Unavailable("503", vendor="V"), False, None, False),  # a change that may have arrived is not repeated
    (Timeout("no answer", vendor="V", maybe_applied=True), False, None, False),
    (NotFound("404", vendor="V"), True, None, False),  # not retryable
    (RateLimited("429", vendor="V", retry_after=60), True, None, True),
    (RateLimited("429", vendor="V", retry_after=60), True, 10, False),  # longer than max_wait: reported at once
    (RateLimited("429", vendor="V", retry_after=5), True, 10, True),
    (ValueError("a bug"), True, None, False),
])
def test_what_may_be_retried(error: BaseException, idempotent: bool, max_wait: float | None, allowed: bool) -> None:
    assert may_retry(error, idempotent=idempotent, max_wait=max_wait) is allowed


async def test_a_read_is_tried_until_it_succeeds() -> None:
    failures = [Unavailable("503", vendor="V"), Timeout("slow", vendor="V")]

    async def attempt() -> str:
        if failures:
            raise failures.pop(0)
        return "ok"

    assert await with_retries(attempt, FAST, idempotent=True) == "ok"
    assert failures == []


async def test_the_last_error_is_raised_after_the_last_attempt() -> None:
    calls: list[int] = []

    async def attempt() -> str:
        calls.append(1)
        raise Unavailable(f"503 number {len(calls)}", vendor="V")

    with pytest.raises(Unavailable, match="503 number 3"):
        await with_retries(attempt, FAST, idempotent=True)
    assert len(calls) == 3


async def test_a_change_is_tried_once_unless_it_never_left() -> None:
    errors = [ConnectionFailed("never sent", vendor="V"), Unavailable("500", vendor="V", maybe_applied=True)]
    calls: list[int] = []

    async def attempt() -> str:
        calls.append(1)
        raise errors.pop(0)

    with pytest.raises(Unavailable, match="500"):
        await with_retries(attempt, FAST, idempotent=False)
    assert len(calls) == 2


@pytest.mark.parametrize(("max_wait", "at_least", "below"), [
    (None, 0.0, 0.4),  # without max_wait, a Retry-After is waited for backoff_max (0.01 s) at the most
    (2.0, 0.5, 2.0),  # with it, the Retry-After itself (0.5 s)
])
async def test_a_retry_after_is_waited_out(max_wait: float | None, at_least: float, below: float) -> None:
    failures = [RateLimited("429", vendor="V", retry_after=0.5)]

    async def attempt() -> str:
        if failures:
            raise failures.pop(0)
        return "ok"

    started = time.monotonic()
    assert await with_retries(attempt, FAST, idempotent=True, max_wait=max_wait) == "ok"
    assert at_least <= time.monotonic() - started < below
