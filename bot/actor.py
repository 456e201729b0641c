"""Who is acting: the Slack user behind a command, button or form."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    user_id: str
    user_name: str
    team_id: str | None = None
    channel_id: str | None = None
