"""Approval requests in the store (``approval_requests``), and the one statement that decides each once.

A request is ``pending`` from when it is asked until a decision: ``UPDATE … SET state = 'approved' | 'rejected' WHERE
id = :id AND state = 'pending' AND expires_at > :now``. Of any number of approvers (or replicas) deciding at once,
exactly one sees a row count of 1; the others find it decided. An approved request becomes ``executed`` once it was
carried out (its outcome in words); a pending one past its time becomes ``expired`` when someone looks at it.

Rows never leave this module: callers get :class:`ApprovalRequest`.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from bot.actor import Actor
from bot.store.engine import Store
from bot.store.tables import ApprovalRequestRow


class State(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"
    EXECUTED = "executed"


@dataclass(frozen=True)
class ApprovalRequest:
    id: str
    action: str
    params: dict[str, Any]  # exactly what will be done (what the action's executor reads)
    description: tuple[str, ...]  # what will happen, in lines of mrkdwn as the request showed it
    approvers: frozenset[str]  # who could approve when it was asked
    approver_groups: frozenset[str]
    requester: Actor  # who asked: the action runs as theirs, under their grant
    state: State
    created_at: datetime
    expires_at: datetime
    attempt_id: str  # the request, its decision and its execution share it in the audit log
    message_ts: str | None = None
    decided_at: datetime | None = None
    decided_by: str | None = None
    decided_by_name: str | None = None
    executed_at: datetime | None = None
    outcome: str | None = None

    @classmethod
    def of(cls, row: ApprovalRequestRow) -> ApprovalRequest:
        approvers = _object(row.approvers)
        lines = _load(row.description)
        return cls(
            id=row.id, action=row.action, params=_object(row.params),
            description=tuple(str(line) for line in lines) if isinstance(lines, list) else (),
            approvers=frozenset(str(user) for user in approvers.get("users") or ()),
            approver_groups=frozenset(str(group) for group in approvers.get("groups") or ()),
            requester=Actor(row.requester_id, row.requester_name, row.team_id, row.channel_id),
            state=State(row.state), created_at=row.created_at, expires_at=row.expires_at,
            attempt_id=row.attempt_id, message_ts=row.message_ts, decided_at=row.decided_at,
            decided_by=row.decided_by, decided_by_name=row.decided_by_name, executed_at=row.executed_at,
            outcome=row.outcome,
        )


def _load(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _object(text: str) -> dict[str, Any]:
    loaded = _load(text)
    return loaded if isinstance(loaded, dict) else {}


class ApprovalRequests:
    """The table, as the approval service uses it."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def add(self, request: ApprovalRequest) -> None:
        row = ApprovalRequestRow(
            id=request.id, action=request.action[:64],
            params=json.dumps(request.params, ensure_ascii=False, sort_keys=True),
            description=json.dumps(list(request.description), ensure_ascii=False),
            approvers=json.dumps({"users": sorted(request.approvers), "groups": sorted(request.approver_groups)}),
            requester_id=request.requester.user_id[:32], requester_name=request.requester.user_name[:128],
            team_id=request.requester.team_id, channel_id=request.requester.channel_id, state=State.PENDING.value,
            created_at=request.created_at, expires_at=request.expires_at, attempt_id=request.attempt_id,
        )
        async with self._store.session() as session, session.begin():
            session.add(row)

    async def get(self, request_id: str) -> ApprovalRequest | None:
        async with self._store.session() as session:
            row = await session.get(ApprovalRequestRow, request_id)
        return ApprovalRequest.of(row) if row is not None else None

    async def posted(self, request_id: str, ts: str) -> None:
        """Remember the request message (where its decision is shown)."""
        async with self._store.session() as session, session.begin():
            await session.execute(update(ApprovalRequestRow).where(ApprovalRequestRow.id == request_id)
                                  .values(message_ts=ts[:32]))

    async def decide(self, request_id: str, state: State, by: Actor, now: datetime) -> bool:
        """Approve or reject a pending request that has not expired; False when it was not (any more) pending, or
        expired: only one decision ever wins."""
        statement = update(ApprovalRequestRow).where(
            ApprovalRequestRow.id == request_id, ApprovalRequestRow.state == State.PENDING.value,
            ApprovalRequestRow.expires_at > now,
        ).values(state=state.value, decided_at=now, decided_by=by.user_id[:32], decided_by_name=by.user_name[:128])
        return await self._changed(statement)

    async def expire(self, request_id: str, now: datetime) -> bool:
        """Mark a pending request past its time expired; False when it was not pending or not yet due."""
        statement = update(ApprovalRequestRow).where(
            ApprovalRequestRow.id == request_id, ApprovalRequestRow.state == State.PENDING.value,
            ApprovalRequestRow.expires_at <= now,
        ).values(state=State.EXPIRED.value)
        return await self._changed(statement)

    async def due_to_expire(self, now: datetime, limit: int) -> list[ApprovalRequest]:
        """Pending requests whose time to be decided has ended, oldest first."""
        statement = select(ApprovalRequestRow).where(
            ApprovalRequestRow.state == State.PENDING.value, ApprovalRequestRow.expires_at <= now,
        ).order_by(ApprovalRequestRow.expires_at).limit(limit)
        async with self._store.session() as session:
            rows = (await session.execute(statement)).scalars().all()
        return [ApprovalRequest.of(row) for row in rows]

    async def withdraw(self, request_id: str, now: datetime) -> bool:
        """End a pending request at once (it could not be shown to anyone): expired now, so no click can approve
        it; False when it was not pending."""
        statement = update(ApprovalRequestRow).where(
            ApprovalRequestRow.id == request_id, ApprovalRequestRow.state == State.PENDING.value,
        ).values(state=State.EXPIRED.value, expires_at=now)
        return await self._changed(statement)

    async def executed(self, request_id: str, now: datetime, outcome: str) -> bool:
        statement = update(ApprovalRequestRow).where(
            ApprovalRequestRow.id == request_id, ApprovalRequestRow.state == State.APPROVED.value,
        ).values(state=State.EXECUTED.value, executed_at=now, outcome=outcome[:4000])
        return await self._changed(statement)

    async def pending(self, now: datetime, limit: int = 200) -> list[ApprovalRequest]:
        """Requests still waiting for a decision (not expired), oldest first."""
        statement = select(ApprovalRequestRow).where(
            ApprovalRequestRow.state == State.PENDING.value, ApprovalRequestRow.expires_at > now,
        ).order_by(ApprovalRequestRow.created_at).limit(limit)
        async with self._store.session() as session:
            rows = (await session.execute(statement)).scalars().all()
        return [ApprovalRequest.of(row) for row in rows]

    async def _changed(self, statement: Any) -> bool:
        async with self._store.session() as session, session.begin():
            result = await session.execute(statement)
        return int(getattr(result, "rowcount", 0) or 0) == 1
