"""How alert digests look in Slack, posted by the job and redrawn after a Resend click.

The digest message: a count, the newest items each with a Resend button, and Resend all. The rest go into
thread replies as plain lines (no buttons: Resend all covers them), packed within Slack's 50 blocks a message.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.alerts.domain import Digest, DigestItem, mask
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

RESEND = "alerts.resend"
RESEND_ALL = "alerts.resend_all"
ITEM_PREFIX = "alert:"
MAX_BLOCKS = 50
_MAX_MISSING_SHOWN = 30
_THREAD_SECTIONS = (MAX_BLOCKS - 2) // 2
_SECTION_CHARS = 2900  # as grouped_sections packs them


def item_text(item: DigestItem) -> str:
    line = (f"{code(item.message_id)} · {escape(item.channel.upper())} to {escape(mask(item.receiver))} · "
            f"*{escape(item.status)}* · sent {slack_date(item.sent_at)}")
    if item.resent_id is not None and item.resent_at is not None:
        line += (f"\n:white_check_mark: resent by {mention(item.resent_by)} {slack_date(item.resent_at)} as "
                 f"{code(item.resent_id)}")
    elif item.resend_error is not None and item.resent_at is not None:
        line += (f"\n:x: resend by {mention(item.resent_by)} {slack_date(item.resent_at)} failed: "
                 f"{escape(item.resend_error)}")
    return line


def item_block(item: DigestItem) -> Block:
    accessory = None
    if item.resent_id is None:
        accessory = button("Resend" if item.resend_error is None else "Try again", RESEND, str(item.message_id))
    return section(item_text(item), block_id=f"{ITEM_PREFIX}{item.message_id}", accessory=accessory)


def _count(count: int) -> str:
    return f"{count} undelivered message" + ("" if count == 1 else "s")


class DigestBlocks:
    """How a digest is posted (handlers/alerts/poster.py): its main message and its thread replies."""

    def main_message(self, digest: Digest) -> tuple[str, list[Block]]:
        blocks: list[Block] = []
        if digest.items:
            head = f":rotating_light: *{_count(len(digest.items))}* found"
            if digest.rest:
                head += f"; the newest {len(digest.shown)} are below, the other {len(digest.rest)} in the thread"
            blocks.append(section(head + ".", block_id="alerts-head"))
            blocks.extend(item_block(item) for item in digest.shown)
            blocks.append({"type": "actions", "block_id": "alerts-all", "elements": [button(
                f"Resend all {len(digest.items)}", RESEND_ALL, digest.digest_id, style="danger",
                confirm=confirm_dialog("Resend all?", f"Resend every message of this alert ({len(digest.items)}) "
                                       "that has not been resent yet.", confirm="Resend all", danger=True))]})
        if digest.missing_customers:
            names = ", ".join(f"`{escape(name)}`" for name in digest.missing_customers[:_MAX_MISSING_SHOWN])
            more = len(digest.missing_customers) - _MAX_MISSING_SHOWN
            blocks.append(context(f":grey_question: Not found in Capillary (reported once): {names}"
                                  + (f" and {more} more" if more > 0 else "")))
        if digest.unchecked:
            blocks.append(context(f":hourglass: {digest.unchecked} customers could not be checked this time "
                                  "(Capillary busy or failing); they are checked again next run."))
        text = f"Alert: {_count(len(digest.items))}" if digest.items else "Alert: watched customers not found"
        return text, blocks[:MAX_BLOCKS]

    def thread_messages(self, items: Sequence[DigestItem]) -> list[tuple[str, list[Block], list[int]]]:
        """Thread replies (text, blocks, the message ids each shows), as :func:`thread_batches` splits them."""
        return [(*thread_reply(batch), [item.message_id for item in batch]) for batch in thread_batches(items)]


def thread_batches(items: Sequence[DigestItem]) -> list[tuple[DigestItem, ...]]:
    """The items of each thread reply, in order, so that each reply fits within 50 blocks.

    A post is packed only half full, because a line gains a second line when the item is resent and the
    reply is redrawn in place: the redrawn post must still fit.
    """
    batches: list[tuple[DigestItem, ...]] = []
    batch: list[DigestItem] = []
    sections, length = 1, 0
    for item in items:
        text = item_text(item)
        if length and length + 1 + len(text) > _SECTION_CHARS:
            sections, length = sections + 1, 0
        if sections > _THREAD_SECTIONS:
            batches.append(tuple(batch))
            batch, sections, length = [], 1, 0
        batch.append(item)
        length += len(text) + (1 if length else 0)
    if batch:
        batches.append(tuple(batch))
    return batches


def thread_reply(items: Sequence[DigestItem]) -> tuple[str, list[Block]]:
    """One thread reply as posted: its text and its blocks (plain lines, no buttons)."""
    return f"{len(items)} more undelivered messages", grouped_sections([item_text(item) for item in items],
                                                                       "alerts-more")


def thread_blocks(items: Sequence[DigestItem]) -> list[Block]:
    """A thread reply redrawn after Resend all (same packing as when posted: item lines only get longer by a
    line, so the few that might no longer fit are the last ones; the 50-block cap keeps it valid)."""
    return grouped_sections([item_text(item) for item in items], "alerts-more")[:MAX_BLOCKS]


def redraw(blocks: Sequence[Block], items: dict[int, DigestItem]) -> list[Block]:
    """The digest message with each item in ``items`` redrawn as it now stands; everything else as it was."""
    updated: list[Block] = []
    for block in blocks:
        block_id = str(block.get("block_id") or "")
        digits = block_id[len(ITEM_PREFIX):]
        # ASCII digits of a message id's length only: int() refuses "²" and huge strings that isdecimal() allows.
        if block_id.startswith(ITEM_PREFIX) and digits.isascii() and digits.isdigit() and len(digits) <= 19:
            item = items.get(int(digits))
            updated.append(item_block(item) if item is not None else block)
        else:
            updated.append(block)
    return updated


DIGEST = DigestBlocks()
