"""The alert watch-list (ALERT_WATCHLIST): one ``mobile:…``, ``email:…`` or ``external_id:…`` a line.

Blank lines and ``#`` comments are allowed. A bad line is reported once (by line number) when the list is
read, and skipped: one typo must not stop the other thousands of customers from being watched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

NAMES = ("mobile", "email", "external_id")
_MOBILE = re.compile(r"^\+?\d{6,15}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class Customer:
    """A watched customer, as Capillary's interaction API names one."""

    name: str  # mobile | email | external_id
    value: str

    def __str__(self) -> str:
        return f"{self.name}:{self.value}"


@dataclass(frozen=True)
class Problem:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass(frozen=True)
class Watchlist:
    customers: tuple[Customer, ...]
    problems: tuple[Problem, ...]


def parse_line(text: str) -> Customer | str | None:
    """A customer, None for a blank or comment line, or the reason the line is bad."""
    line = text.strip()
    # A comment is a whole line starting with #, or " #" and what follows: ids may contain a bare "#".
    line = "" if line.startswith("#") else line.split(" #", 1)[0].strip()
    if not line:
        return None
    name, colon, value = line.partition(":")
    name, value = name.strip().lower(), value.strip()
    if not colon or name not in NAMES:
        return f"expected mobile:…, email:… or external_id:…, got {line[:60]!r}"
    if not value:
        return f"{name}: has no value"
    if name == "mobile":
        digits = value.replace(" ", "").replace("-", "")
        if not _MOBILE.match(digits):
            return f"mobile number {value[:30]!r} is not 6 to 15 digits"
        return Customer(name, digits.lstrip("+"))
    if name == "email":
        if not _EMAIL.match(value):
            return f"{value[:60]!r} is not an e-mail address"
        return Customer(name, value.lower())
    return Customer(name, value)


def parse_watchlist(text: str) -> Watchlist:
    customers: dict[Customer, None] = {}  # an ordered set: a customer listed twice is polled once
    problems: list[Problem] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        parsed = parse_line(raw)
        if isinstance(parsed, str):
            problems.append(Problem(number, parsed))
        elif parsed is not None:
            customers.setdefault(parsed, None)
    return Watchlist(tuple(customers), tuple(problems))


def load_watchlist(path: Path | None) -> Watchlist:
    """The watch-list at ``path``; an empty one when no path is set. OSError when it cannot be read."""
    if path is None:
        return Watchlist((), ())
    return parse_watchlist(path.read_text(encoding="utf-8"))
