"""A DigestPoster without Slack: it records each post, and fails the posts it is told to fail."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.alerts.domain import Digest, DigestItem


@dataclass(frozen=True)
class Post:
    channel: str
    ts: str
    thread_ts: str | None  # None for the digest itself
    message_ids: tuple[int, ...]
    missing_customers: tuple[str, ...] = ()


@dataclass
class FakePoster:
    per_reply: int = 50  # items per thread reply
    posts: list[Post] = field(default_factory=list)
    failures: dict[int, Exception] = field(default_factory=dict)  # by the number of the post attempt, from 1
    attempts: int = 0

    def fail(self, attempt: int, error: Exception) -> None:
        """Make post attempt number ``attempt`` (counting every call, failed or not) raise ``error``."""
        self.failures[attempt] = error

    async def post_digest(self, channel: str, digest: Digest) -> str:
        return self._post(channel, None, digest.shown, digest.missing_customers)

    def thread_replies(self, items: Sequence[DigestItem]) -> list[tuple[DigestItem, ...]]:
        return [tuple(items[start:start + self.per_reply]) for start in range(0, len(items), self.per_reply)]

    async def post_reply(self, channel: str, thread_ts: str, items: Sequence[DigestItem]) -> str:
        return self._post(channel, thread_ts, items)

    def _post(self, channel: str, thread_ts: str | None, items: Sequence[DigestItem],
              missing: tuple[str, ...] = ()) -> str:
        self.attempts += 1
        if self.attempts in self.failures:
            raise self.failures[self.attempts]
        ts = f"1767614400.{self.attempts:06d}"
        self.posts.append(Post(channel, ts, thread_ts, tuple(item.message_id for item in items), missing))
        return ts
