"""The /comm upsert modal and confirmation, built without Slack and checked against the emulator's Block Kit rules."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.devtools.slack_emulator import _BlockChecker
from bot.devtools.slack_payloads import view_state
from bot.target_comms.service import DEFAULT_CHANNELS, Draft, UpsertOutcome, basis_of, classify, refill, validate
from bot.vendors.capillary.loyalty import TargetCommunication
from bot.vendors.errors import AccessDenied, Timeout
from handlers.comm.upsert_blocks import (
    DISPATCH_ACTIONS,
    FormMeta,
    action_ids,
    confirmation_blocks,
    confirmation_text,
    failure_text,
    form_view,
    initial_values,
    kept_text,
    read_form,
    saving_view,
    shown_values,
    status_text,
)
from tests.bot.target_comms.test_service import GOOD, OPENED, REMINDER_EMAIL, START_SMS, TODAY, answer_item


def valid(blocks: list[dict[str, Any]], limit: int) -> None:
    checker = _BlockChecker()
    checker.blocks(blocks, "/blocks", limit)
    assert checker.problems == []


def test_the_form_round_trips_what_it_shows() -> None:
    view = form_view(FormMeta(channel_id="C1"), GOOD, DEFAULT_CHANNELS)
    valid(view["blocks"], 100)
    draft = read_form(view_state(view))
    assert draft == Draft("2750", "2996", "START", "2", " ops@example.com ", "Hello", "Body\nline 2", "3", "true")
    assert FormMeta.load(view["private_metadata"]).channel_id == "C1"
    assert FormMeta.load("not json").channel_id is None
    assert FormMeta.load(FormMeta(basis=basis_of(GOOD)).dump()).basis == basis_of(GOOD)


def test_an_error_keeps_the_values_and_sits_on_top() -> None:
    error = AccessDenied("The Capillary API user lacks access on the “Target Loyalty” access-group resource (403).",
                         vendor="Capillary")
    view = form_view(FormMeta(), GOOD, DEFAULT_CHANNELS, problem=failure_text(error))
    assert view["blocks"][0]["block_id"] == "error" and "*Not saved.*" in view["blocks"][0]["text"]["text"]
    assert read_form(view_state(view)).sender == " ops@example.com "
    unsure = failure_text(Timeout("Capillary did not answer.", vendor="Capillary", maybe_applied=True))
    assert unsure.startswith("*The save may have gone through.*")


def test_an_unknown_channel_or_type_is_left_unselected() -> None:
    view = form_view(FormMeta(), Draft(type="PAUSE", channel="9"), DEFAULT_CHANNELS)
    elements = {block["block_id"]: block["element"] for block in view["blocks"] if block["type"] == "input"}
    assert "initial_option" not in elements["type"] and "initial_option" not in elements["channel"]
    assert elements["active"]["initial_option"]["value"] == "true"  # a new communication starts active


def outcome(created: bool) -> UpsertOutcome:
    request = validate(GOOD, DEFAULT_CHANNELS)
    after = TargetCommunication.model_validate(answer_item(
        channelId=2, attribution={"createdOn": "2025-11-01T10:00:00.000+0530",
                                  "lastUpdatedOn": "2025-11-11T18:20:03.444+0530",
                                  "createdBy": {"name": "ops.admin", "code": "ops.admin", "type": "ADMIN_USER"},
                                  "lastUpdatedBy": {"name": "madhurima", "code": "madhu_rima", "type": "TILL"}}))
    before = after.model_copy(update={"sender": "old@example.com", "message_template": "Old `text`\nline"})
    return UpsertOutcome(request, classify([after], [] if created else [before]), ("Deprecated API",))


@pytest.mark.parametrize("created", [True, False])
def test_the_confirmation_carries_fields_attribution_and_changes(created: bool) -> None:
    found = outcome(created)
    blocks = confirmation_blocks(found, "U0ALICE01", DEFAULT_CHANNELS)
    valid(blocks, 50)
    shown = json.dumps(blocks, ensure_ascii=False)
    assert "<@U0ALICE01>" in shown and "START · EMAIL communication 12" in shown
    assert "Capillary warns: Deprecated API" in shown
    updated_at = "<!date^1762865403^{date_short_pretty} at {time}|2025-11-11 12:50 UTC>"
    if created:
        assert "created for target 2996" in shown and "Created by *ops.admin (ADMIN_USER)*" in shown
        assert "What changed" not in shown
    else:
        assert f"Updated by *madhurima (madhu_rima, TILL)* {updated_at}" in shown
        assert "sender: `old@example.com` → `[email protected]`" in shown
        assert "message: “Old `text`\\nline” →" in shown
    assert confirmation_text(found).startswith("Target communications: START communication 12 ")


def test_the_saving_view_names_what_is_saved() -> None:
    view = saving_view(FormMeta(), validate(GOOD, DEFAULT_CHANNELS), DEFAULT_CHANNELS)
    valid(view["blocks"], 100)
    assert "Saving START · EMAIL for target 2996 in group 2750" in view["blocks"][0]["text"]["text"]
    assert "submit" not in view


def ids(view: dict[str, Any]) -> dict[str, str]:
    return {block["block_id"]: block["element"]["action_id"] for block in view["blocks"] if block["type"] == "input"}


def test_the_type_and_channel_dispatch_under_routed_action_ids() -> None:
    view = form_view(FormMeta(), OPENED, DEFAULT_CHANNELS, existing=TODAY)
    valid(view["blocks"], 100)
    dispatching = {block["block_id"]: block["element"]["action_id"] for block in view["blocks"]
                   if block.get("dispatch_action")}
    assert dispatching == {"type": "comm.upsert.type", "channel": "comm.upsert.channel"}
    assert set(DISPATCH_ACTIONS) == {"comm.upsert.type", "comm.upsert.type.alt", "comm.upsert.channel",
                                     "comm.upsert.channel.alt"}


def test_a_field_gets_its_other_action_id_only_when_it_is_to_show_another_value() -> None:
    view = form_view(FormMeta(), OPENED, DEFAULT_CHANNELS)
    wanted = refill(shown_values(view, {"block_id": "type", "selected_option": {"value": "REMINDER"}}), TODAY,
                    basis_of(OPENED), DEFAULT_CHANNELS).draft
    first = action_ids(view, initial_values(view), wanted)
    assert {name for name, action_id in first.items() if action_id != ids(view)[name]} == {
        "type", "channel", "sender", "subject", "message", "offset"}
    assert first["sender"] == "sender.alt" and first["channel"] == "comm.upsert.channel.alt"
    refilled = form_view(FormMeta(), wanted, DEFAULT_CHANNELS, ids=first)
    assert ids(refilled) == first and initial_values(refilled) == wanted
    back = action_ids(refilled, wanted, OPENED)  # and back again: the other id is the first one
    assert back["sender"] == "sender" and back["group"] == "group" and back["active"] == "active"
    assert action_ids(refilled, wanted, wanted) == first  # nothing to show anew: every id stays


def test_the_fields_hold_what_was_entered_over_their_initial_values() -> None:
    view = form_view(FormMeta(), OPENED, DEFAULT_CHANNELS)
    view["state"] = {"values": view_state(view, {"sender": "MINE", "message": "", "type": "FINISH"})}
    now = shown_values(view, {"block_id": "type", "selected_option": {"value": "CHANGE"}})
    assert (now.sender, now.message, now.type, now.offset) == ("MINE", None, "CHANGE", "0")
    assert shown_values({"blocks": view["blocks"]}) == initial_values(view) == OPENED


def test_the_status_says_new_or_editing() -> None:
    editing = status_text(OPENED, TODAY, DEFAULT_CHANNELS)
    assert editing is not None and "*Editing the existing START · SMS communication* (id 12)" in editing
    new = status_text(Draft(type="START", channel="2"), TODAY, DEFAULT_CHANNELS)
    assert new == "*New:* this target has no START · EMAIL communication yet; saving creates it."
    unsure = status_text(Draft(type="REMINDER"), TODAY, DEFAULT_CHANNELS)
    assert unsure is not None and "Choose the channel" in unsure and "REMINDER · EMAIL (id 13)" in unsure
    assert status_text(Draft(), TODAY, DEFAULT_CHANNELS) is None
    view = form_view(FormMeta(), OPENED, DEFAULT_CHANNELS, existing=[START_SMS, REMINDER_EMAIL], note="A note")
    assert [block.get("block_id") for block in view["blocks"][:2]] == ["status", "note"]


def test_the_kept_note_names_the_changed_fields_and_what_exists() -> None:
    result = refill(Draft("2750", "2996", "REMINDER", "1", "MINE", None, "x" * 300, "0", "true"), TODAY,
                    basis_of(OPENED), DEFAULT_CHANNELS)
    text = kept_text(result, "2750", "2996", DEFAULT_CHANNELS)
    assert text.startswith("You changed the sender and the message, so the form kept")
    assert "Today's REMINDER · EMAIL (id 13): sender `loyalty@example.com`, subject “Gold soon”" in text
    assert "`/comm upsert 2750 2996 REMINDER`" in text and len(text) < 700


def test_a_value_longer_than_the_form_holds_is_never_cut() -> None:
    from handlers.comm.upsert_blocks import _text_input

    block = _text_input("message", "Message", "x" * 4013, action_id="message", max_length=2900)
    assert "initial_value" not in block["element"]
    assert "4,013 characters" in block["hint"]["text"]
    short = _text_input("message", "Message", "hello", action_id="message", max_length=2900)
    assert short["element"]["initial_value"] == "hello"
