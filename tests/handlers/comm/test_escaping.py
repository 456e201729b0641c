"""/comm shows templates, senders, people, channel names, warnings and typed arguments as written."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from bot.audit.log import AuditEntry
from bot.target_comms.service import Draft, Invalid, Refill, UpsertOutcome, classify, validate
from bot.vendors.capillary.loyalty import TargetCommunication
from handlers.comm.audit import USAGE as AUDIT_USAGE
from handlers.comm.audit import audit_blocks, entry_line
from handlers.comm.command import usage
from handlers.comm.upsert import USAGE
from handlers.comm.upsert_blocks import (
    FormMeta,
    confirmation_blocks,
    confirmation_text,
    done_view,
    form_view,
    kept_text,
    saving_view,
    status_text,
    text_errors,
)
from tests.bot.target_comms.test_service import GOOD, answer_item
from tests.handlers.hostile import ESCAPED, HOSTILE, assert_inert

CHANNELS = {1: "SMS", 2: HOSTILE}
PERSON = {"name": HOSTILE, "code": "<@U123>", "type": "TILL"}
ALICE = "U0ALICE01"


def hostile_item(**changes: Any) -> TargetCommunication:
    return TargetCommunication.model_validate(answer_item(
        channelId=2, communicationType=HOSTILE, sender=HOSTILE, subjectTemplate=HOSTILE, messageTemplate=HOSTILE,
        attribution={"createdOn": "2025-11-01T10:00:00.000+0530", "lastUpdatedOn": "2025-11-11T18:20:03.444+0530",
                     "createdBy": PERSON, "lastUpdatedBy": PERSON}, **changes))


def hostile_outcome(created: bool) -> UpsertOutcome:
    after = hostile_item()
    before = after.model_copy(update={"sender": "<!here>", "message_template": "old & <b>"})
    request = validate(GOOD, {1: "SMS", 2: "EMAIL"})
    return UpsertOutcome(request, classify([after], [] if created else [before]), (HOSTILE,))


def test_the_confirmation_in_the_channel_shows_vendor_values_as_written() -> None:
    for created in (True, False):
        found = hostile_outcome(created)
        blocks = confirmation_blocks(found, ALICE, CHANNELS)
        shown = assert_inert([confirmation_text(found), blocks], live={f"<@{ALICE}>"})
        assert f"*/comm upsert* by <@{ALICE}>" in shown
        assert ESCAPED in confirmation_text(found)
        assert f"*Message template*\n{ESCAPED}" in shown and f"*{ESCAPED} (&lt;@U123&gt;, TILL)*" in shown
    assert "&lt;!here&gt;" in assert_inert(confirmation_blocks(hostile_outcome(False), ALICE, CHANNELS),
                                           live={f"<@{ALICE}>"})
    assert_inert(confirmation_blocks(hostile_outcome(True), "U1> <!channel", CHANNELS))


def test_the_modal_escapes_channel_names_but_keeps_input_values_exact() -> None:
    existing = (hostile_item(),)
    view = form_view(FormMeta(), Draft("2750", "2996", "START", "2", HOSTILE, HOSTILE, HOSTILE, "1", "true"), CHANNELS,
                     existing=existing, note=kept_text(Refill(GOOD, False, None, hostile_item(), ("message",)),
                                                       HOSTILE, "2996", CHANNELS))
    shown = assert_inert(view)
    assert ESCAPED in shown
    values = {block["block_id"]: block["element"].get("initial_value") for block in view["blocks"]
              if block["type"] == "input"}
    assert values["sender"] == values["message"] == HOSTILE  # what is saved, not what is shown
    labels = [option["text"]["text"] for block in view["blocks"] if block.get("block_id") == "channel"
              for option in block["element"]["options"]]
    assert f"{ESCAPED} (2)" in labels
    request = validate(Draft("2750", "2996", "START", "2", "x", "", "y", "1", "true"), CHANNELS)
    assert ESCAPED in assert_inert(saving_view(FormMeta(), request, CHANNELS))
    assert ESCAPED in (status_text(Draft(type="START", channel="2"), existing, CHANNELS) or "")
    done = done_view(FormMeta(), hostile_outcome(True), CHANNELS, "C0OPS0001")
    assert "<#C0OPS0001>" in assert_inert(done, live={"<#C0OPS0001>"})
    assert "&lt;!channel&gt;" in assert_inert(done_view(FormMeta(), hostile_outcome(True), CHANNELS, "<!channel>"))


def test_usage_texts_keep_their_placeholders() -> None:
    shown = usage()
    assert "`/comm upsert [&lt;groupId&gt; &lt;targetId&gt; [&lt;type&gt;]]`" in shown
    assert "<groupId>" not in shown
    assert usage("<!channel>").startswith(":warning: `&lt;!channel&gt;` is not a /comm sub-command.")
    assert_inert(usage("<!channel>"))
    errors = text_errors(Invalid({"sender": f"“{HOSTILE}” is too long"}), USAGE)
    assert ESCAPED in assert_inert(errors) and "`/comm upsert &lt;groupId&gt; &lt;targetId&gt; type=START" in errors
    assert "[n]" in AUDIT_USAGE


def entry(**changes: Any) -> AuditEntry:
    values: dict[str, Any] = {
        "id": 1, "at": datetime(2026, 11, 23, 12, 0, tzinfo=UTC), "user_id": ALICE, "user_name": HOSTILE,
        "team_id": None, "channel_id": "C0OPS0001", "action": "campaign.list", "outcome": "invalid",
        "arguments": {"text": HOSTILE}, "error_code": None, "error": None, "org_id": None, "communication_id": None,
        "resent_id": None, "campaign_id": None, "request_id": None, "latency_ms": None, "attempt_id": None}
    values.update(changes)
    return AuditEntry(**values)


def test_audit_lines_escape_arguments_and_link_only_real_ids() -> None:
    line = entry_line(entry(), show_user=True)
    assert f"<@{ALICE}>" in line and "in <#C0OPS0001>" in line
    assert "&lt;!channel&gt; Tom &amp; Jerry" in assert_inert(line, live={f"<@{ALICE}>", "<#C0OPS0001>"})
    forged = entry_line(entry(user_id="<!channel>", channel_id="<!here>", campaign_id=HOSTILE,
                              error_code="<x>"), show_user=True)
    assert "&lt;!channel&gt;" in assert_inert(forged) and "in &lt;!here&gt;" in forged
    assert_inert(audit_blocks([entry(), entry(communication_id="<@U123>", outcome="ok", resent_id="<!here>")],
                              True, 10), live={f"<@{ALICE}>", "<#C0OPS0001>"})
    assert json.dumps(entry().arguments) == json.dumps({"text": HOSTILE})  # the log keeps what was typed
