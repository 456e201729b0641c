"""What a ``/comm upsert`` form knew of the target's communications, to tell whether one changed behind its back.

Each time the form reads the target (when it opens, when its type or channel changes) it keeps, in its
private_metadata, a short fingerprint of every communication it saw, keyed by what the upsert matches on
(type and channel): :func:`seen_of`. On submit the service reads the target again (it does before every upsert)
and compares the communication the submission would save with what the form knew of it: :func:`stale_fields`.
Edited since, created since (the form saw none), or gone since: the submission was made against values that are
no longer there, and it is not saved.

Fingerprints, not values: a template may hold thousands of characters, and the form's private_metadata holds 3,000.
Six hex digits per field name which fields changed; a change slips through once in 16 million.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from bot.audit.log import AuditEntry
from bot.vendors.capillary.loyalty import TargetCommunication

# The fields of one communication that its identity (type, channel) leaves free, in the form's words.
SEEN_FIELDS = ("sender", "subject", "message", "offset", "active")
_DIGITS = 6
MAX_SEEN = 24  # communications a form remembers (4 types on up to 6 channels); past that it checks nothing


def identity_key(kind: str, channel_id: int) -> str:
    return f"{kind}/{channel_id}"


def _values(item: TargetCommunication) -> tuple[str, ...]:
    return ((item.sender or "").strip(), (item.subject_template or "").strip(), item.message_template.strip(),
            str(item.offset_days), "true" if item.active else "false")


def fingerprint(item: TargetCommunication) -> str:
    """A short digest of each of :data:`SEEN_FIELDS` of ``item``, one after the other."""
    return "".join(hashlib.sha256(value.encode()).hexdigest()[:_DIGITS] for value in _values(item))


def seen_of(items: Sequence[TargetCommunication]) -> dict[str, str] | None:
    """What a form knows of the target's communications after reading ``items``; None when too many to keep."""
    if len(items) > MAX_SEEN:
        return None
    return {identity_key(*item.identity): fingerprint(item) for item in items}


def stale_fields(known: str | None, current: TargetCommunication | None) -> tuple[str, ...] | None:
    """None when ``current`` is as the form knew it (``known``: its fingerprint; None: the form saw none); else
    the fields that changed (all of them when it was created since, none when it is gone)."""
    if current is None:
        return None if known is None else ()
    if known is None:
        return SEEN_FIELDS
    now = fingerprint(current)
    changed = tuple(name for index, name in enumerate(SEEN_FIELDS)
                    if now[index * _DIGITS:(index + 1) * _DIGITS] != known[index * _DIGITS:(index + 1) * _DIGITS])
    return changed or None


@dataclass(frozen=True)
class Stale:
    """Why a form's submission was not saved: the communication it would save changed after the form read it."""

    key: tuple[str, int]  # its type and channel
    current: TargetCommunication | None  # as it is now (None: gone since)
    created: bool  # it was not there when the form read the target
    fields: tuple[str, ...]  # what changed (of SEEN_FIELDS)
    seen: dict[str, str] | None  # what the form knows now: submitting again saves against this
    existing: tuple[TargetCommunication, ...]  # the target's communications now
    last_saved: AuditEntry | None  # the last upsert of it through the bot (audit log)
