"""Async Comm client: Bearer auth, error mapping, and retries only where they are safe.

Reads (GET) are retried on retryable failures, honouring Retry-After. A PUT or a stop is retried only when the
request never left this process: a PUT that may have reached Comm is never repeated blindly, because between
the two someone else may have changed the campaign, and a blind repeat would overwrite their change.
"""

from __future__ import annotations

import logging
import time
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import SecretStr, ValidationError

from bot.settings import Settings
from bot.vendors import retrying
from bot.vendors.comm import errors
from bot.vendors.comm.models import Campaign, SendStopped
from bot.vendors.errors import MAYBE_APPLIED, MalformedResponse, RateLimited
from bot.vendors.rate_limit import RateLimiter

log = logging.getLogger("commops.comm")

CONNECTIONS = 10  # calls in flight at most: campaign commands and the scheduled pauses, a few at a time

CAMPAIGNS = "/v1/sms/campaigns"
LIST_SUBJECT = "SMS campaign list"
MAX_PAGES = 50  # a runaway "next" link must not loop for ever


class CommClient:
    def __init__(
        self,
        base_url: str,
        token: SecretStr | str,
        *,
        timeout: float = 10.0,
        rate_limit_per_minute: int = 60,
        max_attempts: int = 4,
        backoff_initial: float = 0.5,
        backoff_max: float = 8.0,
        max_wait: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        secret = token.get_secret_value() if isinstance(token, SecretStr) else token
        self._http = retrying.VendorHttp(
            base_url=base_url.rstrip("/"), connections=CONNECTIONS, timeout=timeout, transport=transport,
            headers={"Accept": "application/json", "User-Agent": "commops", "Authorization": f"Bearer {secret}"},
        )
        self._secrets = (secret,)  # redacted from whatever Comm's answers repeat
        self.limiter = RateLimiter(rate_limit_per_minute, name="comm")
        self._timeout = timeout
        self.retries = retrying.Retries(max_attempts, backoff_initial, backoff_max)
        # A Retry-After longer than this is reported to the person instead of being waited out in silence.
        self.max_wait = max_wait

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> CommClient:
        if settings.comm_api_token is None:
            raise ValueError("COMM_API_TOKEN is not set")
        options: dict[str, Any] = {"timeout": settings.comm_timeout_seconds,
                                   "rate_limit_per_minute": settings.comm_rate_limit_per_minute, **kwargs}
        return cls(settings.comm_api_url, settings.comm_api_token, **options)

    async def aclose(self) -> None:
        await self.limiter.aclose()
        await self._http.aclose()

    # Public calls -------------------------------------------------------------------------------------------

    async def list_campaigns(self) -> list[Campaign]:
        """Every campaign the token's team can see, following pagination links when Comm sends them."""
        found: list[Campaign] = []
        path: str | None = CAMPAIGNS
        params: dict[str, Any] | None = None
        for _ in range(MAX_PAGES):
            if path is None:
                break
            body = await self.call("GET", path, params=params, idempotent=True, subject=LIST_SUBJECT, owned=False,
                                   operation="list_campaigns")
            items = body.get("data") if isinstance(body, dict) else None
            if not isinstance(items, list):
                raise self._malformed("the list has no “data” array", 200)
            # Each entry is read on its own: one Comm does not fully describe is listed with notes, never fatal.
            found.extend(Campaign.from_raw(item) for item in items)
            path, params = _next_page(body, self._http.base_url)
        return found

    async def get_campaign(self, campaign_id: str) -> Campaign:
        body = await self.call("GET", _campaign_path(campaign_id), idempotent=True, subject=_subject(campaign_id),
                               operation="get_campaign")
        return self._campaign(_data(body))

    async def put_campaign(self, campaign_id: str, whole: dict[str, Any]) -> None:
        """Replace the campaign with ``whole`` (never a partial object). Not retried once it may have arrived.

        A successful answer's body is not read: 200 with the object, 204 or anything else, what counts is the
        verifying GET that follows.
        """
        await self.call("PUT", _campaign_path(campaign_id), json=whole, idempotent=False,
                        subject=_subject(campaign_id), operation="put_campaign")

    async def stop_send(self, campaign_id: str, send_id: str) -> SendStopped:
        """Stop one send of a campaign. Final: nothing resumes a stopped send. Never retried once sent."""
        path = f"{_campaign_path(campaign_id)}/stop/{quote(send_id, safe='')}"
        body = await self.call("POST", path, idempotent=False,
                               subject=f"send {send_id} of {_subject(campaign_id)}", operation="stop_send")
        data = body.get("data", body) if isinstance(body, dict) else {}
        try:
            return SendStopped.model_validate(data if isinstance(data, dict) else {})
        except ValidationError:
            raise self._malformed("the stop answer has fields of the wrong type", 200, maybe_applied=True) from None

    async def ping(self) -> int:
        """Reach Comm with the token; the number of campaigns the token's team can see."""
        body = await self.call("GET", CAMPAIGNS, idempotent=True, subject=LIST_SUBJECT, owned=False,
                               operation="list_campaigns")
        items = body.get("data") if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise self._malformed("the list has no “data” array", 200)
        return len(items)

    # Machinery shared by every call -------------------------------------------------------------------------

    async def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        idempotent: bool,
        subject: str,
        operation: str,
        owned: bool = True,
    ) -> Any:
        """One call, retried where safe. ``operation`` names the endpoint in the metrics (a fixed name, never a
        path with ids in it)."""
        return await retrying.with_retries(
            lambda: self._attempt(method, path, json=json, params=params, idempotent=idempotent, subject=subject,
                                  owned=owned, operation=operation),
            self.retries, idempotent=idempotent, max_wait=self.max_wait,
        )

    async def _attempt(self, method: str, path: str, *, json: Any, params: dict[str, Any] | None,
                       idempotent: bool, subject: str, owned: bool, operation: str) -> Any:
        await self.limiter.acquire()
        started = time.perf_counter()
        response = await retrying.request(
            self._http, method, path, vendor=errors.VENDOR, log=log, timeout=self._timeout, idempotent=idempotent,
            unsure=f"; {MAYBE_APPLIED}.", operation=operation, json=json, params=params,
        )
        status = response.status_code
        log.info("%s %s -> %s in %.0f ms", method, path, status, (time.perf_counter() - started) * 1000)
        body = errors.parse_body(response.content, status=status, maybe_applied=not idempotent)
        if status >= 400:
            retry_after = retrying.retry_after(response)
            failure = errors.status_error(status, body, subject=subject, maybe_applied=not idempotent,
                                          retry_after=retry_after, owned=owned, secrets=self._secrets)
            # Comm said when to come back (or that it is counting): hold every caller, not just this one.
            if retry_after is not None or isinstance(failure, RateLimited):
                self.limiter.back_off(retry_after if retry_after is not None else 1.0)
            raise failure
        reported = errors.body_error(body, status=status, subject=subject, maybe_applied=not idempotent,
                                     secrets=self._secrets)
        if reported is not None:
            raise reported
        return body

    def _campaign(self, data: Any) -> Campaign:
        """One campaign; the fields the bot cannot read are noted on it (Campaign.problems). Only an answer with
        no campaign object at all is malformed."""
        if not isinstance(data, dict):
            raise self._malformed("the answer holds no campaign object", 200)
        return Campaign.from_raw(data)

    @staticmethod
    def _malformed(what: str, status: int, *, maybe_applied: bool = False) -> MalformedResponse:
        return MalformedResponse(f"Comm answered in an unexpected shape ({what}); nothing was assumed.",
                                 vendor=errors.VENDOR, http_status=status, maybe_applied=maybe_applied)


def _subject(campaign_id: str) -> str:
    return f"campaign {campaign_id}"


def _campaign_path(campaign_id: str) -> str:
    return f"{CAMPAIGNS}/{quote(campaign_id, safe='')}"


def _data(body: Any) -> Any:
    """Single objects come wrapped in ``{"data": {...}}`` (seed 003)."""
    return body.get("data") if isinstance(body, dict) and "data" in body else body


def _next_page(body: Any, base: httpx.URL) -> tuple[str | None, dict[str, Any] | None]:
    """The next page from a ``links.next`` URL (the framework's paginator), if it points back at this API."""
    links = body.get("links") if isinstance(body, dict) else None
    target = links.get("next") if isinstance(links, dict) else None
    if not isinstance(target, str) or not target:
        return None, None
    url = httpx.URL(target)
    if url.host and (url.host, url.port) != (base.host, base.port):
        return None, None  # never send the token to another host
    path = url.path
    prefix = base.path.rstrip("/")
    if prefix and path.startswith(prefix + "/"):
        path = path[len(prefix):]
    return path, dict(url.params)
