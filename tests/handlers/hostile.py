"""Hostile text for the escaping tests: what a user or a vendor might write to ping a channel or forge a link, and a
check that a reply shows it as written while only the bot's own mentions and dates stay live."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

HOSTILE = "<!channel> Tom & Jerry <https://evil.example|click> <@U123> \u202edesrever"
ESCAPED = "&lt;!channel&gt; Tom &amp; Jerry &lt;https://evil.example|click&gt; &lt;@U123&gt; [U+202E]desrever"

_ANGLED = re.compile(r"<[^<>]*>")
_DATE = re.compile(r"<!date\^\d+\^[^|<>]*\|[^<>]*>")
_BARE_AMPERSAND = re.compile(r"&(?!amp;|lt;|gt;)")
_BIDI_CONTROL = re.compile("[\u202a-\u202e\u2066-\u2069]")


def texts(found: Any) -> list[str]:
    """Every string Slack reads as text in a reply, message, view or block list: each ``text`` value, at any depth
    (a message's top-level ``text``, mrkdwn and plain_text objects, confirm dialogs, modal titles)."""
    if isinstance(found, str):
        return [found]
    out: list[str] = []
    if isinstance(found, dict):
        for key, value in found.items():
            if key == "text" and isinstance(value, str):
                out.append(value)
            elif isinstance(value, dict | list | tuple):
                out.extend(texts(value))
    elif isinstance(found, list | tuple):
        for item in found:
            out.extend(texts(item))
    return out


def assert_inert(found: Any, *, live: Iterable[str] = ()) -> str:
    """Every ``<…>`` in ``found`` is a bot-made date or one of ``live`` (the mentions the bot meant to make), and no
    ``&`` is left bare. Returns the texts joined, for further checks."""
    allowed = set(live)
    joined = "\n".join(texts(found))
    for text in texts(found):
        for token in _ANGLED.findall(text):
            assert token in allowed or _DATE.fullmatch(token), f"live {token!r} in {text!r}"
        assert _BARE_AMPERSAND.search(text) is None, f"bare & in {text!r}"
        assert _BIDI_CONTROL.search(text) is None, f"a bidirectional control in {text!r}"
    return joined
