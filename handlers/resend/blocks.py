"""How resend outcomes look in Slack: one message, one line per id, buttons where a person must decide."""

from __future__ import annotations

from datetime import datetime

from bot.resend.service import ResendOutcome, ResendStatus, anyway_value
from handlers.ui.formatting import (
    Block,
    button,
    code,
    confirm_dialog,
    context,
    escape,
    grouped_sections,
    mention,
    section,
    slack_date,
)

RESEND_ANYWAY = "resend.anyway"
MAX_BLOCKS = 50
_MAX_BUTTONS = MAX_BLOCKS - 4  # room for the header, a grouped section and one "resend the rest" row


def outcome_line(item: ResendOutcome) -> str:
    mid = code(item.message_id)
    if item.outcome is ResendStatus.RESENT and item.result is not None:
        line = (f":white_check_mark: {mid} resent as {code(item.result.resent_message_id)} "
                f"(org {escape(item.result.org_id)}, undelivered id {code(item.result.undelivered_message_id)})")
        for warning in item.result.warnings:
            line += f"\n      :warning: Capillary warns: {escape(warning)}"
        return line
    if item.outcome is ResendStatus.DUPLICATE and item.prior is not None:
        prior = item.prior
        who = mention(prior.user_id)
        when = slack_date(prior.at)
        if prior.state == "resent":
            what = f"was resent by {who} {when} as {code(prior.resent_id)}"
        elif prior.state == "pending":
            what = f"is being resent by {who} right now (started {when})"
        else:
            what = f"was sent to Capillary by {who} {when}, and it is not known whether it went through"
        return f":repeat: {mid} {what}. Not resent again."
    if item.outcome is ResendStatus.UNCERTAIN and item.error is not None:
        return f":grey_question: {mid}: {escape(item.error.sentence)}"
    sentence = item.error.sentence if item.error is not None else "it failed for an unknown reason."
    return f":x: {mid}: {escape(sentence)}"


def summary_text(outcomes: list[ResendOutcome]) -> str:
    """Plain text for notifications and old clients."""
    counts = {kind: sum(1 for item in outcomes if item.outcome is kind) for kind in ResendStatus}
    parts = [f"{counts[ResendStatus.RESENT]} resent"]
    if counts[ResendStatus.FAILED]:
        parts.append(f"{counts[ResendStatus.FAILED]} failed")
    if counts[ResendStatus.DUPLICATE]:
        parts.append(f"{counts[ResendStatus.DUPLICATE]} resent recently, not sent again")
    if counts[ResendStatus.UNCERTAIN]:
        parts.append(f"{counts[ResendStatus.UNCERTAIN]} with an unknown result")
    return "Resend: " + ", ".join(parts)


def _needs_decision(item: ResendOutcome) -> bool:
    return item.outcome in (ResendStatus.DUPLICATE, ResendStatus.UNCERTAIN) and not (
        item.prior is not None and item.prior.state == "pending"
    )


def _anyway_button(value: str, label: str = "Resend anyway") -> Block:
    return button(
        label, RESEND_ANYWAY, value,
        confirm=confirm_dialog(
            "Resend again?",
            "This message may already have reached the customer. Resending it can send it twice.",
            confirm="Resend",
            danger=True,
        ),
    )


def _anyway_of(items: list[ResendOutcome]) -> str:
    return anyway_value((item.message_id, item.blocking_version or 0) for item in items)


def item_block(item: ResendOutcome) -> Block:
    accessory = _anyway_button(_anyway_of([item])) if _needs_decision(item) else None
    return section(outcome_line(item), block_id=f"resend:{item.message_id}", accessory=accessory)


def header(actor_id: str, at: datetime, count: int) -> Block:
    noun = "message" if count == 1 else "messages"
    return context(f"*Resend* of {count} {noun} requested by {mention(actor_id)} {slack_date(at)}")


def result_blocks(outcomes: list[ResendOutcome], actor_id: str, at: datetime) -> list[Block]:
    """One message for a whole /resend, within Slack's 50-block limit."""
    blocks = [header(actor_id, at, len(outcomes))]
    decided = [item for item in outcomes if not _needs_decision(item)]
    undecided = [item for item in outcomes if _needs_decision(item)]
    blocks.extend(grouped_sections([outcome_line(item) for item in decided], "resend-done"))
    room = MAX_BLOCKS - len(blocks) - 2
    if len(undecided) <= room:
        blocks.extend(item_block(item) for item in undecided)
    else:
        blocks.extend(item_block(item) for item in undecided[: room - 1])
        rest = undecided[room - 1:]
        blocks.extend(grouped_sections([outcome_line(item) for item in rest], "resend-rest"))
        blocks.append({
            "type": "actions", "block_id": "resend-rest-actions",
            "elements": [_anyway_button(_anyway_of(rest), f"Resend these {len(rest)} anyway")],
        })
    return blocks[:MAX_BLOCKS]


def after_anyway(blocks: list[Block], block_id: str, outcomes: list[ResendOutcome], actor_id: str,
                 at: datetime) -> list[Block]:
    """The original message with the clicked row replaced by what the click did."""
    lines = [outcome_line(item) for item in outcomes]
    note = f"_resend anyway by {mention(actor_id)} {slack_date(at)}_"
    replacement = [section("\n".join(lines) + "\n" + note, block_id=f"{block_id}:done")]
    if len(outcomes) == 1 and _needs_decision(outcomes[0]):
        replacement = [section(outcome_line(outcomes[0]) + "\n" + note, block_id=block_id,
                               accessory=_anyway_button(_anyway_of(outcomes)))]
    updated: list[Block] = []
    for block in blocks:
        if block.get("block_id") == block_id:
            updated.extend(replacement)
        else:
            updated.append(block)
    return updated[:MAX_BLOCKS]


def described(ids: list[int], overriding: dict[int, int] | None = None) -> list[str]:
    """What an approval request for a resend of ``ids`` will do, a line each (``overriding``: Resend anyway)."""
    if overriding:
        return [f"• resend message {code(message_id)} *again*, although it may already have reached the customer"
                for message_id in ids]
    return [f"• resend message {code(message_id)}" for message_id in ids]
