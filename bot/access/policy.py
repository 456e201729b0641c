"""The access policy: who may do which action, and where.

A policy is a TOML file of ``[[grant]]`` tables (see DESIGN.md). The rules:

- an action that changes data (``resend``, ``campaign.pause`` …) is denied unless a grant covers it;
- ``audit.read`` shows everyone's actions, so it is denied unless granted, like a change;
- the read-only ``campaign.status`` and ``campaign.list`` are open to every member until some grant names
  them *explicitly*; then only their grants allow them. A pattern (``campaign.*``, ``*``) does not close them:
  granting more to some people must not take anything away from everyone else.

A grant matches when the user is listed in ``users`` or is a member of a listed ``usergroups`` entry, and,
when the grant has ``channels``, the request comes from one of them.

``[[approval]]`` tables (the two-person rule, bot/approvals/) name actions that a second person must approve:
``approvers`` and/or ``approver_groups``, optionally ``min_ids`` (``resend`` and ``alerts.resend`` only: from that
many ids up) and ``expires_minutes`` (default 60). They are validated and reloaded with the grants.

This module knows nothing of Slack's SDKs: user group membership arrives through :class:`GroupDirectory`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import stat
import time
import tomllib
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from bot.settings import SettingsError

log = logging.getLogger("commops.access")

ACTIONS: tuple[str, ...] = (
    "resend", "campaign.pause", "campaign.resume", "campaign.stop", "campaign.status", "campaign.list",
    "comm.upsert", "alerts.resend", "audit.read",
)
CHANGES_DATA = frozenset({"resend", "campaign.pause", "campaign.resume", "campaign.stop", "comm.upsert",
                          "alerts.resend"})
OPEN_READS = frozenset({"campaign.status", "campaign.list"})
# What a two-person rule may cover: the actions that reach customers, each carried out through an approval request.
APPROVABLE = ("resend", "alerts.resend", "campaign.pause", "campaign.resume", "campaign.stop")
COUNTED = frozenset({"resend", "alerts.resend"})  # the actions whose requests have a number of ids (min_ids)
DEFAULT_EXPIRES_MINUTES = 60
MAX_EXPIRES_MINUTES = 7 * 24 * 60


class UnknownAction(ValueError):
    """Code names an action this list does not know: every such request would be denied at run time."""


def require_known(actions: Iterable[str]) -> None:
    unknown = sorted(set(actions) - set(ACTIONS))
    if unknown:
        raise UnknownAction(f"the Slack routes name actions the access policy does not know: {', '.join(unknown)} "
                            f"(known: {', '.join(ACTIONS)}); add them to bot/access/policy.py ACTIONS")

GROUP_TTL_SECONDS = 60.0
_FIELDS = ("actions", "users", "usergroups", "channels")
_ID_SHAPES: dict[str, tuple[re.Pattern[str], str]] = {
    "users": (re.compile(r"[UW][A-Z0-9]{2,}"), "a Slack user id (U… or W…, e.g. U012ABCDEF)"),
    "usergroups": (re.compile(r"S[A-Z0-9]{2,}"), "a Slack user group id (S…, e.g. S0614TZR7)"),
    "channels": (re.compile(r"[CGD][A-Z0-9]{2,}"), "a Slack channel id (C…, G… or D…, e.g. C0OPS0001)"),
}


class PolicyError(SettingsError):
    """The policy file is unreadable or wrong; ``str(error)`` is one line naming the file, grant and field."""


def matches(pattern: str, action: str) -> bool:
    """``*`` matches everything, ``campaign.*`` a family, anything else only itself."""
    if pattern == "*" or pattern == action:
        return True
    return pattern.endswith(".*") and action.startswith(pattern[:-1])


# --- the policy ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Grant:
    number: int  # 1-based position in the file, for messages and the audit log
    actions: tuple[str, ...]
    users: frozenset[str] = frozenset()
    usergroups: frozenset[str] = frozenset()
    channels: frozenset[str] | None = None  # None: every channel

    def covers(self, action: str) -> bool:
        return any(matches(pattern, action) for pattern in self.actions)

    def allows_channel(self, channel_id: str | None) -> bool:
        return self.channels is None or channel_id in self.channels


@dataclass(frozen=True)
class ApprovalRule:
    """An ``[[approval]]`` table: these actions need a second person's approval (bot/approvals/)."""

    number: int  # 1-based position among the [[approval]] tables
    actions: tuple[str, ...]
    approvers: frozenset[str] = frozenset()
    approver_groups: frozenset[str] = frozenset()
    min_ids: int | None = None  # resend and alerts.resend only: requests of fewer ids need no approval
    expires_minutes: int = DEFAULT_EXPIRES_MINUTES

    def applies(self, action: str, count: int = 1) -> bool:
        """Whether a request of ``action`` on ``count`` ids needs this rule's approval."""
        if action not in APPROVABLE or not any(matches(pattern, action) for pattern in self.actions):
            return False
        return self.min_ids is None or action not in COUNTED or count >= self.min_ids


@dataclass(frozen=True)
class Policy:
    grants: tuple[Grant, ...]
    source: str  # where it came from, for messages
    approvals: tuple[ApprovalRule, ...] = ()

    def approval_rules(self, action: str, count: int = 1) -> tuple[ApprovalRule, ...]:
        """The rules a request of ``action`` on ``count`` ids falls under (none: it is carried out when asked)."""
        return tuple(rule for rule in self.approvals if rule.applies(action, count))

    @property
    def named(self) -> frozenset[str]:
        """Actions some grant names exactly (what closes an open read)."""
        return frozenset(action for grant in self.grants for action in grant.actions)

    def restricts(self, action: str) -> bool:
        return action not in OPEN_READS or action in self.named


def parse_policy(text: str, source: str) -> Policy:
    """Validate a policy's TOML text; :class:`PolicyError` names the first problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise PolicyError(f"ACCESS_POLICY {source}: not valid TOML: {error}") from None
    unknown = sorted(set(data) - {"grant", "approval"})
    if unknown:
        raise PolicyError(f"ACCESS_POLICY {source}: unknown key {unknown[0]!r}; the file holds only [[grant]] and "
                          f"[[approval]] tables")
    tables, rules = data.get("grant", []), data.get("approval", [])
    for name, found in (("grant", tables), ("approval", rules)):
        if not isinstance(found, list) or not all(isinstance(table, dict) for table in found):
            raise PolicyError(f"ACCESS_POLICY {source}: '{name}' must be written as [[{name}]] tables")
    return Policy(tuple(_grant(table, number, source) for number, table in enumerate(tables, start=1)), source,
                  tuple(_approval(table, number, source) for number, table in enumerate(rules, start=1)))


def _grant(table: Mapping[str, Any], number: int, source: str) -> Grant:
    where = f"ACCESS_POLICY {source}: grant {number}"
    unknown = sorted(set(table) - set(_FIELDS))
    if unknown:
        raise PolicyError(f"{where}: unknown field {unknown[0]!r} (expected {', '.join(_FIELDS)})")
    if "actions" not in table:
        raise PolicyError(f"{where}: field actions is missing: list the actions it grants, e.g. [\"resend\"]")
    actions = _strings(table["actions"], f"{where}, field actions")
    for pattern in actions:
        stray_star = pattern != "*" and "*" in pattern.removesuffix(".*")  # e.g. "camp*" or "*.pause"
        if stray_star or not any(matches(pattern, action) for action in ACTIONS):
            raise PolicyError(f"{where}, field actions: unknown action {pattern!r} "
                              f"(known: {', '.join(ACTIONS)}; patterns such as campaign.* and *)")
    ids = _id_fields(table, where, {"users": "users", "usergroups": "usergroups", "channels": "channels"})
    if not ids.get("users") and not ids.get("usergroups"):
        raise PolicyError(f"{where}: grants to nobody: give users and/or usergroups")
    return Grant(number, tuple(actions), ids.get("users", frozenset()), ids.get("usergroups", frozenset()),
                 ids.get("channels"))


def _id_fields(table: Mapping[str, Any], where: str, shapes: Mapping[str, str]) -> dict[str, frozenset[str]]:
    """The id lists ``table`` has among ``shapes`` (field name -> the kind of Slack id it holds), each id checked."""
    ids: dict[str, frozenset[str]] = {}
    for name, kind in shapes.items():
        if name not in table:
            continue
        values = _strings(table[name], f"{where}, field {name}")
        shape, expected = _ID_SHAPES[kind]
        for value in values:
            if not shape.fullmatch(value):
                raise PolicyError(f"{where}, field {name}: {value!r} is not {expected}")
        ids[name] = frozenset(values)
    return ids


_APPROVAL_FIELDS = ("actions", "approvers", "approver_groups", "min_ids", "expires_minutes")


def _approval(table: Mapping[str, Any], number: int, source: str) -> ApprovalRule:
    where = f"ACCESS_POLICY {source}: approval {number}"
    unknown = sorted(set(table) - set(_APPROVAL_FIELDS))
    if unknown:
        raise PolicyError(f"{where}: unknown field {unknown[0]!r} (expected {', '.join(_APPROVAL_FIELDS)})")
    if "actions" not in table:
        raise PolicyError(f"{where}: field actions is missing: list the actions that need approval, e.g. "
                          f"[\"campaign.stop\"]")
    actions = _strings(table["actions"], f"{where}, field actions")
    for pattern in actions:
        stray_star = pattern != "*" and "*" in pattern.removesuffix(".*")
        covered = [action for action in ACTIONS if matches(pattern, action)]
        if stray_star or not covered:
            raise PolicyError(f"{where}, field actions: unknown action {pattern!r} (known: {', '.join(ACTIONS)})")
        if not any(action in APPROVABLE for action in covered):
            raise PolicyError(f"{where}, field actions: {pattern!r} cannot require approval (only "
                              f"{', '.join(APPROVABLE)} can)")
    ids = _id_fields(table, where, {"approvers": "users", "approver_groups": "usergroups"})
    if not ids.get("approvers") and not ids.get("approver_groups"):
        raise PolicyError(f"{where}: nobody may approve: give approvers and/or approver_groups")
    min_ids = table.get("min_ids")
    if min_ids is not None:
        if isinstance(min_ids, bool) or not isinstance(min_ids, int) or not 1 <= min_ids <= 1000:
            raise PolicyError(f"{where}, field min_ids: expected a whole number from 1 to 1000, got {min_ids!r}")
        if any(action not in COUNTED for action in actions):
            raise PolicyError(f"{where}, field min_ids: only for {' and '.join(sorted(COUNTED))}; put other "
                              f"actions in an [[approval]] table of their own")
    expires = table.get("expires_minutes", DEFAULT_EXPIRES_MINUTES)
    if isinstance(expires, bool) or not isinstance(expires, int) or not 1 <= expires <= MAX_EXPIRES_MINUTES:
        raise PolicyError(f"{where}, field expires_minutes: expected a whole number of minutes from 1 to "
                          f"{MAX_EXPIRES_MINUTES}, got {expires!r}")
    return ApprovalRule(number, tuple(actions), ids.get("approvers", frozenset()),
                        ids.get("approver_groups", frozenset()), min_ids, expires)


def _strings(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(item, str) for item in value):
        raise PolicyError(f"{where}: expected a non-empty list of strings, got {value!r}")
    return list(value)


MAX_POLICY_BYTES = 1 << 20  # a policy is a few kilobytes; more is a mistake (or a device file)


def _read_policy_file(path: Path) -> str:
    """The file's text, once it is known to be a regular file of sane size that only its owner can change.

    Opened without blocking and checked on the open descriptor, so a FIFO or device put at the path (even
    between a check and the read) is refused instead of freezing the bot.
    """
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise PolicyError(f"ACCESS_POLICY {path}: not a regular file")
        if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            raise PolicyError(f"ACCESS_POLICY {path}: writable by group or others (mode "
                              f"{stat.S_IMODE(info.st_mode):o}), so anyone could grant themselves anything; "
                              f"run chmod go-w {path}")
        if info.st_size > MAX_POLICY_BYTES:
            raise PolicyError(f"ACCESS_POLICY {path}: {info.st_size} bytes, more than a policy can be "
                              f"({MAX_POLICY_BYTES})")
        with os.fdopen(descriptor, "rb", closefd=False) as stream:
            data = stream.read(MAX_POLICY_BYTES + 1)
    finally:
        os.close(descriptor)
    return data.decode("utf-8")


def load_policy(path: Path) -> Policy:
    """Read and validate the policy file; blocking, so the running bot calls it off the event loop."""
    try:
        text = _read_policy_file(path)
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        raise PolicyError(f"ACCESS_POLICY {path}: cannot read the file ({reason})") from None
    return parse_policy(text, str(path))


class PolicySource:
    """The policy file, re-read when it changes (looked at on use, at most every ``recheck_seconds``).

    A new version that does not validate is logged once and ignored: the last good policy stays in force, so a
    typo while editing cannot lock everybody out or open everything up.
    """

    def __init__(self, path: Path, *, recheck_seconds: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.path = path
        self._recheck = recheck_seconds
        self._clock = clock
        self._signature = self._stat()
        self._policy = load_policy(path)  # at start a bad file is fatal: PolicyError, exit status 2
        self._checked = clock()

    def _stat(self) -> tuple[int, int, int] | None:
        # Size and inode as well as mtime: two saves within the file system's mtime granularity, or an editor
        # that replaces the file, still count as a change.
        try:
            info = self.path.stat()
        except OSError:
            return None
        return info.st_mtime_ns, info.st_size, info.st_ino

    async def current(self) -> Policy:
        """The policy in force; the file is looked at (off the event loop) at most every ``recheck_seconds``."""
        now = self._clock()
        if now - self._checked < self._recheck:
            return self._policy
        self._checked = now
        signature = await asyncio.to_thread(self._stat)
        if signature == self._signature:
            return self._policy
        self._signature = signature  # remembered even when bad, so the error is logged once per version
        try:
            policy = await asyncio.to_thread(load_policy, self.path)
        except PolicyError as error:
            log.error("%s; keeping the access policy loaded before", error)
            return self._policy
        self._policy = policy
        log.info("access policy reloaded from %s: %d grants, %d approval rules", self.path, len(policy.grants),
                 len(policy.approvals))
        return policy


# --- user groups --------------------------------------------------------------------------------------------------


class GroupDirectory(Protocol):
    """Who is in a user group (in Slack: ``usergroups.users.list``)."""

    async def members(self, usergroup_id: str) -> Collection[str]: ...


LOOKUP_SECONDS = 1.5


class GroupCache:
    """Group memberships kept for ``ttl`` seconds; one lookup per group at a time.

    A failed lookup counts as "no members" and is not cached: access fails closed and the next request retries.
    """

    def __init__(self, directory: GroupDirectory, *, ttl: float = GROUP_TTL_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._directory = directory
        self._ttl = ttl
        self._clock = clock
        self._cache: dict[str, tuple[float, frozenset[str]]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def members(self, usergroup_id: str) -> frozenset[str]:
        async with self._locks.setdefault(usergroup_id, asyncio.Lock()):
            cached = self._cache.get(usergroup_id)
            if cached is not None and self._clock() - cached[0] < self._ttl:
                return cached[1]
            try:
                # The check runs before Slack's 3 s ack: a slow directory must not hold every request up.
                found = frozenset(await asyncio.wait_for(self._directory.members(usergroup_id), LOOKUP_SECONDS))
            except Exception as error:  # any failure: deny by group, say why in the log, never crash the check
                if cached is not None:  # a recent answer beats "no members" when Slack is slow for a moment
                    log.warning("could not refresh user group %s (%s): using the membership read %.0f s ago",
                                usergroup_id, _describe(error), self._clock() - cached[0])
                    return cached[1]
                log.warning("could not read the members of user group %s (%s): its grants do not apply now",
                            usergroup_id, _describe(error))
                return frozenset()
            self._cache[usergroup_id] = (self._clock(), found)
            return found

    async def is_member(self, user_id: str, usergroup_ids: Iterable[str]) -> bool:
        for usergroup_id in sorted(usergroup_ids):
            if user_id in await self.members(usergroup_id):
                return True
        return False


def _describe(error: Exception) -> str:
    # The Slack SDK's API error carries Slack's error code in .response["error"]; no SDK import needed here.
    get = getattr(getattr(error, "response", None), "get", None)
    code = get("error") if callable(get) else None
    return str(code) if code else type(error).__name__


# --- decisions ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    """``reason``: granted, local, open (allowed); not_granted, wrong_channel, no_policy, unknown (denied)."""

    action: str
    allowed: bool
    reason: str
    grant: int | None = None
    channels: frozenset[str] = field(default_factory=frozenset)  # where a wrong_channel user may do it

    @property
    def detail(self) -> str:
        """One short phrase for logs and the audit log."""
        if self.reason == "granted":
            return f"granted by grant {self.grant}"
        if self.reason == "wrong_channel":
            return "granted only in " + ", ".join(sorted(self.channels))
        return {
            "local": "the local shell user may do everything",
            "open": "read-only, open to every member",
            "not_granted": "no grant covers this user",
            "no_policy": "no ACCESS_POLICY is configured",
            "unknown": "not an action commops knows",
        }.get(self.reason, self.reason)


class AccessControl:
    """Decides requests against the policy in force.

    ``source`` None means no ACCESS_POLICY: then only open reads are allowed, except that ``local_user`` (the
    ``commops shell`` user) may do everything.
    """

    def __init__(self, source: PolicySource | None, *, local_user: str | None = None,
                 groups: GroupCache | None = None) -> None:
        self.source = source
        self._local_user = local_user
        self._groups = groups

    def use_directory(self, directory: GroupDirectory) -> None:
        self._groups = GroupCache(directory)

    async def decide(self, action: str, user_id: str, channel_id: str | None) -> Decision:
        if action not in ACTIONS:
            return Decision(action, False, "unknown")
        if self.source is None:
            if self._local_user is not None and user_id == self._local_user:
                return Decision(action, True, "local")
            if action in OPEN_READS:
                return Decision(action, True, "open")
            return Decision(action, False, "no_policy")
        policy = await self.source.current()
        if not policy.restricts(action):
            return Decision(action, True, "open")
        elsewhere: set[str] = set()
        for grant in policy.grants:
            if not grant.covers(action) or not await self._holds(grant, user_id):
                continue
            if grant.allows_channel(channel_id):
                return Decision(action, True, "granted", grant.number)
            elsewhere.update(grant.channels or ())
        if elsewhere:
            return Decision(action, False, "wrong_channel", channels=frozenset(elsewhere))
        return Decision(action, False, "not_granted")

    async def held(self, user_id: str) -> list[tuple[Grant, str]] | None:
        """The grants ``user_id`` holds, each with how: ``"user"`` (named) or the id of a user group they are in.
        None when no ACCESS_POLICY is configured."""
        if self.source is None:
            return None
        policy = await self.source.current()
        found: list[tuple[Grant, str]] = []
        for grant in policy.grants:
            if user_id in grant.users:
                found.append((grant, "user"))
                continue
            for usergroup_id in sorted(grant.usergroups):
                if self._groups is not None and user_id in await self._groups.members(usergroup_id):
                    found.append((grant, usergroup_id))
                    break
        return found

    async def approval_rules(self, action: str, count: int = 1) -> tuple[ApprovalRule, ...]:
        """The two-person rules a request of ``action`` on ``count`` ids falls under in the policy in force."""
        if self.source is None:
            return ()
        return (await self.source.current()).approval_rules(action, count)

    async def approval_threshold(self, action: str) -> int | None:
        """When ``action`` waits for a second person's approval: None never, 0 always, else from that many ids."""
        rules = await self.approval_rules(action, 10**6)  # whatever their min_ids
        if not rules:
            return None
        return 0 if any(rule.min_ids is None for rule in rules) else min(rule.min_ids or 0 for rule in rules)

    async def in_any_group(self, user_id: str, usergroup_ids: Iterable[str]) -> bool:
        """Whether ``user_id`` is in one of the user groups (False without a directory: fail closed)."""
        wanted = list(usergroup_ids)
        if not wanted or self._groups is None:
            return False
        return await self._groups.is_member(user_id, wanted)

    async def _holds(self, grant: Grant, user_id: str) -> bool:
        if user_id in grant.users:
            return True
        if not grant.usergroups:
            return False
        if self._groups is None:
            log.warning("grant %d names user groups, but no group directory is attached", grant.number)
            return False
        return await self._groups.is_member(user_id, grant.usergroups)


def build_access(path: Path | None, *, local_user: str | None = None) -> AccessControl:
    """The access control for the settings' ACCESS_POLICY; raises :class:`PolicyError` for a bad file."""
    return AccessControl(PolicySource(path) if path is not None else None, local_user=local_user)
