"""The /comm upsert domain without Slack: models, validation, the one-line form, created-vs-updated, the diff."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.target_comms.service import (
    DEFAULT_CHANNELS,
    Draft,
    Invalid,
    basis_of,
    classify,
    edited,
    localized,
    normal,
    parse_text,
    refill,
    validate,
)
from bot.vendors.capillary.loyalty import Channel, CommunicationItem, Person, TargetCommunication, UpsertAnswer

IST = timezone(timedelta(hours=5, minutes=30))


def answer_item(**changes: Any) -> dict[str, Any]:
    """Seed 002's example answer item."""
    person = {"id": 75197372, "code": "madhu_rima", "description": "madhurima's till", "name": "madhurima",
              "type": "TILL"}
    item: dict[str, Any] = {
        "id": 12,
        "attribution": {"createdOn": "2025-11-11T12:50:03.444+0000", "lastUpdatedOn": "2025-11-11T12:50:03.444+0000",
                        "lastUpdatedBy": person, "createdBy": person},
        "targetId": 2996, "targetGroupId": 2750, "communicationType": "START", "channelId": 1,
        "subjectTemplate": "Test subjectTemplate changed to START ",
        "messageTemplate": "Test messageTemplate but communication type changed to START",
        "sender": "[email protected]", "offsetDays": 1, "active": True,
    }
    item.update(changes)
    return item


def communication(**changes: Any) -> TargetCommunication:
    return TargetCommunication.model_validate(answer_item(**changes))


def test_the_seed_answer_parses_with_its_timestamp_format() -> None:
    answer = UpsertAnswer.model_validate({"data": [answer_item()]})  # the client replaces warnings
    item = answer.communications[0]
    assert item.attribution.created_on == datetime(2025, 11, 11, 12, 50, 3, 444000, tzinfo=UTC)
    assert item.attribution.created_by == Person(id=75197372, code="madhu_rima", description="madhurima's till",
                                                 name="madhurima", type="TILL")
    assert item.identity == ("START", 1)
    assert item.attribution.created_by is not None
    assert item.attribution.created_by.label() == "madhurima (madhu_rima, TILL)"


@pytest.mark.parametrize("written", ["2025-11-11T18:20:03.444+0530", "2025-11-11T18:20:03.444+05:30",
                                     "2025-11-11T12:50:03.444Z", "2025-11-11T12:50:03.444+0000"])
def test_both_cluster_zones_name_the_same_instant(written: str) -> None:
    attribution = {"createdOn": written, "lastUpdatedOn": written}
    item = communication(attribution=attribution)
    assert item.attribution.created_on == datetime(2025, 11, 11, 12, 50, 3, 444000, tzinfo=UTC)
    assert item.attribution.created_on.utcoffset() is not None


def test_a_time_without_offset_is_placed_in_the_cluster_zone() -> None:
    item = communication(attribution={"createdOn": "2025-11-11T18:20:03", "lastUpdatedOn": "2025-11-11T18:20:03"})
    placed = localized(item, ZoneInfo("Asia/Kolkata"))
    assert placed.attribution.created_on == datetime(2025, 11, 11, 12, 50, 3, tzinfo=UTC)


def test_a_malformed_answer_is_refused() -> None:
    with pytest.raises(ValueError):
        communication(attribution={"createdOn": "yesterday", "lastUpdatedOn": "2025-11-11T12:50:03Z"})
    with pytest.raises(ValueError):
        UpsertAnswer.model_validate({"data": []})


def test_the_request_item_serialises_with_the_vendor_names() -> None:
    item = CommunicationItem.model_validate({"active": True, "channelId": 1, "communicationType": "START",
                                             "messageTemplate": "Hi", "offsetDays": 1, "sender": "X",
                                             "subjectTemplate": None})
    assert item.body() == {"active": True, "channelId": 1, "communicationType": "START", "messageTemplate": "Hi",
                           "offsetDays": 1, "sender": "X", "subjectTemplate": None}
    assert Channel.model_validate({"channelId": 2, "channelName": "EMAIL"}).name == "EMAIL"


GOOD = Draft("2750", "2996", "start", "EMAIL", " ops@example.com ", "Hello", "Body\nline 2", "3", "yes")


def test_a_good_draft_becomes_one_item() -> None:
    request = validate(GOOD, DEFAULT_CHANNELS)
    assert (request.group_id, request.target_id) == (2750, 2996)
    assert request.items[0].body() == {"active": True, "channelId": 2, "communicationType": "START",
                                       "messageTemplate": "Body\nline 2", "offsetDays": 3,
                                       "sender": "ops@example.com", "subjectTemplate": "Hello"}


@pytest.mark.parametrize(("field", "value", "says"), [
    ("group", "0", "positive whole number"), ("target", "2.5", "positive whole number"),
    ("target", None, "Give the target id"), ("type", "PAUSE", "START, FINISH"), ("channel", "9", "1 SMS"),
    ("sender", "  ", "Give the sender"), ("sender", "x" * 101, "at most 100"), ("subject", "", "needs a subject"),
    ("subject", "s" * 251, "at most 250"), ("message", "", "message template"), ("message", "m" * 2901, "2900"),
    ("offset", "-1", "out of range"), ("offset", "1e3", "whole number"), ("active", "maybe", "true or false"),
])
def test_each_bad_field_is_named(field: str, value: str | None, says: str) -> None:
    values = GOOD.as_dict()
    values[field] = value
    with pytest.raises(Invalid) as caught:
        validate(Draft(**values), DEFAULT_CHANNELS)
    assert list(caught.value.errors) == [field]
    assert says in caught.value.errors[field]


def test_a_subject_is_optional_outside_email() -> None:
    request = validate(Draft(**{**GOOD.as_dict(), "channel": "mobile_push", "subject": ""}), DEFAULT_CHANNELS)
    assert request.items[0].channel_id == 3 and request.items[0].subject_template is None


def test_the_one_line_form_reads_quotes_and_names_bad_fields() -> None:
    draft = parse_text('2750 2996 type=REMINDER channel=SMS sender=CAPLOY offset=1 active=false '
                       'subject="Last call" message="Only {{days}} days left, \'{{name}}\'"')
    assert draft == Draft("2750", "2996", "REMINDER", "SMS", "CAPLOY", "Last call",
                          "Only {{days}} days left, '{{name}}'", "1", "false")
    with pytest.raises(Invalid) as caught:
        parse_text("2750 type=START colour=red offset=x")
    assert set(caught.value.errors) == {"colour", "channel", "sender", "message", "active", "target", "offset"}
    with pytest.raises(Invalid, match="close every quote"):
        parse_text('2750 2996 message="oops')


def test_created_and_updated_are_told_apart_with_the_changes() -> None:
    before = communication(sender="OLD", offsetDays=0)
    after = communication(attribution={"createdOn": "2025-11-01T10:00:00.000+0000",
                                       "lastUpdatedOn": "2025-11-11T12:50:03.444+0000"})
    fresh = communication(id=20, communicationType="FINISH")
    updated, created = classify([after, fresh], [before])
    assert not updated.created and updated.previous == before
    assert [(c.label, c.before, c.after) for c in updated.changes] == [
        ("sender", "OLD", "[email protected]"), ("offset days", "0", "1")]
    assert created.created and created.changes == ()
    # Without the previous values, the attribution decides: equal times mean it was just created.
    assert [saved.created for saved in classify([after, fresh], None)] == [False, True]


# --- following a change of type or channel -----------------------------------------------------------------------

START_SMS = communication(id=12, communicationType="START", channelId=1, subjectTemplate=None, sender="CAPLOY",
                          offsetDays=0, messageTemplate="Hi, spend more.")
REMINDER_EMAIL = communication(id=13, communicationType="REMINDER", channelId=2, subjectTemplate="Gold soon",
                               sender="loyalty@example.com", offsetDays=7, messageTemplate="Almost there.")
TODAY = (START_SMS, REMINDER_EMAIL)
OPENED = Draft.of(START_SMS)  # the form as /comm upsert 2750 2996 fills it
BASIS = basis_of(OPENED)


def test_a_field_counts_as_changed_only_when_its_shown_value_changed() -> None:
    assert edited(OPENED, BASIS) == ()
    assert edited(replace(OPENED, type="FINISH", group=" 2750 ", sender=" CAPLOY "), BASIS) == ()
    assert edited(replace(OPENED, sender="X", offset="2"), BASIS) == ("sender", "offset")
    assert normal("active", None) == normal("active", "yes") == "true" and normal("active", "off") == "false"
    # A form we did not fill: whatever is not at its default counts as the person's.
    assert edited(Draft(type="START", channel="1"), {}) == ("channel",)
    assert edited(OPENED, {}) == ("channel", "sender", "message", "offset")


def test_an_untouched_form_follows_the_type_to_its_communication() -> None:
    result = refill(replace(OPENED, type="REMINDER"), TODAY, BASIS, DEFAULT_CHANNELS)
    assert result.filled and result.current == REMINDER_EMAIL and result.kept == ()
    assert result.draft == Draft("2750", "2996", "REMINDER", "2", "loyalty@example.com", "Gold soon",
                                 "Almost there.", "7", "true")


def test_a_type_the_target_lacks_empties_the_fields_but_keeps_ids_and_channel() -> None:
    result = refill(replace(OPENED, type="CHANGE", group="2750 "), TODAY, BASIS, DEFAULT_CHANNELS)
    assert result.filled and result.current is None
    assert result.draft == Draft("2750 ", "2996", "CHANGE", "1")


def test_a_channel_the_person_chose_is_where_the_type_is_looked_for() -> None:
    on_push = refill(replace(OPENED, type="REMINDER", channel="3"), TODAY, BASIS, DEFAULT_CHANNELS)
    assert on_push.filled and on_push.current is None and on_push.draft.channel == "3"  # REMINDER on PUSH is new
    on_email = refill(replace(OPENED, type="REMINDER", channel="2"), TODAY, BASIS, DEFAULT_CHANNELS)
    assert on_email.current == REMINDER_EMAIL and on_email.draft.sender == "loyalty@example.com"
    back = refill(replace(on_push.draft, channel="1", type="START"), TODAY, basis_of(on_push.draft),
                  DEFAULT_CHANNELS)
    assert back.current == START_SMS and back.draft.sender == "CAPLOY"


def test_typed_fields_are_kept_and_the_existing_communication_offered() -> None:
    now = replace(OPENED, type="REMINDER", message="My words")
    result = refill(now, TODAY, BASIS, DEFAULT_CHANNELS)
    assert not result.filled and result.draft == now and result.kept == ("message",)
    assert result.current is None and result.offer == REMINDER_EMAIL  # saving creates REMINDER on SMS
    on_email = refill(replace(now, channel="2"), TODAY, BASIS, DEFAULT_CHANNELS)
    assert on_email.current == on_email.offer == REMINDER_EMAIL and not on_email.filled
