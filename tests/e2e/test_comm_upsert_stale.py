"""A /comm upsert form submitted after someone else changed what it showed is not saved: it comes back with the
values the person entered, what changed and who changed it, and submitting it again saves."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

from bot.target_comms.service import FILLED
from bot.target_comms.stale import MAX_SEEN, seen_of
from bot.vendors.capillary.loyalty import CommunicationItem, TargetCommunication
from handlers.comm.upsert_blocks import FormMeta
from tests.e2e.conftest import ALICE, BOB, Bot
from tests.e2e.test_comm_upsert import (
    UPSERT,
    dump,
    open_form,
    outcome_view,
    refilled,
    submit,
    text_of,
    values,
)

BOBS = 'type=START channel=SMS sender=CAPLOY offset=3 active=true message="Bob was here"'


async def bob_saves(bot: Bot, fields: str = BOBS) -> None:
    response = await bot.command("/comm", f"upsert 2750 2996 {fields}", user=BOB)
    assert "Saving" in response.text, response.text
    await bot.slack.wait_for("chat.postMessage")
    await bot.settle()
    bot.slack.clear()


async def sent_back(bot: Bot, view: dict[str, Any], typed: dict[str, Any]) -> dict[str, Any]:
    """Submit; return the form the bot put back (a stale submission), as it now stands."""
    answer = await submit(bot, view, typed)
    assert answer["response_action"] == "update"  # "saving…" first: the check needs Capillary, after the ack
    back = (await outcome_view(bot, view)).args["view"]
    await bot.settle()
    bot.slack.clear()
    return copy.deepcopy({**bot.slack.views[view["id"]], **back})


def stale_note(view: dict[str, Any]) -> str:
    return next(block["text"]["text"] for block in view["blocks"] if block.get("block_id") == "stale")


async def stale_rows(bot: Bot) -> list[Any]:
    await bot.settle()
    return [row for row in await bot.services.audit.query(limit=None) if row.error_code == "stale"]


async def test_a_form_filled_before_someone_elses_edit_comes_back_and_saves_on_the_second_submit(bot: Bot) -> None:
    view = await open_form(bot)  # START · SMS, id 12, as it was
    await bob_saves(bot)
    assert len(await bot.vendor_calls(UPSERT)) == 1

    back = await sent_back(bot, view, {"sender": "LOYALT"})
    note = stale_note(back)
    assert "Not saved: someone changed the START · SMS communication (id 12) after this form was filled" in note
    assert "• message: `Bob was here`" in note and "• offset days: `3`" in note and "sender" not in note.split(
        "What changed:")[1].split("Last saved")[0]
    assert f"Last saved through commops by <@{BOB[0]}> <!date^" in note and "Capillary: last updated by *" in note
    assert values(back)["sender"] == "LOYALT"  # what alice entered stays, her message and offset included
    assert values(back)["message"] == "Hi {{first_name}}, spend 10,000 in 30 days to unlock Gold perks."
    assert back["submit"]["text"] == "Save"
    assert len(await bot.vendor_calls(UPSERT)) == 1  # nothing saved over bob's edit
    rows = await stale_rows(bot)
    assert [(row.action, row.outcome, row.user_id, row.communication_id) for row in rows] == [
        ("comm.upsert", "invalid", ALICE[0], "12")]
    assert rows[0].attempt_id and rows[0].arguments["changed"] == "message, offset"

    # Deciding again, now knowing bob's values: the same form, submitted again, saves.
    await submit(bot, back, {})
    done = await outcome_view(bot, back)
    assert "communication 12 updated" in dump(done.args["view"])
    posted = text_of((await bot.slack.wait_for("chat.postMessage")).args)
    assert "message: `Bob was here` → `Hi {{first_name}}" in posted and "sender: `CAPLOY` → `LOYALT`" in posted
    assert len(await bot.vendor_calls(UPSERT)) == 2


async def test_an_old_form_submitted_again_does_not_put_the_old_template_back(bot: Bot) -> None:
    view = await open_form(bot)
    await submit(bot, view, {"message": "Alice's first words"})
    await outcome_view(bot, view)
    await bot.slack.wait_for("chat.postMessage")
    await bot.settle()
    bot.slack.clear()
    await bob_saves(bot)

    back = await sent_back(bot, view, {"message": "Alice's first words"})  # the first form, sent once more
    assert "• message: `Bob was here`" in stale_note(back)
    stored = [call["json"] for call in await bot.vendor_calls(UPSERT)]
    assert [items[0]["messageTemplate"] for items in stored] == ["Alice's first words", "Bob was here"]


async def test_a_communication_created_after_the_form_read_the_target_is_not_overwritten(bot: Bot) -> None:
    view = await open_form(bot, "2750 2996 CHANGE")  # none of that type yet: an empty form, "New"
    await bob_saves(bot, BOBS.replace("type=START", "type=CHANGE"))
    back = await sent_back(bot, view, {"channel": "1", "sender": "ALICE", "message": "Alice's change",
                                       "offset": "1"})
    note = stale_note(back)
    assert "someone created the CHANGE · SMS communication (id 17) after this form read the target" in note
    assert "• message: `Bob was here`" in note and "• sender: `CAPLOY`" in note
    assert "Editing the existing CHANGE · SMS communication" in dump(back)  # the status line now knows it
    assert values(back)["message"] == "Alice's change"
    assert len(await bot.vendor_calls(UPSERT)) == 1
    await submit(bot, back, {})
    assert "communication 17 updated" in dump((await outcome_view(bot, back)).args["view"])


async def test_a_switch_of_type_with_the_values_kept_is_checked_against_what_the_switch_read(bot: Bot) -> None:
    view = await open_form(bot)
    after, _ = await refilled(bot, view, "type", "REMINDER", {"sender": "MYSEND"})  # kept: REMINDER · SMS is new
    assert values(after)["sender"] == "MYSEND" and values(after)["channel"] == "1"
    await bob_saves(bot, BOBS.replace("type=START", "type=REMINDER"))
    back = await sent_back(bot, after, {})
    assert "someone created the REMINDER · SMS communication (id 17)" in stale_note(back)
    assert len(await bot.vendor_calls(UPSERT)) == 1


async def test_an_edit_made_outside_the_bot_is_named_from_capillarys_attribution(bot: Bot) -> None:
    view = await open_form(bot)
    item = CommunicationItem.model_validate({
        "active": False, "channelId": 1, "communicationType": "START", "messageTemplate": "Edited in Capillary",
        "offsetDays": 0, "sender": "CAPLOY", "subjectTemplate": None})
    await bot.services.capillary.upsert_communications(2750, 2996, [item])  # not through the bot: no audit row
    back = await sent_back(bot, view, {})
    note = stale_note(back)
    assert "• message: `Edited in Capillary`" in note and "• active: `false`" in note
    assert "through commops" not in note and "Capillary: last updated by *" in note
    assert len(await bot.vendor_calls(UPSERT)) == 1


async def test_the_one_line_form_has_no_basis_and_saves_as_before(bot: Bot) -> None:
    view = await open_form(bot)
    await bob_saves(bot)
    await bob_saves(bot, BOBS.replace("Bob was here", "Bob again"))  # a second one-line save: never checked
    assert len(await bot.vendor_calls(UPSERT)) == 2
    assert json.loads(view["private_metadata"])["seen"]  # only forms carry what they read
    assert await stale_rows(bot) == []


def test_what_a_form_remembers_fits_its_private_metadata() -> None:
    stamp = datetime(2026, 1, 1, tzinfo=UTC).isoformat()
    items = [TargetCommunication.model_validate({
        "id": index, "attribution": {"createdOn": stamp, "lastUpdatedOn": stamp}, "targetId": 1, "targetGroupId": 1,
        "communicationType": "REMINDER", "channelId": 100 + index, "subjectTemplate": "s" * 250,
        "messageTemplate": "m" * 2900, "sender": "x" * 100, "offsetDays": 365, "active": True,
    }) for index in range(MAX_SEEN)]
    meta = FormMeta(channel_id="C0OPS0001", basis={name: "0123456789" for name in FILLED},
                    seen=seen_of(items))
    assert len(meta.dump()) < 3000  # Slack's limit on private_metadata
    assert seen_of([*items, items[0]]) is None  # past the limit the form checks nothing rather than overflow

