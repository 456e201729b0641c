"""Scheduled actions in the store (``scheduled_actions``), and the claims that make each one run once.

A row is ``pending`` from when it is scheduled until a runner claims it. The claim is one statement,
``UPDATE … SET state = 'running', holder = :me WHERE id = :id AND state = 'pending' AND due_at <= :now``: of any
number of runners (replicas, or one restarting) asking at once, exactly one sees a row count of 1 and runs it. A
cancel is the same kind of statement from ``pending`` to ``cancelled``, so a cancel and a run can never both win.

A runner that stops while running an action (a crash, a kill) leaves it ``running``; after :data:`STALE_AFTER`
another runner may take it over (again in one UPDATE that checks the old claim) and runs it again, through the same
checks as any run: a campaign the first attempt already changed is found changed, and nothing is done twice.

Rows never leave this module: callers get :class:`ScheduledAction`.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError

from bot.actor import Actor
from bot.campaigns.plan import Basis, Op
from bot.store.engine import Store
from bot.store.tables import ScheduledActionRow

STALE_AFTER = timedelta(minutes=10)  # a run takes seconds; a claim older than this is a runner that went away
REPORT_GIVE_UP = timedelta(days=1)  # an outcome Slack would not take for this long is only logged


class State(enum.StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    CANCELLED = "cancelled"


class Origin(enum.StrEnum):
    AT = "at"  # /campaign pause|resume <campaign> at <time>
    AFTER_PAUSE = "after_pause"  # the resume of /campaign pause <campaign> for|until <time>


def state_digits(state: tuple[bool, ...]) -> str:
    return "".join("1" if on else "0" for on in state)


def state_of(digits: str) -> tuple[bool, ...]:
    return tuple(digit == "1" for digit in digits)


@dataclass(frozen=True)
class ScheduledAction:
    id: str
    campaign_id: str
    campaign_name: str
    op: Op
    origin: Origin
    due_at: datetime
    state: State
    basis: Basis  # the flags it expects to find at run time, and when they were read
    scheduler: Actor  # who scheduled it: the run is theirs (their grant, their name in the audit log)
    zone: str | None
    created_at: datetime
    result: str | None = None
    report: dict[str, Any] | None = None
    finished_at: datetime | None = None
    cancelled_by: str | None = None
    cancelled_at: datetime | None = None
    claimed_at: datetime | None = None

    @classmethod
    def of(cls, row: ScheduledActionRow) -> ScheduledAction:
        report: dict[str, Any] | None = None
        if row.report:
            try:
                loaded = json.loads(row.report)
            except ValueError:
                loaded = None
            report = loaded if isinstance(loaded, dict) else None
        return cls(
            id=row.id, campaign_id=row.campaign_id, campaign_name=row.campaign_name, op=Op(row.op),
            origin=Origin(row.origin), due_at=row.due_at, state=State(row.state),
            basis=Basis(state_of(row.basis_state), row.basis_at),
            scheduler=Actor(row.user_id, row.user_name, row.team_id, row.channel_id), zone=row.zone,
            created_at=row.created_at, result=row.result, report=report, finished_at=row.finished_at,
            cancelled_by=row.cancelled_by, cancelled_at=row.cancelled_at, claimed_at=row.claimed_at,
        )


class ScheduledActions:
    """The table, as the schedule service and its runner use it."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def add(self, action: ScheduledAction, request_key: str | None) -> ScheduledAction | None:
        """Insert ``action`` as pending; None when ``request_key`` was used before (the same click twice): then
        :meth:`by_request` finds the action it made."""
        row = ScheduledActionRow(
            id=action.id, campaign_id=action.campaign_id[:64], campaign_name=action.campaign_name[:255],
            op=action.op.value, origin=action.origin.value, due_at=action.due_at, state=State.PENDING.value,
            basis_state=state_digits(action.basis.state), basis_at=action.basis.read_at,
            user_id=action.scheduler.user_id[:32], user_name=action.scheduler.user_name[:128],
            team_id=action.scheduler.team_id, channel_id=action.scheduler.channel_id,
            zone=action.zone[:64] if action.zone else None, created_at=action.created_at,
            request_key=request_key[:64] if request_key else None,
        )
        try:
            async with self._store.session() as session, session.begin():
                session.add(row)
        except IntegrityError:
            if request_key is not None and await self.by_request(request_key) is not None:
                return None
            raise
        return action

    async def by_request(self, request_key: str) -> ScheduledAction | None:
        return await self._one(ScheduledActionRow.request_key == request_key[:64])

    async def get(self, action_id: str) -> ScheduledAction | None:
        return await self._one(ScheduledActionRow.id == action_id)

    async def _one(self, condition: Any) -> ScheduledAction | None:
        async with self._store.session() as session:
            row = (await session.execute(select(ScheduledActionRow).where(condition))).scalars().first()
        return ScheduledAction.of(row) if row is not None else None

    async def pending(self, campaign_id: str | None = None) -> list[ScheduledAction]:
        """Pending actions, soonest first (of one campaign, or all)."""
        statement = select(ScheduledActionRow).where(ScheduledActionRow.state == State.PENDING.value)
        if campaign_id is not None:
            statement = statement.where(ScheduledActionRow.campaign_id == campaign_id)
        statement = statement.order_by(ScheduledActionRow.due_at, ScheduledActionRow.created_at)
        async with self._store.session() as session:
            rows = (await session.execute(statement)).scalars().all()
        return [ScheduledAction.of(row) for row in rows]

    async def due(self, now: datetime, limit: int = 50) -> list[str]:
        """Ids of pending actions due at ``now``, the longest overdue first."""
        statement = select(ScheduledActionRow.id).where(
            ScheduledActionRow.state == State.PENDING.value, ScheduledActionRow.due_at <= now,
        ).order_by(ScheduledActionRow.due_at).limit(limit)
        async with self._store.session() as session:
            return list((await session.execute(statement)).scalars().all())

    async def stalled(self, now: datetime, limit: int = 50) -> list[str]:
        """Ids of actions a runner claimed and never finished within :data:`STALE_AFTER`."""
        statement = select(ScheduledActionRow.id).where(
            ScheduledActionRow.state == State.RUNNING.value, ScheduledActionRow.claimed_at < now - STALE_AFTER,
        ).limit(limit)
        async with self._store.session() as session:
            return list((await session.execute(statement)).scalars().all())

    async def claim(self, action_id: str, holder: str, now: datetime) -> ScheduledAction | None:
        """Take a due pending action to run it; None when another runner took it (or it was cancelled) first."""
        return await self._claim(action_id, holder, now, and_(
            ScheduledActionRow.state == State.PENDING.value, ScheduledActionRow.due_at <= now))

    async def take_over(self, action_id: str, holder: str, now: datetime) -> ScheduledAction | None:
        """Take over an action whose runner went away while running it; None when someone else did first."""
        return await self._claim(action_id, holder, now, and_(
            ScheduledActionRow.state == State.RUNNING.value, ScheduledActionRow.claimed_at < now - STALE_AFTER))

    async def _claim(self, action_id: str, holder: str, now: datetime, condition: Any) -> ScheduledAction | None:
        statement = update(ScheduledActionRow).where(ScheduledActionRow.id == action_id, condition).values(
            state=State.RUNNING.value, holder=holder, claimed_at=now)
        async with self._store.session() as session, session.begin():
            if _rows(await session.execute(statement)) != 1:
                return None
            row = await session.get(ScheduledActionRow, action_id)
        return ScheduledAction.of(row) if row is not None else None

    async def finish(self, action_id: str, holder: str, now: datetime, result: str, report: dict[str, Any]) -> bool:
        """Mark a running action done with its outcome; False when this runner no longer holds it."""
        statement = update(ScheduledActionRow).where(
            ScheduledActionRow.id == action_id, ScheduledActionRow.holder == holder,
            ScheduledActionRow.state == State.RUNNING.value,
        ).values(state=State.DONE.value, finished_at=now, result=result[:32],
                 report=json.dumps(report, ensure_ascii=False, default=str))
        async with self._store.session() as session, session.begin():
            return _rows(await session.execute(statement)) == 1

    async def cancel(self, action_id: str, user_id: str, now: datetime) -> bool:
        """Cancel a pending action; False when it is no longer pending (it ran, runs, or was cancelled)."""
        statement = update(ScheduledActionRow).where(
            ScheduledActionRow.id == action_id, ScheduledActionRow.state == State.PENDING.value,
        ).values(state=State.CANCELLED.value, cancelled_by=user_id[:32], cancelled_at=now)
        async with self._store.session() as session, session.begin():
            return _rows(await session.execute(statement)) == 1

    # Telling the channel --------------------------------------------------------------------------------------

    async def unreported(self, holder: str, now: datetime, limit: int = 20) -> list[ScheduledAction]:
        """Done actions whose outcome the channel has not been told yet, claimed for telling: this runner's own,
        and others' whose runner did not manage it within :data:`STALE_AFTER` (then at most once per that time)."""
        candidates = select(ScheduledActionRow.id).where(
            ScheduledActionRow.state == State.DONE.value, ScheduledActionRow.reported_at.is_(None),
            ScheduledActionRow.report.is_not(None),
            or_(ScheduledActionRow.holder == holder, ScheduledActionRow.claimed_at < now - STALE_AFTER),
        ).order_by(ScheduledActionRow.finished_at).limit(limit)
        taken: list[ScheduledAction] = []
        async with self._store.session() as session:
            ids = list((await session.execute(candidates)).scalars().all())
        for action_id in ids:
            statement = update(ScheduledActionRow).where(
                ScheduledActionRow.id == action_id, ScheduledActionRow.reported_at.is_(None),
                or_(ScheduledActionRow.holder == holder, ScheduledActionRow.claimed_at < now - STALE_AFTER),
            ).values(holder=holder, claimed_at=now)
            async with self._store.session() as session, session.begin():
                if _rows(await session.execute(statement)) != 1:
                    continue
                row = await session.get(ScheduledActionRow, action_id)
            if row is not None:
                taken.append(ScheduledAction.of(row))
        return taken

    async def reported(self, action_id: str, now: datetime) -> None:
        async with self._store.session() as session, session.begin():
            await session.execute(update(ScheduledActionRow).where(ScheduledActionRow.id == action_id)
                                  .values(reported_at=now))


def _rows(result: Any) -> int:
    """How many rows an UPDATE changed (what makes a claim atomic: only one runner ever sees 1)."""
    return int(getattr(result, "rowcount", 0) or 0)
