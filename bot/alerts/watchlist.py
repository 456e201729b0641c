"""The alert watch-list (ALERT_WATCHLIST): one ``mobile:…``, ``email:…`` or ``external_id:…`` a line.

Blank lines and ``#`` comments are allowed. A bad line is reported once (by line number) when the list is
read, and skipped: one typo must not stop the other thousands of customers from being watched. A customer listed
again is polled once.

The job never holds the list in memory: :class:`WatchlistFile` reads it line by line on every run (off the event
loop, a chunk at a time), so a run's memory does not grow with the number of customers. The file is checked
whole (its bad and repeated lines noted, the bad ones reported) at start and again whenever it changes.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

log = logging.getLogger("commops.alerts")

NAMES = ("mobile", "email", "external_id")
CHUNK = 2000  # lines read at a time
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


class Customers(Protocol):
    """Where a run's customers come from: :func:`stream` them in order; ``len()`` is how many there are."""

    def stream(self) -> AsyncIterator[Customer]: ...

    def __len__(self) -> int: ...


class CustomerList:
    """Customers given as a sequence (tests, the benchmark)."""

    def __init__(self, customers: Iterable[Customer]) -> None:
        self._customers = tuple(dict.fromkeys(customers))

    def __len__(self) -> int:
        return len(self._customers)

    async def stream(self) -> AsyncIterator[Customer]:
        for customer in self._customers:
            yield customer


class WatchlistFile:
    """ALERT_WATCHLIST, read line by line on every run; :meth:`check` it at start (it reports the bad lines)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._signature: tuple[int, int] | None = None
        self._skip: frozenset[int] = frozenset()  # bad and repeated lines: not polled
        self._count = 0
        self.problems: tuple[Problem, ...] = ()

    def __len__(self) -> int:
        return self._count

    def check(self) -> tuple[Problem, ...]:
        """Read the file through once (blocking: off the event loop, or at start): count its customers, note the
        lines to skip, and return the bad ones. OSError or UnicodeDecodeError when it cannot be read."""
        signature = self._stat()
        problems: list[Problem] = []
        skip: set[int] = set()
        seen: set[bytes] = set()  # 8-byte digests: about 80 bytes a customer while checking, none kept after
        count = 0
        with self.path.open(encoding="utf-8") as lines:
            for number, raw in enumerate(lines, start=1):
                parsed = parse_line(raw)
                if isinstance(parsed, str):
                    problems.append(Problem(number, parsed))
                    skip.add(number)
                elif parsed is not None:
                    key = hashlib.blake2b(str(parsed).encode(), digest_size=8).digest()
                    if key in seen:
                        skip.add(number)
                    else:
                        seen.add(key)
                        count += 1
        self._signature, self._skip, self._count, self.problems = signature, frozenset(skip), count, tuple(problems)
        return self.problems

    def _stat(self) -> tuple[int, int]:
        found = os.stat(self.path)
        return found.st_mtime_ns, found.st_size

    async def stream(self) -> AsyncIterator[Customer]:
        """The customers, in file order; the file is checked again first when it changed since (its new bad lines
        logged once). A file that cannot be read yields nothing (and says so)."""
        try:
            if await asyncio.to_thread(self._stat) != self._signature:
                for problem in (await asyncio.to_thread(self.check))[:50]:
                    log.warning("ALERT_WATCHLIST %s %s: skipped", self.path, problem)
            handle = await asyncio.to_thread(self.path.open, encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            log.error("alerts: ALERT_WATCHLIST %s cannot be read (%s); no customer polled this run", self.path,
                      getattr(error, "strerror", None) or type(error).__name__)
            return
        try:
            number = 0
            while True:
                chunk = await asyncio.to_thread(_read_lines, handle, CHUNK)
                if not chunk:
                    return
                for raw in chunk:
                    number += 1
                    if number in self._skip:
                        continue
                    parsed = parse_line(raw)
                    if isinstance(parsed, Customer):
                        yield parsed
        finally:
            handle.close()


def _read_lines(handle: IO[str], count: int) -> Sequence[str]:
    lines = []
    for line in handle:
        lines.append(line)
        if len(lines) >= count:
            break
    return lines
