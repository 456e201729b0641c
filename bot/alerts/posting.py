"""Where the alert job's digests go, as the job sees it: a poster that puts a digest and its thread replies in a
channel (handlers/alerts/poster.py posts them to Slack). Kept here as an interface so bot/alerts stays Slack-free.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from bot.alerts.domain import Digest, DigestItem


class PostRefused(Exception):
    """Slack answered a post with an error; ``code`` is Slack's error code (``channel_not_found``, …) when it gave
    one. Nothing was posted."""

    def __init__(self, code: str | None = None) -> None:
        super().__init__(code or "an error")
        self.code = code


class DigestPoster(Protocol):
    """Each ``post_*`` call is one post and returns its ts. A post Slack refuses raises :class:`PostRefused`; one
    that could not reach Slack raises whatever the transport raised. Either way nothing was posted by that call."""

    async def post_digest(self, channel: str, digest: Digest) -> str:
        """The digest's own message: a count, the newest items (``digest.shown``), the missing customers."""
        ...

    def thread_replies(self, items: Sequence[DigestItem]) -> list[tuple[DigestItem, ...]]:
        """How ``items`` (the digest's rest, newest first) are split into thread replies, in posting order."""
        ...

    async def post_reply(self, channel: str, thread_ts: str, items: Sequence[DigestItem]) -> str:
        """One thread reply under the digest at ``thread_ts``, listing ``items`` (one of ``thread_replies``)."""
        ...
