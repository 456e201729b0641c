"""Small Block Kit pieces that several handlers share, and the one way to put outside text into Slack.

Slack reads ``&``, ``<`` and ``>`` as control characters in every text it parses: a message's top-level ``text``,
mrkdwn, and even code spans (``<!channel>`` between backticks still pings). Anything a user or a vendor wrote (a
campaign name, a template, a command's arguments, a user name, an error text) goes through :func:`escape` before it
is put into such a text. Only what the bot makes itself stays live: :func:`mention` of a well-formed user id,
:func:`channel_link` of a well-formed channel id, and :func:`slack_date`.

The convention of the builders below: an argument that becomes mrkdwn (``section``, ``context``, a confirm dialog's
``text``) is mrkdwn already, its outside values escaped by the caller; an argument that becomes ``plain_text`` (a
button's label, a confirm dialog's title and buttons) is plain text, escaped here.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

Block = dict[str, Any]

_USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")
_CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{2,}")
_ENTITY_TAIL = re.compile(r"&[a-z]{0,3}$")
# Bidirectional embeddings, overrides and isolates: one in a campaign name could turn the rest of the bot's line
# around ("Paused by …" read backwards), so outside text shows them as their code point instead of obeying them.
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")


def slack_date(moment: datetime, pattern: str = "{date_short_pretty} at {time}") -> str:
    """A time every reader sees in their own time zone, with a UTC fallback for old clients."""
    fallback = moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(moment.timestamp())}^{pattern}|{fallback}>"


def escape(text: object) -> str:
    """Escape the three characters Slack treats as control characters, so ``text`` shows as written, and name the
    bidirectional controls instead of letting them reorder the line around it."""
    escaped = str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _BIDI_CONTROLS.sub(lambda found: f"[U+{ord(found.group()):04X}]", escaped)


def code(text: object) -> str:
    """``text`` as a code span: escaped (Slack parses ``<…>`` inside backticks too), its own backticks made
    quotes so it cannot close the span early."""
    quoted = escape(str(text).replace("`", "'"))
    return f"`{quoted}`"


def is_user_id(value: str | None) -> bool:
    return value is not None and _USER_ID.fullmatch(value) is not None


def mention(user_id: str | None) -> str:
    """A live ``<@U…>`` for a well-formed Slack user id; anything else (empty, forged) as escaped text."""
    if is_user_id(user_id):
        return f"<@{user_id}>"
    return escape(user_id) if user_id else "someone"


def channel_link(channel_id: str | None) -> str:
    """A live ``<#C…>`` for a well-formed Slack channel id; anything else as escaped text."""
    if channel_id and _CHANNEL_ID.fullmatch(channel_id):
        return f"<#{channel_id}>"
    return escape(channel_id) if channel_id else "a channel"


def fit(text: str, limit: int) -> str:
    """At most ``limit`` characters of an escaped text, cut with an ellipsis, never inside an entity nor inside one
    of the bot's own ``<…>`` (a mention or a date cut in half would show its insides)."""
    if len(text) <= limit:
        return text
    cut = _ENTITY_TAIL.sub("", text[: max(limit - 1, 0)])
    opened = cut.rfind("<")
    if opened > cut.rfind(">"):
        cut = cut[:opened]
    return cut + "…"


def plain_text(text: str, limit: int = 3000) -> Block:
    """A ``plain_text`` object showing ``text`` as written."""
    return {"type": "plain_text", "text": fit(escape(text), limit)}


def mrkdwn(text: str) -> Block:
    return {"type": "mrkdwn", "text": text}


def section(text: str, *, block_id: str | None = None, accessory: Block | None = None) -> Block:
    block: Block = {"type": "section", "text": mrkdwn(fit(text, 3000))}
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
    """A button labelled ``text`` (plain text)."""
    element: Block = {"type": "button", "text": plain_text(text, 75), "action_id": action_id, "value": value}
    if style:
        element["style"] = style
    if confirm:
        element["confirm"] = confirm
    return element


def confirm_dialog(title: str, text: str, *, confirm: str, deny: str = "Cancel", danger: bool = False) -> Block:
    """A confirm dialog: ``title``, ``confirm`` and ``deny`` are plain text, ``text`` is mrkdwn (values escaped)."""
    dialog: Block = {
        "title": plain_text(title, 100),
        "text": mrkdwn(fit(text, 300)),
        "confirm": plain_text(confirm, 30),
        "deny": plain_text(deny, 30),
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
