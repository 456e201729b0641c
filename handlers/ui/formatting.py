"""Small Block Kit pieces that several handlers share."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

Block = dict[str, Any]


def slack_date(moment: datetime, pattern: str = "{date_short_pretty} at {time}") -> str:
    """A time every reader sees in their own time zone, with a UTC fallback for old clients."""
    fallback = moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(moment.timestamp())}^{pattern}|{fallback}>"


def escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mrkdwn(text: str) -> Block:
    return {"type": "mrkdwn", "text": text}


def section(text: str, *, block_id: str | None = None, accessory: Block | None = None) -> Block:
    block: Block = {"type": "section", "text": mrkdwn(text[:3000])}
    if block_id:
        block["block_id"] = block_id
    if accessory:
        block["accessory"] = accessory
    return block


def context(*texts: str) -> Block:
    return {"type": "context", "elements": [mrkdwn(text) for text in texts]}


def button(
    text: str,
    action_id: str,
    value: str,
    *,
    style: str | None = None,
    confirm: Block | None = None,
) -> Block:
    element: Block = {"type": "button", "text": {"type": "plain_text", "text": text}, "action_id": action_id,
                      "value": value}
    if style:
        element["style"] = style
    if confirm:
        element["confirm"] = confirm
    return element


def confirm_dialog(title: str, text: str, *, confirm: str, deny: str = "Cancel", danger: bool = False) -> Block:
    dialog: Block = {
        "title": {"type": "plain_text", "text": title[:100]},
        "text": mrkdwn(text[:300]),
        "confirm": {"type": "plain_text", "text": confirm[:30]},
        "deny": {"type": "plain_text", "text": deny[:30]},
    }
    if danger:
        dialog["style"] = "danger"
    return dialog


def grouped_sections(lines: list[str], prefix: str) -> list[Block]:
    """Pack lines into as few sections as Slack's 3,000-character limit allows."""
    blocks: list[Block] = []
    current: list[str] = []
    for line in lines:
        if current and len("\n".join([*current, line])) > 2900:
            blocks.append(section("\n".join(current), block_id=f"{prefix}:{len(blocks)}"))
            current = []
        current.append(line)
    if current:
        blocks.append(section("\n".join(current), block_id=f"{prefix}:{len(blocks)}"))
    return blocks
