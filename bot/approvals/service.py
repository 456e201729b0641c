"""Asking for approval, deciding once, and carrying out what was approved.

A handler that is about to carry out an action asks :meth:`ApprovalService.ask` first: when the policy has an
``[[approval]]`` for it, a request is stored (and written to the audit log) and the handler posts it instead of
acting. When an approver decides, :meth:`ApprovalService.decide` checks the person (a listed approver who is not the
requester), claims the request in one statement (so two approvers or two replicas never both run it), and on
approval carries it out through the executor the action's family registered: the same service call the direct path
makes, as the requester (their grant is checked again at that moment), with the request's attempt id. The request,
the decision and the execution are three audit rows linked by that attempt id; the execution's row names both people.
"""

from __future__ import annotations

import enum
import logging
import uuid
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from bot.access.policy import AccessControl, ApprovalRule
from bot.actor import Actor
from bot.approvals.requests import ApprovalRequest, ApprovalRequests, State
from bot.audit.log import AuditLog, AuditOutcome
from bot.store.engine import Store

log = logging.getLogger("commops.approvals")

__all__ = ["ApprovalRequest", "ApprovalService", "Decided", "Executed", "Executor", "State", "Verdict"]

ALL_IDS = 10**6  # "any number of ids": which rules cover an action at all, whatever their min_ids


@dataclass(frozen=True)
class Executed:
    """What carrying out an approved request did: ``summary`` one plain line (audit, store), ``lines`` mrkdwn for
    the request message."""

    ok: bool
    summary: str
    lines: tuple[str, ...] = ()
    blocks: tuple[dict[str, Any], ...] = ()  # the family's own rendering of the outcome (e.g. with an Undo button)


Executor = Callable[[ApprovalRequest], Awaitable[Executed]]


class Verdict(enum.StrEnum):
    APPROVED = "approved"  # and carried out: see ``executed``
    REJECTED = "rejected"
    EXPIRED = "expired"  # too late: nothing done
    DECIDED = "decided"  # someone decided it first: nothing done by this click
    UNKNOWN = "unknown"  # no such request (a forged or mangled button)
    REQUESTER = "requester"  # the requester may not decide their own request
    NOT_APPROVER = "not_approver"


@dataclass(frozen=True)
class Decided:
    verdict: Verdict
    request: ApprovalRequest | None = None
    executed: Executed | None = None


@dataclass(frozen=True)
class Approvers:
    users: frozenset[str]
    groups: frozenset[str]
    expires_minutes: int


def approvers_of(rules: Sequence[ApprovalRule]) -> Approvers:
    return Approvers(frozenset().union(*(rule.approvers for rule in rules)),
                     frozenset().union(*(rule.approver_groups for rule in rules)),
                     min(rule.expires_minutes for rule in rules))


class ApprovalService:
    def __init__(self, store: Store, access: AccessControl, audit: AuditLog, *,
                 clock: Callable[[], datetime]) -> None:
        self.requests = ApprovalRequests(store)
        self._access = access
        self._audit = audit
        self._clock = clock
        self._executors: dict[str, Executor] = {}

    def register(self, action: str, executor: Executor) -> None:
        """How an approved ``action`` is carried out (each family registers its own, once)."""
        self._executors[action] = executor

    async def needed(self, action: str, count: int = 1) -> Approvers | None:
        """Who must approve a request of ``action`` on ``count`` ids; None when it needs no approval."""
        rules = await self._access.approval_rules(action, count)
        return approvers_of(rules) if rules else None

    async def ask(self, action: str, params: Mapping[str, Any], description: Sequence[str], actor: Actor, *,
                  attempt_id: str, count: int = 1, audit: Mapping[str, Any] | None = None) -> ApprovalRequest | None:
        """Store a request when ``action`` needs approval (and write it to the audit log); None when it does not,
        and the caller carries it out now. ``audit``: ids for the audit row (campaign_id, communication_id)."""
        approvers = await self.needed(action, count)
        if approvers is None:
            return None
        now = self._clock()
        request = ApprovalRequest(
            id=uuid.uuid4().hex, action=action, params=dict(params), description=tuple(description),
            approvers=approvers.users, approver_groups=approvers.groups, requester=actor, state=State.PENDING,
            created_at=now, expires_at=now + timedelta(minutes=approvers.expires_minutes), attempt_id=attempt_id,
        )
        await self.requests.add(request)
        await self._audit.record("approval.request", AuditOutcome.OK, actor, attempt_id=attempt_id, arguments={
            "request": request.id, "action": action, "params": dict(params),
            "approvers": sorted(approvers.users), "approver_groups": sorted(approvers.groups),
            "expires_at": request.expires_at.isoformat(timespec="seconds")}, **dict(audit or {}))
        log.info("%s by %s waits for approval (request %s)", action, actor.user_id, request.id)
        return request

    async def posted(self, request: ApprovalRequest, ts: str) -> None:
        await self.requests.posted(request.id, ts)

    async def withdraw(self, request: ApprovalRequest, why: str) -> None:
        """The request could not be posted where an approver would see it: it ends now (no approver is left waiting
        on it, nothing can approve it later), and the audit log says why, under the request's attempt id."""
        if await self.requests.withdraw(request.id, self._clock()):
            await self._audit.record("approval.withdrawn", AuditOutcome.ERROR, request.requester, error=why,
                                     attempt_id=request.attempt_id,
                                     arguments={"request": request.id, "action": request.action})

    async def approvers_now(self, request: ApprovalRequest) -> ApprovalRequest:
        """The request with the approvers who may decide it now: those of the rules in force for its action when
        there are any (a lead removed from the policy can no longer approve), else those it was asked under."""
        rules = await self._access.approval_rules(request.action, ALL_IDS)
        if not rules:
            return request
        now = approvers_of(rules)
        return replace(request, approvers=now.users, approver_groups=now.groups)

    async def may_decide(self, request: ApprovalRequest, user_id: str) -> bool:
        """Whether ``user_id`` is an approver of the request now (:meth:`approvers_now`)."""
        current = await self.approvers_now(request)
        return user_id in current.approvers or await self._access.in_any_group(user_id, current.approver_groups)

    async def decide(self, request_id: str, person: Actor, *, approve: bool) -> Decided:
        """Approve (and carry out) or reject the request, once; every refusal is audited."""
        request = await self.requests.get(request_id)
        if request is None:
            await self._refused("unknown_request", "no such approval request", person, {"request": request_id}, None)
            return Decided(Verdict.UNKNOWN)
        arguments = {"request": request.id, "action": request.action, "requested_by": request.requester.user_id}
        now = self._clock()
        if request.state is not State.PENDING or request.expires_at <= now:  # too late, whoever clicks: say so
            return await self._too_late(request, person, arguments, now)
        if person.user_id == request.requester.user_id:
            await self._refused("requester", "the requester may not decide their own request", person, arguments,
                                request.attempt_id)
            return Decided(Verdict.REQUESTER, request)
        if not await self.may_decide(request, person.user_id):
            await self._refused("not_approver", "not an approver of this action", person, arguments,
                                request.attempt_id)
            return Decided(Verdict.NOT_APPROVER, await self.approvers_now(request))  # names who may, now
        now = self._clock()
        wanted = State.APPROVED if approve else State.REJECTED
        if not await self.requests.decide(request.id, wanted, person, now):
            return await self._too_late(request, person, arguments, now)
        decided = replace(request, state=wanted, decided_at=now, decided_by=person.user_id,
                          decided_by_name=person.user_name)
        await self._audit.record(f"approval.{'approve' if approve else 'reject'}", AuditOutcome.OK, person,
                                 arguments=arguments, attempt_id=request.attempt_id)
        if not approve:
            return Decided(Verdict.REJECTED, decided)
        executed = await self._execute(decided, person)
        finished = self._clock()
        await self.requests.executed(request.id, finished, executed.summary)
        await self._audit.record(
            "approval.executed", AuditOutcome.OK if executed.ok else AuditOutcome.INVALID, person,
            arguments={**arguments, "approved_by": person.user_id, "result": executed.summary},
            attempt_id=request.attempt_id)
        return Decided(Verdict.APPROVED, replace(decided, state=State.EXECUTED, executed_at=finished,
                                                 outcome=executed.summary), executed)

    async def _too_late(self, request: ApprovalRequest, person: Actor, arguments: Mapping[str, Any],
                        now: datetime) -> Decided:
        """The request was decided already, or is past its time (then marked expired): nothing is done; audited."""
        await self.requests.expire(request.id, now)
        current = await self.requests.get(request.id) or request
        expired = current.state is State.EXPIRED
        await self._refused("expired" if expired else "decided",
                            "the request had expired" if expired else f"the request was {current.state.value} "
                            f"already, by {current.decided_by or 'someone'}", person, arguments, request.attempt_id)
        return Decided(Verdict.EXPIRED if expired else Verdict.DECIDED, current)

    async def _execute(self, request: ApprovalRequest, approver: Actor) -> Executed:
        requester = request.requester
        allowed = await self._access.decide(request.action, requester.user_id, requester.channel_id)
        if not allowed.allowed:
            return Executed(False, f"not carried out: {requester.user_id} may no longer do {request.action} "
                                   f"({allowed.detail})")
        executor = self._executors.get(request.action)
        if executor is None:
            return Executed(False, f"not carried out: this bot cannot carry out {request.action} now")
        try:
            return await executor(request)
        except Exception as error:
            log.exception("carrying out approved request %s (%s) failed", request.id, request.action)
            return Executed(False, f"failed on our side ({type(error).__name__}); check before asking again")

    async def _refused(self, code: str, why: str, person: Actor, arguments: Mapping[str, Any],
                       attempt_id: str | None) -> None:
        await self._audit.record_denial("approval.decide", person, arguments=arguments, error_code=code, error=why,
                                        attempt_id=attempt_id)

    async def pending_for(self, approver_user_id: str, groups: Collection[str] = ()) -> list[ApprovalRequest]:
        """Requests waiting for a decision that ``approver_user_id`` (a member of ``groups``) may give, oldest
        first: what App Home lists as "approvals waiting for you"."""
        waiting = []
        for request in await self.requests.pending(self._clock()):
            current = await self.approvers_now(request)  # as the Approve button will judge the click
            if request.requester.user_id != approver_user_id and (
                    approver_user_id in current.approvers or current.approver_groups & set(groups)):
                waiting.append(request)
        return waiting

    async def expire_due(self, now: datetime, limit: int) -> list[ApprovalRequest]:
        """Expire up to ``limit`` pending requests past their time, each audited under its attempt id; those this
        call expired (a click or another replica may have taken some first)."""
        expired: list[ApprovalRequest] = []
        for request in await self.requests.due_to_expire(now, limit):
            if not await self.requests.expire(request.id, now):
                continue
            await self._audit.record("approval.expired", AuditOutcome.OK, request.requester,
                                     attempt_id=request.attempt_id,
                                     arguments={"request": request.id, "action": request.action})
            expired.append(replace(request, state=State.EXPIRED))
        return expired

    async def expired_now(self, request: ApprovalRequest) -> bool:
        """Whether a pending request is past its time (then marked so)."""
        return await self.requests.expire(request.id, self._clock())
