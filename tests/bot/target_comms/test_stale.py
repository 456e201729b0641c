"""What a /comm upsert form knew of a target's communications, and telling what changed since."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.target_comms.stale import SEEN_FIELDS, identity_key, seen_of, stale_fields
from bot.vendors.capillary.loyalty import TargetCommunication

STAMP = datetime(2026, 1, 1, tzinfo=UTC).isoformat()


def item(**changes: Any) -> TargetCommunication:
    fields = {"id": 12, "attribution": {"createdOn": STAMP, "lastUpdatedOn": STAMP}, "targetId": 2996,
              "targetGroupId": 2750, "communicationType": "START", "channelId": 1, "subjectTemplate": None,
              "messageTemplate": "Hi", "sender": "CAPLOY", "offsetDays": 0, "active": True, **changes}
    return TargetCommunication.model_validate(fields)


def test_the_form_remembers_each_communication_by_type_and_channel() -> None:
    seen = seen_of([item(), item(id=13, communicationType="REMINDER", channelId=2)])
    assert seen is not None and set(seen) == {identity_key("START", 1), identity_key("REMINDER", 2)}
    assert all(len(fingerprint) == 6 * len(SEEN_FIELDS) for fingerprint in seen.values())


def test_what_changed_is_named_field_by_field() -> None:
    known = (seen_of([item()]) or {})["START/1"]
    assert stale_fields(known, item()) is None
    assert stale_fields(known, item(messageTemplate="Hi ")) is None  # saving strips it: the same template
    assert stale_fields(known, item(messageTemplate="Hello", offsetDays=2)) == ("message", "offset")
    assert stale_fields(known, item(subjectTemplate="New", active=False)) == ("subject", "active")
    assert stale_fields(known, item(sender="OTHER", id=99)) == ("sender",)


def test_created_since_and_gone_since() -> None:
    assert stale_fields(None, None) is None  # the form saw none, and there is none: saving creates it
    assert stale_fields(None, item()) == SEEN_FIELDS  # someone created it after the form read the target
    assert stale_fields((seen_of([item()]) or {})["START/1"], None) == ()  # gone since
