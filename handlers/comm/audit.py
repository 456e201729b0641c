"""``/comm audit [n]``: the caller's own recent actions, or everyone's for holders of ``audit.read``.

Always ephemeral. Looking at everyone's actions is itself written to the audit log (action ``audit.read``);
looking at one's own is not an action on anything and is not.
"""

from __future__ import annotations

import json

from bot.audit.log import AuditEntry, AuditOutcome
from bot.services import Services
from handlers.middleware.call import Call
from handlers.ui.formatting import Block, channel_link, code, context, escape, mention, section, slack_date

DEFAULT_ROWS = 10
MAX_ROWS = 50
USAGE = (f"`/comm audit [n]`: your last n actions (default {DEFAULT_ROWS}, at most {MAX_ROWS}); everyone's "
         "if you hold `audit.read`")

_ICONS = {
    "ok": ":white_check_mark:", "denied": ":no_entry:", "invalid": ":warning:", "duplicate": ":repeat:",
    "vendor_error": ":x:", "error": ":boom:",
}


async def run(call: Call, services: Services) -> None:
    words = call.args.split()
    if len(words) > 1 or (words and not words[0].isdecimal()):
        await call.ack(text=f":warning: {code(call.args[:40])} is not a number of rows.\n{escape(USAGE)}")
        return
    rows = min(max(int(words[0]) if words else DEFAULT_ROWS, 1), MAX_ROWS)
    await call.ack()
    actor = call.actor
    everyone = (await services.access.decide("audit.read", actor.user_id, actor.channel_id)).allowed
    entries = await services.audit.query(users=() if everyone else (actor.user_id,), limit=rows)
    if everyone:
        await services.audit.record("audit.read", AuditOutcome.OK, actor, arguments={"rows": rows},
                                    attempt_id=call.attempt_id)
    await call.tell(f"Audit log: {len(entries)} entries", audit_blocks(entries, everyone, rows))


def audit_blocks(entries: list[AuditEntry], everyone: bool, rows: int) -> list[Block]:
    whose = "by everyone (you hold `audit.read`)" if everyone else "of yours"
    if not entries:
        return [context(f"*Audit log*: no actions {whose} recorded yet.")]
    newest_first = list(reversed(entries))
    count = "action" if len(entries) == 1 else f"{len(entries)} actions"
    header = f"*Audit log*: the last {count} {whose}, newest first"
    if len(entries) == rows < MAX_ROWS:
        header += f" (`/comm audit {MAX_ROWS}` shows more)"
    blocks = [context(header)]
    current: list[str] = []
    for line in (entry_line(entry, show_user=everyone) for entry in newest_first):
        if current and len("\n".join([*current, line])) > 2900:  # Slack's 3,000-character section limit
            blocks.append(section("\n".join(current)))
            current = []
        current.append(line)
    blocks.append(section("\n".join(current)))
    return blocks


def entry_line(entry: AuditEntry, *, show_user: bool) -> str:
    parts = [_ICONS.get(entry.outcome, ":grey_question:"), slack_date(entry.at, "{date_short} {time}")]
    if show_user:
        parts.append(mention(entry.user_id))
    parts.append(f"{code(entry.action)} {escape(entry.outcome.replace('_', ' '))}")
    if entry.error_code:
        parts.append(f"({code(entry.error_code)})")
    details: list[str] = []
    if entry.communication_id:
        resent = f" → {code(entry.resent_id)}" if entry.resent_id and entry.outcome == "ok" else ""
        details.append(f"message {code(entry.communication_id)}{resent}")
    if entry.campaign_id:
        details.append(f"campaign {code(entry.campaign_id)}")
    if not details and entry.arguments:
        details.append(code(_clip(json.dumps(entry.arguments, ensure_ascii=False))))
    if entry.channel_id:
        details.append(f"in {channel_link(entry.channel_id)}")
    return " ".join(parts) + (" · " + " · ".join(details) if details else "")


def _clip(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
