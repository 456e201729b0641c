"""What the vendor clients share about sending a request and retrying it, only where that is safe.

A request's transport failures become typed errors that say whether the vendor may have acted: ConnectionFailed
when the request never left this process, else Timeout or Unavailable (``maybe_applied`` unless the call is
idempotent). Reads (idempotent calls) are retried on any retryable failure, backing off exponentially with jitter
or waiting out the vendor's Retry-After; a call that changes data is retried only after a ConnectionFailed,
because one that may have reached the vendor must never be repeated blindly.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from bot.observability.metrics import observe_vendor_call
from bot.vendors.errors import ConnectionFailed, Timeout, Unavailable, VendorError

T = TypeVar("T")

KEEPALIVE_SECONDS = 60.0  # an idle pooled connection is kept this long (httpx's default, 5 s, reconnects after a lull)
PER_POOL = 4  # connections in one httpx pool of a VendorHttp (its CPU per request grows with this)


def pool_limits(connections: int) -> httpx.Limits:
    """A connection pool of ``connections``, every one of them kept open for reuse (a call never waits on a new TCP
    and TLS handshake while the pool holds fewer than that)."""
    return httpx.Limits(max_connections=connections, max_keepalive_connections=connections,
                        keepalive_expiry=KEEPALIVE_SECONDS)


class VendorHttp:
    """A vendor client's HTTP: httpx, with ``connections`` in flight at most, kept alive between calls.

    httpx's pool (httpcore's) looks at each of its connections, and asks each idle one's socket whether the server
    closed it, every time a request starts or ends, and compares every idle one with all the others: its CPU grows
    with the square of the pool's size, and at 50 connections it cost more than the rest of a /resend. So the
    connections are held in pools of ``PER_POOL`` (one ``httpx.AsyncClient`` each, with the same settings), and
    each request goes to the pool with the fewest requests in progress.
    """

    def __init__(self, *, base_url: str, connections: int, timeout: float, headers: dict[str, str],
                 transport: httpx.AsyncBaseTransport | None = None, per_pool: int = PER_POOL) -> None:
        sizes = [per_pool] * (connections // per_pool) + ([connections % per_pool] if connections % per_pool else [])
        self._clients = [httpx.AsyncClient(base_url=base_url, timeout=httpx.Timeout(timeout), transport=transport,
                                           headers=headers, limits=pool_limits(size)) for size in sizes]
        self._running = [0] * len(self._clients)

    @property
    def base_url(self) -> httpx.URL:
        return self._clients[0].base_url

    async def request(self, method: str, url: str, **options: Any) -> httpx.Response:
        running = self._running
        chosen = running.index(min(running))
        running[chosen] += 1
        try:
            return await self._clients[chosen].request(method, url, **options)
        finally:
            running[chosen] -= 1

    async def aclose(self) -> None:
        for client in self._clients:
            await client.aclose()


@dataclass(frozen=True)
class Retries:
    """How reads are retried: ``attempts`` in all, backing off exponentially (with jitter) between them."""

    attempts: int = 4
    backoff_initial: float = 0.5
    backoff_max: float = 8.0


def _pause(error: BaseException, number: int, retries: Retries, longest: float) -> float:
    """Before attempt ``number + 1``: the vendor's Retry-After (up to ``longest``) when it sent one; else exponential
    backoff with jitter."""
    if isinstance(error, VendorError) and error.retry_after is not None:
        return float(min(error.retry_after, longest))
    initial = retries.backoff_initial
    return max(0.0, min(initial * 2.0 ** (number - 1) + random.uniform(0, initial), retries.backoff_max))


def may_retry(error: BaseException, *, idempotent: bool, max_wait: float | None = None) -> bool:
    """Whether a failed call may be made again (see the module's docstring); never when the vendor asked for a
    longer pause than ``max_wait``."""
    if isinstance(error, ConnectionFailed):
        return True  # the request never left: safe for any call
    if not (idempotent and isinstance(error, VendorError) and error.retryable):
        return False
    return max_wait is None or error.retry_after is None or error.retry_after <= max_wait


async def with_retries(attempt: Callable[[], Awaitable[T]], retries: Retries, *, idempotent: bool,
                       max_wait: float | None = None) -> T:
    """``attempt()``, again while :func:`may_retry` allows and attempts remain; the last error is raised.

    ``max_wait``: a Retry-After longer than this is not waited out but raised at once, for the person to see.
    Without it, every Retry-After is waited out, for ``retries.backoff_max`` at the most.
    """
    longest = retries.backoff_max if max_wait is None else max_wait
    number = 1
    while True:
        try:
            return await attempt()
        except Exception as error:
            if number >= retries.attempts or not may_retry(error, idempotent=idempotent, max_wait=max_wait):
                raise
            await asyncio.sleep(_pause(error, number, retries, longest))
            number += 1


async def request(
    http: VendorHttp,
    method: str,
    path: str,
    *,
    vendor: str,
    log: logging.Logger,
    timeout: float,
    idempotent: bool,
    unsure: str,
    operation: str,
    **options: Any,
) -> httpx.Response:
    """``http.request(method, path, **options)``, its transport failures raised as typed errors of ``vendor``.

    ``unsure`` ends the sentence of a Timeout or Unavailable when the call is not idempotent (it may have been
    carried out), e.g. ``". It may still have been carried out."``; otherwise the sentence ends in a full stop.
    Every call is counted in the metrics under ``operation`` with its HTTP status or transport failure.
    """
    started = time.perf_counter()
    status = "cancelled"
    try:
        response = await _request(http, method, path, vendor=vendor, log=log, timeout=timeout, idempotent=idempotent,
                                  unsure=unsure, **options)
        status = str(response.status_code)
        return response
    except VendorError as error:
        status = _FAILURE_STATUS.get(type(error), "broken")
        raise
    finally:
        observe_vendor_call(vendor.lower(), operation, status, time.perf_counter() - started)


_FAILURE_STATUS: dict[type[VendorError], str] = {ConnectionFailed: "connection_failed", Timeout: "timeout",
                                                 Unavailable: "broken"}


async def _request(http: VendorHttp, method: str, path: str, *, vendor: str, log: logging.Logger,
                   timeout: float, idempotent: bool, unsure: str, **options: Any) -> httpx.Response:
    ending = "." if idempotent else unsure
    try:
        return await http.request(method, path, **options)
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as error:
        # No connection (refused, no route, no free pooled connection in time): the request never left.
        log.warning("%s %s failed before sending: %s", method, path, type(error).__name__)
        raise ConnectionFailed(
            f"{vendor} could not be reached (connection failed); nothing was sent. Try again shortly.", vendor=vendor,
        ) from None
    except httpx.TimeoutException:
        log.warning("%s %s timed out after %.1f s", method, path, timeout)
        raise Timeout(f"{vendor} did not answer within {timeout:g} s{ending}", vendor=vendor,
                      maybe_applied=not idempotent) from None
    except httpx.HTTPError as error:
        log.warning("%s %s failed: %s", method, path, type(error).__name__)
        raise Unavailable(f"The connection to {vendor} broke during the call{ending}", vendor=vendor,
                          maybe_applied=not idempotent) from None


def retry_after(response: httpx.Response) -> float | None:
    """The seconds of a numeric Retry-After header (never below zero), or None."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        return None
