"""The message ids a Slack message mentions, for the *Resend from message* shortcut.

A message id is a whole number of 10 to 19 digits standing on its own (not part of a longer number, a word, a
decimal, a phone number or a date stamp), at most 2^63-1 like every id the bot takes. They are looked for in the
message's text and in every ``text`` field of its blocks (sections, fields, context, rich text…), in the order
they first appear, each once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

# Not after a letter, digit, point, sign, underscore or caret (phone numbers, decimals, Slack's <!date^…> stamps).
_ID = re.compile(r"(?<![0-9A-Za-z.+^_-])[0-9]{10,19}(?![0-9A-Za-z_])(?!\.[0-9])")
_LONG_MAX = 2**63 - 1
MAX_SCANNED = 200_000  # characters looked at: more than any message holds
MAX_DEPTH = 32


def _texts(value: Any, depth: int = 0) -> Iterator[str]:
    """Every string under a ``text`` key in ``value`` (what a person reads: sections, fields, rich text…)."""
    if depth > MAX_DEPTH:
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if key == "text" and isinstance(item, str):
                yield item
            elif isinstance(item, Mapping | list):
                yield from _texts(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            yield from _texts(item, depth + 1)


def ids_in(text: str | None, blocks: Sequence[Any] = ()) -> list[int]:
    """The distinct message ids in ``text`` and ``blocks``, in order of first appearance."""
    found: dict[int, None] = {}
    budget = MAX_SCANNED
    for chunk in [text or "", *_texts(list(blocks))]:
        piece = chunk[:budget]
        budget -= len(piece)
        for match in _ID.finditer(piece):
            number = int(match.group())
            if 0 < number <= _LONG_MAX:
                found.setdefault(number, None)
        if budget <= 0:
            break
    return list(found)
