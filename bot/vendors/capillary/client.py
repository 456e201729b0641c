"""Async Capillary client: auth, rate limit, error envelopes, and retries only where they are safe.

Safe means: reads (GET) may be retried on retryable failures; calls that change data (resend, upsert) are
retried only when the request never left this process (connection refused, no free connection), because
a customer must never get a message twice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from bot.settings import Settings
from bot.vendors import retrying
from bot.vendors.capillary import errors
from bot.vendors.capillary.auth import Auth, BasicAuth, OAuthTokens
from bot.vendors.capillary.loyalty import (
    Channel,
    ChannelList,
    CommunicationItem,
    CommunicationList,
    TargetCommunication,
    UpsertAnswer,
)
from bot.vendors.capillary.models import (
    ChannelMessage,
    InteractionMessage,
    OAuthToken,
    ResendResult,
)
from bot.vendors.errors import MAYBE_APPLIED, MalformedResponse, RateLimited, Unavailable, VendorError
from bot.vendors.rate_limit import Ledger, RateLimiter

log = logging.getLogger("commops.capillary")

CONNECTIONS = 50  # calls in flight at most: the vendor workers of bot/work/turns.py (WORKERS)
ModelT = TypeVar("ModelT", bound=BaseModel)

COMMUNICATION = "Communication"
TARGET_LOYALTY = "Target Loyalty"
CUSTOMER = "Customer"
_UNSURE = f". {MAYBE_APPLIED[0].upper()}{MAYBE_APPLIED[1:]}."


@dataclass(frozen=True)
class Reply:
    body: Any
    status: int
    request_id: str | None
    warnings: tuple[str, ...]
    changed_data: bool = False  # the call may have changed something: a surprise in the answer is not a "no"


class CapillaryClient:
    def __init__(
        self,
        base_url: str,
        auth: Auth | None = None,
        *,
        timeout: float = 10.0,
        rate_limit_per_minute: int = 100,
        max_attempts: int = 4,
        backoff_initial: float = 0.5,
        backoff_max: float = 8.0,
        transport: httpx.AsyncBaseTransport | None = None,
        oauth_key: str | None = None,
        oauth_secret: str | None = None,
        ledger: Ledger | None = None,
    ) -> None:
        self._http = retrying.VendorHttp(base_url=base_url, connections=CONNECTIONS, timeout=timeout,
                                         transport=transport, headers={"Accept": "application/json",
                                                                       "User-Agent": "commops"})
        # Shared with every replica through ``ledger`` (the store's, bot/store/rate_slices.py) when given.
        self.limiter = RateLimiter(rate_limit_per_minute, name="capillary", ledger=ledger)
        # A Retry-After is always waited out (for backoff_max at the most) before a read is tried again.
        self.retries = retrying.Retries(max_attempts, backoff_initial, backoff_max)
        self._timeout = timeout
        if auth is None:
            if oauth_key is None or oauth_secret is None:
                raise ValueError("CapillaryClient needs Basic auth or an OAuth key and secret")
            auth = OAuthTokens(self._oauth_fetcher(oauth_key, oauth_secret))
        self._auth = auth
        self._oauth_pair = tuple(value for value in (oauth_key, oauth_secret) if value)

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> CapillaryClient:
        settings.require_capillary()
        assert settings.capillary_base_url is not None
        common: dict[str, Any] = {
            "timeout": settings.capillary_timeout_seconds,
            "rate_limit_per_minute": settings.capillary_rate_limit_per_minute,
            **kwargs,
        }
        if settings.capillary_oauth_key is not None and settings.capillary_oauth_secret is not None:
            return cls(
                settings.capillary_base_url,
                oauth_key=settings.capillary_oauth_key.get_secret_value(),
                oauth_secret=settings.capillary_oauth_secret.get_secret_value(),
                **common,
            )
        assert settings.capillary_username is not None and settings.capillary_password is not None
        return cls(settings.capillary_base_url, BasicAuth(settings.capillary_username, settings.capillary_password),
                   **common)

    async def aclose(self) -> None:
        await self.limiter.aclose()
        await self._http.aclose()

    # Public calls -------------------------------------------------------------------------------------------

    async def resend(self, message_id: int) -> ResendResult:
        """Resend one message. Never retried once the request may have reached Capillary."""
        reply = await self.call(
            "POST", "/v2/communications/resend", json={"messageId": message_id}, idempotent=False,
            resource=COMMUNICATION, operation="resend",
        )
        return self.parse(ResendResult, {**_as_dict(reply.body), "warnings": reply.warnings,
                                         "request_id": reply.request_id}, reply)

    async def customer_messages(self, identifier_name: str, identifier_value: str, *,
                                keep: Callable[[str], bool]) -> list[ChannelMessage]:
        """One customer's recent messages by channel (``GET /v2/customers/interaction``, a read: retried with backoff on
        429/503), those whose status ``keep`` accepts, each with its channel's name. Only those messages are validated
        in full: a watch-list poll reads thousands of customers' histories to keep a few of their messages.

        Raises NotFound with code 1012 when Capillary knows no such customer.
        """
        reply = await self.call(
            "GET", "/v2/customers/interaction", params={"identifierName": identifier_name,
                                                       "identifierValue": identifier_value, "type": "ALL"},
            idempotent=True, resource=CUSTOMER, operation="customer_interactions",
        )
        body = reply.body if isinstance(reply.body, dict) else None
        channels = body.get("interaction", ()) if body is not None else None
        if not isinstance(channels, list | tuple):
            raise self._malformed("interaction", reply)
        kept: list[ChannelMessage] = []
        for index, channel in enumerate(channels):
            name = channel.get("name") if isinstance(channel, dict) else None
            messages = channel.get("messageList", ()) if isinstance(channel, dict) else None
            if not isinstance(name, str) or not isinstance(messages, list | tuple):
                raise self._malformed(f"interaction.{index}", reply)
            for number, message in enumerate(messages):
                status = message.get("status") if isinstance(message, dict) else None
                if not isinstance(status, str):
                    raise self._malformed(f"interaction.{index}.messageList.{number}.status", reply)
                if keep(status):
                    kept.append(ChannelMessage(name, self.parse(InteractionMessage, message, reply)))
        return kept

    async def upsert_communications(self, group_id: int, target_id: int,
                                    items: Sequence[CommunicationItem]) -> UpsertAnswer:
        """Create or update a target's communications in one call. Never retried once it may have reached
        Capillary: a second upsert would overwrite whatever someone changed in between."""
        reply = await self.call(
            "POST", f"{_target_path(group_id, target_id)}/communications/upsert",
            json=[item.body() for item in items], idempotent=False, resource=TARGET_LOYALTY,
            operation="upsert_communications",
        )
        return self.parse(UpsertAnswer, {"data": _as_dict(reply.body).get("data"), "warnings": reply.warnings,
                                         "request_id": reply.request_id}, reply)

    async def target_communications(self, group_id: int, target_id: int) -> tuple[TargetCommunication, ...]:
        """A target's communications today (a read: retried with backoff)."""
        reply = await self.call("GET", f"{_target_path(group_id, target_id)}/communications", idempotent=True,
                                resource=TARGET_LOYALTY, operation="target_communications")
        return self.parse(CommunicationList, {"data": _as_dict(reply.body).get("data")}, reply).communications

    async def channels(self) -> tuple[Channel, ...]:
        """The channels a communication can go through (1 SMS, 2 EMAIL, 3 MOBILE PUSH on the demo cluster)."""
        reply = await self.call("GET", "/v3/targetGroups/channels", idempotent=True, resource=TARGET_LOYALTY,
                                operation="channels")
        return self.parse(ChannelList, {"data": _as_dict(reply.body).get("data")}, reply).channels

    async def ping(self) -> str:
        """Check reachability and credentials with a harmless read; returns who the bot acts as."""
        await self.call("GET", "/v3/targetGroups/channels", idempotent=True, resource=TARGET_LOYALTY,
                        operation="channels")
        return self._auth.principal

    # Machinery shared by every call -------------------------------------------------------------------------

    @classmethod
    def parse(cls, model: type[ModelT], data: Any, reply: Reply) -> ModelT:
        try:
            return model.model_validate(data)
        except ValidationError as error:
            field = ".".join(str(part) for part in error.errors()[0]["loc"])
            raise cls._malformed(field, reply) from None

    @staticmethod
    def _malformed(field: str, reply: Reply) -> MalformedResponse:
        outcome = _UNSURE if reply.changed_data else "; nothing was assumed."
        return MalformedResponse(
            f"Capillary answered in an unexpected shape (field “{field}”){outcome}",
            vendor=errors.VENDOR,
            http_status=reply.status,
            request_id=reply.request_id,
            maybe_applied=reply.changed_data,
        )

    async def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        idempotent: bool,
        resource: str,
        operation: str,
    ) -> Reply:
        """One call, retried where safe. ``operation`` names the endpoint in the metrics (a fixed name, never a
        path with ids in it)."""
        return await retrying.with_retries(
            lambda: self._attempt(method, path, json=json, params=params, idempotent=idempotent, resource=resource,
                                  operation=operation),
            self.retries, idempotent=idempotent,
        )

    async def _attempt(
        self, method: str, path: str, *, json: Any, params: dict[str, Any] | None, idempotent: bool, resource: str,
        operation: str,
    ) -> Reply:
        refreshed = False
        while True:
            response = await self._send(method, path, json=json, params=params, idempotent=idempotent,
                                        operation=operation)
            request_id = response.headers.get("X-Cap-Requestid")
            auth_failed = response.status_code in (401, errors.TOKEN_EXPIRED)
            body: Any = None
            if not auth_failed:
                body = errors.parse_body(
                    response.content, status=response.status_code, request_id=request_id,
                    maybe_applied=not idempotent,
                )
                found = errors.first_error(body)
                auth_failed = found is not None and found[0] in (401, errors.TOKEN_EXPIRED)
            # A rejected credential means the vendor did nothing: one fresh try is safe for any call.
            if auth_failed and not refreshed and await self._auth.refresh():
                refreshed = True
                continue
            return self._reply(response, body, request_id, resource=resource, idempotent=idempotent)

    async def _send(
        self, method: str, path: str, *, json: Any, params: dict[str, Any] | None, idempotent: bool, operation: str,
        authenticated: bool = True,
    ) -> httpx.Response:
        headers = await self._auth.headers() if authenticated else {}
        await self.limiter.acquire()  # the last thing before the request goes: the limit counts calls as sent
        started = time.perf_counter()
        response = await retrying.request(
            self._http, method, path, vendor=errors.VENDOR, log=log, timeout=self._timeout, idempotent=idempotent,
            unsure=_UNSURE, operation=operation, json=json, params=params, headers=headers,
        )
        log.info(
            "%s %s -> %s in %.0f ms (request id %s)", method, path, response.status_code,
            (time.perf_counter() - started) * 1000, response.headers.get("X-Cap-Requestid", "-"),
        )
        return response

    def _reply(self, response: httpx.Response, body: Any, request_id: str | None, *, resource: str,
               idempotent: bool) -> Reply:
        status = response.status_code
        found = errors.first_error(body)
        error: VendorError | None = None
        if found is not None:
            error = errors.code_error(found[0], found[1], status=status, request_id=request_id, resource=resource,
                                      maybe_applied=not idempotent, secrets=self._secrets())
        elif status >= 400 or status in (errors.SEARCH_BUSY, errors.CONCURRENT_ACTION):
            message = body.get("message") if isinstance(body, dict) else None
            error = errors.status_error(status, message, request_id=request_id, resource=resource,
                                        maybe_applied=not idempotent, secrets=self._secrets())
        if error is not None:
            if isinstance(error, RateLimited | Unavailable):
                retry_after = retrying.retry_after(response)
                error.retry_after = retry_after
                self.limiter.back_off(retry_after if retry_after is not None else 1.0)
            raise error
        return Reply(body=body, status=status, request_id=request_id,
                     warnings=tuple(errors.warnings_of(body, self._secrets())),
                     changed_data=not idempotent)

    def _secrets(self) -> tuple[str, ...]:
        """The credentials this client sends, to redact from whatever Capillary's answers repeat."""
        return (*self._auth.secrets(), *self._oauth_pair)

    def _oauth_fetcher(self, key: str, secret: str) -> Any:
        async def fetch() -> tuple[str, float]:
            # The token call itself carries no token (and must not wait on the lock that is fetching one).
            response = await self._send("POST", "/v3/oauth/token/generate", json={"key": key, "secret": secret},
                                        params=None, idempotent=True, operation="oauth_token", authenticated=False)
            request_id = response.headers.get("X-Cap-Requestid")
            body = errors.parse_body(response.content, status=response.status_code, request_id=request_id,
                                     maybe_applied=False)
            reply = self._reply(response, body, request_id, resource="", idempotent=True)
            data = _as_dict(reply.body).get("data")
            token = self.parse(OAuthToken, data, reply)
            return token.access_token, token.ttl_seconds

        return fetch


def _target_path(group_id: int, target_id: int) -> str:
    # The docs' path drops a slash ("{groupId}targets"); the curl example, which works, has it.
    return f"/v3/targetGroups/{group_id}/targets/{target_id}"


def _as_dict(body: Any) -> dict[str, Any]:
    return body if isinstance(body, dict) else {}
