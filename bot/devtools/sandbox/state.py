"""Everything the sandbox knows: seeded vendor data, fault rules, traffic counters, the call log, settings.

One object, shared by the routes and the gateway, so a test can arrange things in Python (``state.add_fault``,
``state.add_interaction``, ``state.mutate_campaign``) or over HTTP through ``/_sandbox/`` — both end up here.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.devtools.sandbox.calls import CallLog
from bot.devtools.sandbox.campaigns import Campaign, CampaignStore, deep_merge
from bot.devtools.sandbox.clock import as_aware, utc_now
from bot.devtools.sandbox.credentials import DEMO
from bot.devtools.sandbox.faults import FaultBook, FaultRule
from bot.devtools.sandbox.loyalty import LoyaltyStore
from bot.devtools.sandbox.messages import MessageStore
from bot.devtools.sandbox.seed import seed_campaigns, seed_customers, seed_loyalty
from bot.devtools.sandbox.tokens import TokenStore
from bot.devtools.sandbox.traffic import VENDORS, Traffic, Vendor


class SandboxState:
    """Seeded demo data plus the knobs tests turn.

    Settings (plain attributes, kept across :meth:`reset`): ``now`` (the data clock, aware datetimes),
    ``monotonic`` (the rate limiter's clock), ``timezone`` (the Capillary cluster's zone name),
    ``oauth_ttl_seconds``, ``timeout_seconds`` (how long a ``timeout`` fault holds the answer).
    Traffic shaping (cleared by :meth:`reset`): ``latency_ms``, ``rate_limit_per_minute``, the fault rules.
    """

    def __init__(self, *, now: Callable[[], datetime] | None = None, timezone: str = "UTC",
                 oauth_ttl_seconds: int = 300, timeout_seconds: float = 30.0, synthetic_customers: bool = True,
                 monotonic: Callable[[], float] | None = None) -> None:
        self.now: Callable[[], datetime] = now or utc_now
        self.monotonic: Callable[[], float] = monotonic or time.monotonic
        self.timezone = timezone
        self.oauth_ttl_seconds = oauth_ttl_seconds
        self.timeout_seconds = timeout_seconds
        self.synthetic_customers = synthetic_customers
        self.org_id = DEMO.org_id
        self.reset()

    def reset(self) -> None:
        """Back to freshly seeded data (times relative to ``now()``) with no faults, latency, limits or calls."""
        self.seeded_at = as_aware(self.now())
        self.loyalty = LoyaltyStore()
        seed_loyalty(self.loyalty, self.seeded_at)
        self.messages = MessageStore(self.org_id, anchor=self.seeded_at, synthetic=self.synthetic_customers)
        seed_customers(self.messages, self.seeded_at)
        self.campaigns = CampaignStore()
        seed_campaigns(self.campaigns, self.seeded_at)
        self.tokens = TokenStore()
        self.faults = FaultBook()
        self.traffic = Traffic(lambda: self.monotonic())
        self.calls = CallLog()
        self.latency_ms = 0

    # Settings -------------------------------------------------------------------------------------------------

    @property
    def timezone(self) -> str:
        return self._timezone

    @timezone.setter
    def timezone(self, name: str) -> None:
        self.zone = ZoneInfo(name)  # raises for an unknown zone, before anything changes
        self._timezone = name

    @property
    def rate_limit_per_minute(self) -> int | None:
        """The Capillary limit (set it to limit both vendors; each keeps its own 60 s window)."""
        return self.traffic.limits["capillary"]

    @rate_limit_per_minute.setter
    def rate_limit_per_minute(self, per_minute: int | None) -> None:
        self.set_rate_limit(per_minute)

    def set_rate_limit(self, per_minute: int | None, vendor: Vendor | None = None) -> None:
        if per_minute is not None and per_minute < 1:
            raise ValueError("per_minute must be at least 1, or None for no limit")
        for name in VENDORS if vendor is None else (vendor,):
            self.traffic.limits[name] = per_minute

    # Faults ---------------------------------------------------------------------------------------------------

    def add_fault(self, kind: str, *, path: str = "/", method: str | None = None, status: int | None = None,
                  code: int | None = None, times: int | None = 1, retry_after: float | None = None) -> FaultRule:
        """Spoil the next ``times`` requests whose path starts with ``path`` (see the faults module)."""
        rule = FaultRule(kind=kind, path=path, method=method, status=status, code=code, times=times,
                         retry_after=retry_after)
        return self.faults.add(rule)

    def clear_faults(self) -> int:
        return self.faults.clear()

    # Hooks for tests ------------------------------------------------------------------------------------------

    def add_interaction(self, identifier_name: str, value: str, *, status: str = "NOT-DELIVERED",
                        channel: str = "sms", sent_at: datetime | None = None, subject: str = "",
                        name: str | None = None, warnings: list[dict[str, Any]] | None = None) -> int:
        """A new message in a customer's history (the customer is created if unknown); returns its id, which
        ``/v2/communications/resend`` accepts."""
        when = as_aware(sent_at) if sent_at is not None else as_aware(self.now())
        return self.messages.add_interaction(identifier_name, value, status=status, channel=channel.lower(),
                                             sent_at=when, subject=subject, name=name, warnings=warnings)

    def campaign(self, campaign_id: str) -> Campaign:
        """The stored campaign object (exactly what was last PUT or seeded)."""
        return self.campaigns.campaigns[campaign_id]

    def mutate_campaign(self, campaign_id: str, fn: Callable[[Campaign], Campaign | None]) -> Campaign:
        """Change a campaign behind the bot's back: ``fn`` edits the stored object in place or returns a new one."""
        return self.campaigns.mutate(campaign_id, fn)

    def patch_campaign(self, campaign_id: str, patch: Mapping[str, Any]) -> Campaign:
        """Deep-merge ``patch`` into the stored campaign (what ``POST /_sandbox/campaigns/{id}/mutate`` does)."""
        return self.campaigns.mutate(campaign_id, lambda stored: deep_merge(stored, patch))

    def expire_tokens(self) -> int:
        """Every OAuth token issued so far now answers code 498."""
        return self.tokens.expire_all()

    # Observations ---------------------------------------------------------------------------------------------

    def recorded_calls(self, *, method: str | None = None, path: str | None = None) -> list[dict[str, Any]]:
        """Vendor requests received, oldest first; ``path`` is a prefix."""
        return self.calls.matching(method=method, path=path)

    def stats(self) -> dict[str, Any]:
        """Per vendor: requests, rate_limited (429s from the limiter), faulted, max_in_window, per_minute."""
        return self.traffic.stats()
