"""What a person may do, and why: the access policy explained for one user in one place (help texts, the Home tab).

Slack-free: channels are named by a function the caller gives (Slack renders ``<#C…>``; the shell prints ids).
The answers come from the same :meth:`AccessControl.decide` every request goes through, so an explanation can never
promise what the check would then refuse.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from bot.access.policy import ACTIONS, AccessControl

# What each action lets a person do, in words, with the way in.
PURPOSE: dict[str, str] = {
    "resend": "resend undelivered messages (`/resend`, the *Resend from message* shortcut)",
    "campaign.pause": "pause a Comm SMS campaign, now or later (`/campaign pause`)",
    "campaign.resume": "resume a paused campaign, now or later (`/campaign resume`)",
    "campaign.stop": "stop a campaign's send (the Stop button of `/campaign status`)",
    "campaign.status": "see a campaign's settings and progress (`/campaign status`)",
    "campaign.list": "list the team's campaigns and what is scheduled (`/campaign list`, `/campaign scheduled`)",
    "comm.upsert": "create or edit a loyalty target's communications (`/comm upsert`)",
    "alerts.resend": "resend from an undelivered-message alert (its Resend buttons)",
    "audit.read": "read everyone's actions in the audit log (`/comm audit`; without it, only your own)",
}


@dataclass(frozen=True)
class Standing:
    """One action for one user, here. ``reason`` is :class:`bot.access.policy.Decision`'s; ``via`` says how each
    grant covering it reaches the user (``"user"``: named, else a user group id); ``channels`` where those grants
    allow it (None: anywhere)."""

    action: str
    allowed: bool
    reason: str
    grants: tuple[int, ...] = ()
    via: tuple[str, ...] = ()
    channels: frozenset[str] | None = None

    @property
    def purpose(self) -> str:
        return PURPOSE.get(self.action, self.action)


async def explain(access: AccessControl, user_id: str, channel_id: str | None,
                  actions: Iterable[str] = ACTIONS) -> list[Standing]:
    """Each of ``actions`` for ``user_id`` in ``channel_id`` (None: outside every channel, as the Home tab)."""
    held = await access.held(user_id) or []
    standings: list[Standing] = []
    for action in actions:
        decision = await access.decide(action, user_id, channel_id)
        covering = [(grant, via) for grant, via in held if grant.covers(action)]
        channels: frozenset[str] | None = None
        if covering and all(grant.channels is not None for grant, _ in covering):
            channels = frozenset(channel for grant, _ in covering for channel in grant.channels or ())
        standings.append(Standing(action, decision.allowed, decision.reason,
                                  tuple(grant.number for grant, _ in covering),
                                  tuple(dict.fromkeys(via for _, via in covering)), channels))
    return standings


def _names(items: Iterable[str], name: Callable[[str], str]) -> str:
    return ", ".join(name(item) for item in sorted(items))


def why(standing: Standing, channel: Callable[[str], str] = str, group: Callable[[str], str] = str) -> str:
    """Why the user may or may not, in one phrase (mrkdwn-safe when ``channel`` and ``group`` are)."""
    where = f" (only in {_names(standing.channels, channel)})" if standing.channels is not None else ""
    if standing.reason == "local":
        return "you are the local shell user, who may do everything while no ACCESS_POLICY is set"
    if standing.reason == "open":
        return "read-only, open to every member"
    if standing.reason == "granted" or (standing.reason == "wrong_channel" and standing.grants):
        numbers = ", ".join(str(number) for number in standing.grants)
        noun = "grant" if len(standing.grants) == 1 else "grants"
        who = ["names you" if via == "user" else f"includes your user group {group(via)}" for via in standing.via]
        because = f"{noun} {numbers} of the access policy " + " and ".join(who or ["covers you"])
        if standing.reason == "wrong_channel":
            return f"{because}, but only in {_names(standing.channels or (), channel)}, not here"
        return because + where
    if standing.reason == "no_policy":
        return "no ACCESS_POLICY is configured, and without one nothing that changes data is allowed"
    if standing.reason == "wrong_channel":
        return "granted to you only in other channels, not here"
    return "no grant of the access policy covers you"


def how_to_get(action: str) -> str:
    """What to ask for."""
    return (f"ask an admin to add you (or a user group you are in) to a grant for `{action}` in the access policy "
            "(ACCESS_POLICY)")
