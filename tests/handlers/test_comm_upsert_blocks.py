"""The /comm upsert modal and confirmation, built without Slack and checked against the emulator's Block Kit rules."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.capillary.loyalty import TargetCommunication
from bot.communications import DEFAULT_CHANNELS, Draft, UpsertOutcome, classify, validate
from bot.slack_emulator import _BlockChecker
from bot.slack_payloads import view_state
from bot.vendor_errors import AccessDenied, Timeout
from handlers.comm_upsert_blocks import (
    FormMeta,
    confirmation_blocks,
    confirmation_text,
    failure_text,
    form_view,
    read_form,
    saving_view,
)
from tests.bot.test_communications import GOOD, answer_item


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
    blocks = confirmation_blocks(found, "U1", DEFAULT_CHANNELS)
    valid(blocks, 50)
    shown = json.dumps(blocks, ensure_ascii=False)
    assert "<@U1>" in shown and "START · EMAIL communication 12" in shown
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
