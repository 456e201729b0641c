"""Block Kit as terminal text: what the shell shows of the bot's messages and modals.

Buttons are numbered so the person at the terminal can press them by typing the number.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

Block = dict[str, Any]

_DATE = re.compile(r"<!date\^(\d+)\^[^|>]*\|([^>]*)>")
_USER = re.compile(r"<@([A-Z0-9]+)>")
_CHANNEL = re.compile(r"<#([A-Z0-9]+)(?:\|([^>]*))?>")
_LINK = re.compile(r"<(https?://[^|>]+)\|([^>]+)>")
_BOLD = re.compile(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_([^_\n]+)_(?![\w_])")
_EMOJI = {
    ":white_check_mark:": "✔", ":x:": "✘", ":warning:": "⚠", ":repeat:": "↻", ":grey_question:": "?",
    ":boom:": "✘", ":hourglass_flowing_sand:": "…", ":no_entry:": "⛔", ":pause_button:": "⏸",
    ":arrow_forward:": "▶", ":bell:": "🔔", ":lock:": "🔒", ":alarm_clock:": "⏰", ":no_bell:": "🔕",
    ":information_source:": "ℹ", ":arrows_counterclockwise:": "↻",
}


@dataclass
class Button:
    """A pressable element as the shell remembers it."""

    number: int
    label: str
    action_id: str
    block_id: str
    value: str
    confirm: Block | None
    message: Block  # the whole message (or view) the button sits in
    origin: dict[str, Any] = field(default_factory=dict)  # channel, response_url, view id…


@dataclass
class ButtonBoard:
    """Every button shown so far, by number (old ones stay pressable, like in Slack)."""

    buttons: dict[int, Button] = field(default_factory=dict)

    def add(self, element: Block, block_id: str, message: Block, origin: dict[str, Any]) -> Button:
        number = len(self.buttons) + 1
        label = plain((element.get("text") or {}).get("text", "button"))
        button = Button(number, label, element.get("action_id", ""), block_id, str(element.get("value", "")),
                        element.get("confirm"), message, origin)
        self.buttons[number] = button
        return button


def plain(text: str, users: Callable[[str], str] | None = None) -> str:
    """mrkdwn to terminal text: dates in local time, mentions as @names, emoji as symbols."""

    def date(match: re.Match[str]) -> str:
        return datetime.fromtimestamp(int(match.group(1))).astimezone().strftime("%Y-%m-%d %H:%M %Z")

    text = _DATE.sub(date, text)
    text = _USER.sub(lambda m: "@" + (users(m.group(1)) if users else m.group(1)), text)
    text = _CHANNEL.sub(lambda m: "#" + (m.group(2) or m.group(1)), text)
    text = _LINK.sub(lambda m: f"{m.group(2)} ({m.group(1)})", text)
    text = _BOLD.sub(lambda m: m.group(1).upper() if len(m.group(1)) < 30 else m.group(1), text)
    text = _ITALIC.sub(lambda m: m.group(1), text)
    for code, symbol in _EMOJI.items():
        text = text.replace(code, symbol)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _text_of(obj: Block | None) -> str:
    return str((obj or {}).get("text", "")) if obj else ""


def render_blocks(
    blocks: list[Block],
    board: ButtonBoard,
    message: Block,
    origin: dict[str, Any],
    users: Callable[[str], str] | None = None,
) -> list[str]:
    lines: list[str] = []

    def pressable(element: Block, block_id: str) -> str | None:
        if element.get("type") != "button":
            return None
        button = board.add(element, block_id, message, origin)
        return f"[{button.number}] {button.label}"

    for block in blocks:
        kind = block.get("type")
        block_id = str(block.get("block_id", ""))
        if kind == "header":
            lines.append(plain(_text_of(block.get("text")), users).upper())
        elif kind == "section":
            if block.get("text"):
                lines.extend(plain(_text_of(block["text"]), users).splitlines())
            for item in block.get("fields") or []:
                lines.append("  " + plain(_text_of(item), users).replace("\n", " "))
            accessory = block.get("accessory")
            shown = pressable(accessory, block_id) if accessory else None
            if shown:
                lines.append("    " + shown)
        elif kind == "context":
            parts = [plain(_text_of(element), users) for element in block.get("elements", []) if "text" in element]
            lines.append("  " + "  ".join(parts))
        elif kind == "actions":
            shown_buttons = [pressable(element, block_id) for element in block.get("elements", [])]
            lines.append("    " + "   ".join(b for b in shown_buttons if b))
        elif kind == "divider":
            lines.append("  " + "─" * 40)
        elif kind == "input":
            label = _text_of(block.get("label"))
            lines.append(f"  {label}: {describe_input(block.get('element') or {})}")
        elif kind == "rich_text":
            lines.append(plain(str(block), users))
    return lines


def describe_input(element: Block) -> str:
    """The current value of an input element, for a read-only view of a form."""
    if "initial_value" in element:
        return str(element["initial_value"])
    option = element.get("initial_option")
    if option:
        return plain(_text_of(option.get("text")))
    return "(empty)"
