"""The Home tab's sections, each built on its own from bot/home's sources: what you may do, scheduled actions, paused
campaigns, the latest alert run, your last actions (and, for auditors, everyone's).

A section is a :class:`HomeSection` in :data:`SECTIONS`; adding one (approvals waiting for you, say) is one entry
there. A section that does not concern the person returns None and is left out; one whose source fails shows what
went wrong in its own place while the others render. The whole tab stays within Slack's 100 blocks: each section has
a block budget, long lists are cut with "and N more", and :func:`compose` trims whatever would still overflow.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.access.explain import Standing, how_to_get
from bot.approvals.requests import ApprovalRequest
from bot.audit.log import AuditEntry
from bot.home.sources import HomeSources, NotConfigured
from bot.vendors.errors import VendorError
from handlers.ui.approval import decision_buttons
from handlers.ui.formatting import (
    Block,
    channel_link,
    code,
    context,
    escape,
    fit,
    grouped_sections,
    mention,
    section,
    slack_date,
)
from handlers.ui.help import reason

log = logging.getLogger("commops.handlers.home")

MAX_BLOCKS = 100  # Slack's limit for a Home tab
LISTED = 10  # items a list shows before "and N more"
REFRESH = "home.refresh"
_OUTCOME_ICONS = {"ok": ":white_check_mark:", "denied": ":no_entry:", "invalid": ":warning:",
                  "duplicate": ":repeat:", "busy": ":hourglass:", "vendor_error": ":x:", "error": ":boom:"}


@dataclass
class HomeContext:
    """Who the tab is for, when it is drawn, what they may do (judged once), and where the data comes from."""

    user_id: str
    now: datetime
    sources: HomeSources
    standings: dict[str, Standing] = field(default_factory=dict)

    def may(self, *actions: str) -> bool:
        return any(self.standings[a].allowed for a in actions if a in self.standings)


Build = Callable[[HomeContext], Awaitable[list[Block] | None]]


@dataclass(frozen=True)
class HomeSection:
    title: str
    build: Build  # None: the section does not concern this person
    max_blocks: int = 8


# --- the sections ---------------------------------------------------------------------------------------------------


async def what_you_may_do(ctx: HomeContext) -> list[Block]:
    allowed = [s for s in ctx.standings.values() if s.allowed]
    denied = [s for s in ctx.standings.values() if not s.allowed]
    reasons = {reason(s) for s in allowed}
    shared = reasons.pop() if len(allowed) > 1 and len(reasons) == 1 else None  # said once, not on every line
    lines = [f":white_check_mark: `{s.action}`: {s.purpose}" + ("" if shared else f" _({reason(s)})_")
             + await _approval_note(ctx, s.action) for s in allowed]
    lines += [f":lock: `{s.action}`: {s.purpose}. _Not for you: {reason(s)}._" for s in denied]
    blocks = ([context(f"All of these: {shared}.")] if shared else []) + grouped_sections(lines, "home-access")
    if denied:
        first = denied[0].action
        blocks.append(context(f"To get one of them, {how_to_get(first)} (or that action). `/resend help`, "
                              "`/campaign help` and `/comm help` show what you may use in each channel."))
    return blocks


async def _approval_note(ctx: HomeContext, action: str) -> str:
    """What a two-person rule on ``action`` means for the person: it waits for a second person's approval."""
    least = await ctx.sources.approval_from(action)
    if least is None:
        return ""
    return f". :raised_hand: Waits for a second person's approval{f' from {least} ids up' if least else ''}"


def _more(count: int, where: str) -> list[Block]:
    return [context(f"… and {count} more: {where}")] if count > 0 else []


DECIDABLE_HERE = 3  # requests with their own Approve and Reject on the tab; the rest are listed above them


def _request_line(request: ApprovalRequest) -> str:
    what = " ".join(line.lstrip("• ") for line in request.description[:3])
    if len(request.description) > 3:
        what += f" and {len(request.description) - 3} more"
    where = f" in {channel_link(request.requester.channel_id)}" if request.requester.channel_id else ""
    return (f"{mention(request.requester.user_id)} asks to `{escape(request.action)}`{where} "
            f"{slack_date(request.created_at)}: {fit(what, 300)} (expires {slack_date(request.expires_at)})")


async def approvals_waiting(ctx: HomeContext) -> list[Block] | None:
    """The requests this person may decide, the oldest with Approve and Reject right here: a request asked in a
    direct message or a private channel may be where its approver cannot see it."""
    listing = await ctx.sources.approvals(ctx.user_id, LISTED)
    if listing is None:  # the policy makes this person the approver of nothing
        return None
    if not listing.total:
        return [context("Nothing waits for your approval.")]
    blocks: list[Block] = []
    for request in listing.items[:DECIDABLE_HERE]:
        blocks += [section(_request_line(request)), decision_buttons(request, f"home-approval:{request.id}")]
    rest = [f"• {_request_line(request)}" for request in listing.items[DECIDABLE_HERE:]]
    blocks += grouped_sections(rest, "home-approvals") if rest else []
    more = listing.total - min(listing.total, DECIDABLE_HERE)
    if more:
        blocks.append(context(f"{more} more: decide them on their messages, or here once the ones above are done."))
    return blocks


async def scheduled(ctx: HomeContext) -> list[Block] | None:
    if not ctx.may("campaign.list"):
        return None
    listing = await ctx.sources.scheduled(LISTED)
    if not listing.total:
        return [context("Nothing is scheduled.")]
    lines = [f"• {slack_date(item.due_at)}: *{item.op.value}* {escape(item.campaign_name)} "
             f"(scheduled by {mention(item.scheduler.user_id)})" for item in listing.items]
    return [*grouped_sections(lines, "home-scheduled"), *_more(listing.more, "`/campaign scheduled` lists them all")]


async def paused_campaigns(ctx: HomeContext) -> list[Block] | None:
    if not ctx.may("campaign.list"):
        return None
    listing = await ctx.sources.paused(LISTED)
    if not listing.total:
        return [context("No campaign is paused now.")]
    lines = []
    for item in listing.items:
        what = "partly paused" if item.activity.value == "partly paused" else "paused"
        who = (f"paused by {mention(item.paused_by)} {slack_date(item.paused_at)}"
               if item.paused_by and item.paused_at else "no pause through commops on record")
        lines.append(f"• *{escape(fit(item.name, 150))}* ({code(item.id)}): {what}, {who}")
    return [*grouped_sections(lines, "home-paused"), *_more(listing.more, "`/campaign list paused` lists them all")]


def digest_link(channel: str, ts: str) -> str:
    return f"https://slack.com/archives/{channel}/p{ts.replace('.', '')}"


async def alert_run(ctx: HomeContext) -> list[Block] | None:
    if not ctx.may("alerts.resend", "resend"):
        return None
    run = await ctx.sources.alert_run()
    if run is None:
        return [context("No undelivered messages have been found yet.")]
    lines = []
    if run.at is not None and run.channel and run.ts:
        noun = "undelivered message" if run.posted == 1 else "undelivered messages"
        lines.append(f"Last digest: {slack_date(run.at)} in {channel_link(run.channel)}, {run.posted} {noun}. "
                     f"<{digest_link(run.channel, run.ts)}|Open the digest>")
    else:
        lines.append("No digest has been posted yet.")
    lines.append(f"Waiting to be posted: {run.pending} undelivered message{'s' if run.pending != 1 else ''}.")
    return grouped_sections(lines, "home-alerts")


def _entry_line(entry: AuditEntry, *, who: bool = False) -> str:
    icon = _OUTCOME_ICONS.get(entry.outcome, ":grey_question:")
    about = entry.communication_id or entry.campaign_id
    detail = f" {code(fit(about, 60))}" if about else ""
    if entry.resent_id:
        detail += f" → {code(entry.resent_id)}"
    person = f"{mention(entry.user_id)} " if who else ""
    return f"{icon} {slack_date(entry.at)} {person}`{escape(entry.action)}`{detail}: {escape(entry.outcome)}"


async def your_actions(ctx: HomeContext) -> list[Block]:
    entries = await ctx.sources.recent(ctx.user_id, LISTED)
    if not entries:
        return [context("You have not done anything through commops yet.")]
    return [*grouped_sections([_entry_line(e) for e in entries], "home-mine"),
            context("`/comm audit 50` shows more.")]


async def everyones_actions(ctx: HomeContext) -> list[Block] | None:
    if not ctx.may("audit.read"):
        return None
    entries = await ctx.sources.everyone(5)
    if not entries:
        return [context("Nothing in the audit log yet.")]
    return [*grouped_sections([_entry_line(e, who=True) for e in entries], "home-all"),
            context("You hold `audit.read`: `/comm audit 50` shows everyone's.")]


# The Home tab, top to bottom.
SECTIONS: list[HomeSection] = [
    HomeSection("What you may do", what_you_may_do),
    HomeSection("Approvals waiting for you", approvals_waiting, max_blocks=9),
    HomeSection("Scheduled pauses and resumes", scheduled),
    HomeSection("Paused campaigns", paused_campaigns),
    HomeSection("Latest alert run", alert_run),
    HomeSection("Your last actions", your_actions),
    HomeSection("Latest actions by everyone", everyones_actions),
]


# --- putting it together --------------------------------------------------------------------------------------------


def _problem(section: HomeSection, error: BaseException) -> list[Block]:
    if isinstance(error, NotConfigured):
        return [context(f":zzz: {escape(error)}.")]
    if isinstance(error, VendorError):
        return [context(f":warning: Could not read this now: {escape(error.sentence)} The rest of this page is "
                        "current; press Refresh to try again.")]
    if isinstance(error, TimeoutError):
        return [context(":warning: This did not answer in time; the rest of this page is current. Press Refresh "
                        "to try again.")]
    log.error("the Home section %r failed", section.title, exc_info=error)
    return [context(":warning: Something went wrong on our side while reading this; the rest of this page is "
                    "current.")]


async def _run(section: HomeSection, ctx: HomeContext) -> list[Block] | None:
    try:
        return await ctx.sources.bounded(lambda: section.build(ctx))
    except Exception as error:  # one section's failure is shown in its place; the others still render
        return _problem(section, error)


def _header(text: str) -> Block:
    return {"type": "header", "text": {"type": "plain_text", "text": text[:150]}}


def top(ctx: HomeContext) -> list[Block]:
    return [
        _header("commops"),
        {"type": "section", "block_id": "home-top",
         "text": {"type": "mrkdwn", "text": f"Hello {mention(ctx.user_id)}. Updated {slack_date(ctx.now)}."},
         "accessory": {"type": "button", "action_id": REFRESH, "value": "refresh",
                       "text": {"type": "plain_text", "text": "Refresh"}}},
    ]


async def compose(ctx: HomeContext, sections: Sequence[HomeSection] = SECTIONS) -> list[Block]:
    """Every section, built side by side, within :data:`MAX_BLOCKS`."""
    ctx.standings = {s.action: s for s in await ctx.sources.standings(ctx.user_id)}
    bodies = await asyncio.gather(*(_run(each, ctx) for each in sections))
    blocks = top(ctx)
    for each, body in zip(sections, bodies, strict=True):
        if body is None:
            continue
        part = [{"type": "divider"}, _header(each.title), *body[: each.max_blocks]]
        if len(blocks) + len(part) > MAX_BLOCKS - 1:
            blocks.append(context("More did not fit on this page; the commands above show it."))
            break
        blocks.extend(part)
    return blocks[:MAX_BLOCKS]


def home_view(blocks: list[Block]) -> dict[str, Any]:
    return {"type": "home", "callback_id": "home", "blocks": blocks}
