"""What a scheduled run found and did, as the channel it was scheduled in is told (handlers/campaign renders it).

A :class:`RunReport` is plain data, kept as JSON in the action's row until the channel has been told, so a runner
that could not reach Slack (or stopped) leaves it for the next poll of any replica to post.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from bot.campaigns.plan import Activity, activity
from bot.campaigns.service import ChangeStatus, ToggleOutcome
from bot.schedule.actions import Origin, ScheduledAction

LATE = timedelta(seconds=60)  # a run later than this after its due time says so (the bot was not running)


class RunResult(enum.StrEnum):
    """A run's outcome: the pause or resume's (bot.campaigns.service.ChangeStatus), or why it did not happen."""

    CHANGED = "changed"
    CONFLICT = "conflict"
    UNVERIFIED = "unverified"
    UNCERTAIN = "uncertain"
    FAILED = "failed"  # Comm refused or could not be reached; nothing changed (a missing campaign among them)
    STALE = "stale"  # changed since it was scheduled: nothing done
    ALREADY = "already"
    NOT_PAUSABLE = "not_pausable"
    DENIED = "denied"  # the person who scheduled it may no longer do it there: nothing done
    ERROR = "error"  # the bot failed; nothing more is tried


CHANGED_SOMETHING = frozenset({RunResult.CHANGED, RunResult.CONFLICT, RunResult.UNVERIFIED})


@dataclass(frozen=True)
class RunReport:
    action_id: str
    campaign_id: str
    campaign_name: str
    op: str  # pause | resume
    origin: str  # at | after_pause
    scheduler_id: str
    scheduler_name: str
    channel_id: str | None
    scheduled_at: datetime
    due_at: datetime
    ran_at: datetime
    result: RunResult
    reason: str | None = None  # the vendor's error, the denial, what changed meanwhile: a sentence
    changes: list[tuple[str, bool | None, bool]] = field(default_factory=list)
    now: str | None = None  # the campaign's activity as last read (active, paused …)
    last_change: dict[str, str] | None = None  # op, user_id, at (ISO), result: the last pause/resume by the bot
    differences: list[str] = field(default_factory=list)
    took_over: bool = False  # its first runner went away mid-run; this one ran it again through the same checks
    not_found: bool = False

    @property
    def late_by(self) -> timedelta:
        return max(self.ran_at - self.due_at, timedelta(0))

    @property
    def late(self) -> bool:
        return self.late_by > LATE

    @property
    def resumes_itself(self) -> bool:
        return self.origin == Origin.AFTER_PAUSE.value

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("scheduled_at", "due_at", "ran_at"):
            data[key] = getattr(self, key).isoformat()
        data["result"] = self.result.value
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunReport:
        values = dict(data)
        for key in ("scheduled_at", "due_at", "ran_at"):
            values[key] = datetime.fromisoformat(values[key])
        values["result"] = RunResult(values["result"])
        values["changes"] = [tuple(change) for change in values.get("changes") or []]
        return cls(**values)


def base_report(action: ScheduledAction, ran_at: datetime, result: RunResult, *, name: str | None = None,
                **more: Any) -> RunReport:
    """``name``: the campaign's name as the run read it (else as it was when scheduled)."""
    return RunReport(
        action_id=action.id, campaign_id=action.campaign_id, campaign_name=name or action.campaign_name,
        op=action.op.value, origin=action.origin.value, scheduler_id=action.scheduler.user_id,
        scheduler_name=action.scheduler.user_name, channel_id=action.scheduler.channel_id,
        scheduled_at=action.created_at, due_at=action.due_at, ran_at=ran_at, result=result, **more,
    )


def report_of(action: ScheduledAction, outcome: ToggleOutcome, ran_at: datetime, *, took_over: bool = False
              ) -> RunReport:
    """The report of a run that went through bot.campaigns' pause or resume."""
    campaign = outcome.campaign
    now: Activity | None = activity(campaign) if campaign is not None else None
    last = outcome.last_change
    error = outcome.error
    return base_report(
        action, ran_at, RunResult(outcome.outcome.value),
        reason=error.sentence if error is not None else None,
        changes=[(change.name, change.before, change.after) for change in outcome.changes],
        now=now.value if now is not None else None,
        last_change={"op": last.op.value, "user_id": last.user_id, "user_name": last.user_name,
                     "at": last.at.isoformat(), "result": last.result.value} if last is not None else None,
        differences=[difference.name for difference in outcome.differences],
        took_over=took_over,
        not_found=outcome.outcome is ChangeStatus.FAILED and error is not None and error.kind == "not_found",
        name=campaign.name if campaign is not None and campaign.name else None,
    )


class Reporter(Protocol):
    """Tells the channel a scheduled action was scheduled in what its run found and did (Slack:
    handlers/campaign/schedule_blocks.py). Raises when it could not: the report stays queued for the next poll."""

    async def report(self, report: RunReport) -> None: ...
