"""/comm upsert over signed HTTP against the Slack emulator and the sandbox: modal, validation, save, confirmation."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import httpx

from bot.devtools import slack_payloads as payloads
from bot.devtools.slack_emulator import Call
from tests.bot.devtools.test_shell import run_shell as run_shell_process
from tests.conftest import Sandbox
from tests.e2e.conftest import ALICE, BOB, CHANNEL, Bot, running_bot

UPSERT = "/v3/targetGroups/2750/targets/2996/communications/upsert"
LIST = "/v3/targetGroups/2750/targets/2996/communications"
NEW = {"type": "FINISH", "channel": "1", "sender": "CAPLOY", "message": "You made Gold!", "offset": "0",
       "active": "true"}


def dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def text_of(args: dict[str, Any]) -> str:
    return str(args.get("text", "")) + dump(args.get("blocks", ""))


def inputs(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {block["block_id"]: block["element"] for block in view["blocks"] if block["type"] == "input"}


def initial(element: dict[str, Any]) -> str | None:
    option = element.get("initial_option")
    return option["value"] if option else element.get("initial_value")


async def open_form(bot: Bot, text: str = "2750 2996") -> dict[str, Any]:
    """Run the command; return the modal once it shows the form (after the loading view when ids are given)."""
    response = await bot.command("/comm", f"upsert {text}".strip())
    assert response.status_code == 200 and response.text == ""
    opened = await bot.slack.wait_for("views.open")
    assert opened.result is not None
    view_id = opened.result["view"]["id"]
    if text:
        assert "Reading the communications" in dump(opened.args["view"])
        await bot.slack.wait_for("views.update", lambda call: call.args.get("view_id") == view_id)
    bot.slack.clear()  # wait_for also matches past calls: from here on only the submission's count
    return copy.deepcopy(bot.slack.views[view_id])  # a snapshot: the emulator updates its own in place


async def submit(bot: Bot, view: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    body = payloads.view_submission(view, values, user_id=ALICE[0], user_name=ALICE[1],
                                    trigger_id=bot.slack.new_trigger_id(view_id=view["id"]))
    response = await bot.post(body)
    assert response.status_code == 200
    return response.json() if response.text else {}


async def outcome_view(bot: Bot, view: dict[str, Any]) -> Call:
    return await bot.slack.wait_for("views.update", lambda call: call.args.get("view_id") == view["id"])


async def test_the_modal_opens_at_once_with_every_field(bot: Bot) -> None:
    view = await open_form(bot, "")
    fields = inputs(view)
    assert list(fields) == ["group", "target", "type", "channel", "sender", "subject", "message", "offset",
                            "active"]
    assert [o["value"] for o in fields["type"]["options"]] == ["START", "FINISH", "CHANGE", "REMINDER"]
    assert [o["text"]["text"] for o in fields["channel"]["options"]] == ["SMS (1)", "EMAIL (2)", "MOBILE PUSH (3)"]
    assert fields["message"]["multiline"] is True
    meta = json.loads(view["private_metadata"])
    assert meta["channel_id"] == CHANNEL and set(meta["basis"]) == {"channel", "sender", "subject", "message",
                                                                    "offset", "active"}
    assert [block.get("dispatch_action", False) for block in view["blocks"] if block["type"] == "input"] == [
        False, False, True, True, False, False, False, False, False]
    assert view["callback_id"] == "comm.upsert" and view["submit"]["text"] == "Save"


async def test_the_form_is_prefilled_from_todays_values(bot: Bot) -> None:
    view = await open_form(bot)
    fields = inputs(view)
    assert {name: initial(element) for name, element in fields.items()} == {
        "group": "2750", "target": "2996", "type": "START", "channel": "1", "sender": "CAPLOY", "subject": None,
        "message": "Hi {{first_name}}, spend 10,000 in 30 days to unlock Gold perks.", "offset": "0",
        "active": "true"}
    assert "START · SMS (id 12)" in dump(view) and "REMINDER · EMAIL (id 13)" in dump(view)
    assert len(await bot.vendor_calls(LIST)) == 1


async def test_a_type_after_the_ids_picks_which_communication_to_start_from(bot: Bot) -> None:
    fields = inputs(await open_form(bot, "2750 2996 reminder"))
    assert initial(fields["type"]) == "REMINDER" and initial(fields["channel"]) == "2"
    assert initial(fields["subject"]) == "Only a few days left for Gold" and initial(fields["offset"]) == "7"
    fields = inputs(await open_form(bot, "2750 2996 CHANGE"))  # none of that type yet: an empty form of it
    assert initial(fields["type"]) == "CHANGE" and initial(fields["sender"]) is None
    response = await bot.command("/comm", "upsert 2750 2996 PAUSE")
    assert "at most a type" in response.text


async def test_an_unknown_target_opens_the_form_with_the_reason(bot: Bot) -> None:
    view = await open_form(bot, "2750 9999")
    assert "Today's values could not be read" in dump(view) and "9999" in dump(view)
    assert initial(inputs(view)["group"]) == "2750" and initial(inputs(view)["target"]) == "9999"


async def test_each_validation_error_shows_under_its_field_and_nothing_is_called(bot: Bot) -> None:
    view = await open_form(bot, "")
    answer = await submit(bot, view, {"group": "-3", "target": "abc", "type": None, "channel": "2", "sender": "",
                                      "subject": "", "message": "", "offset": "400", "active": None})
    assert answer["response_action"] == "errors"
    errors = answer["errors"]
    assert set(errors) == {"group", "target", "type", "sender", "subject", "message", "offset", "active"}
    assert "EMAIL communication needs a subject" in errors["subject"]
    assert "0 to 365" in errors["offset"]
    answer = await submit(bot, view, {**NEW, "group": "2750", "target": "2996", "offset": "1.5",
                                      "sender": "x" * 101})
    assert set(answer["errors"]) == {"offset", "sender"}
    await bot.settle()
    assert await bot.vendor_calls(UPSERT) == []


async def test_a_new_communication_is_created_with_attribution(bot: Bot) -> None:
    view = await open_form(bot)
    answer = await submit(bot, view, NEW)
    assert answer["response_action"] == "update" and "Saving FINISH · SMS" in dump(answer["view"])
    done = await outcome_view(bot, view)
    assert "communication 17 created" in dump(done.args["view"])
    posted = await bot.slack.wait_for("chat.postMessage")
    assert posted.args["channel"] == CHANNEL
    shown = text_of(posted.args)
    assert "FINISH · SMS communication 17 created for target 2996 in group 2750" in shown
    assert "Created by *" in shown and "<!date^" in shown and "What changed" not in shown
    sent = (await bot.vendor_calls(UPSERT))[0]
    assert sent["json"] == [{"active": True, "channelId": 1, "communicationType": "FINISH",
                             "messageTemplate": "You made Gold!", "offsetDays": 0, "sender": "CAPLOY",
                             "subjectTemplate": None}]
    rows = await bot.services.audit.query()
    assert any(row.action == "comm.upsert" and row.outcome == "ok" and row.communication_id == "17" for row in rows)


async def test_an_update_lists_what_changed(bot: Bot) -> None:
    view = await open_form(bot)
    await submit(bot, view, {"sender": "LOYALT", "offset": "2"})
    await outcome_view(bot, view)
    shown = text_of((await bot.slack.wait_for("chat.postMessage")).args)
    assert "START · SMS communication 12 updated" in shown
    assert "Updated by *" in shown and "; created by *" in shown
    assert "sender: `CAPLOY` → `LOYALT`" in shown and "offset days: `0` → `2`" in shown
    assert "message:" not in shown  # unchanged fields are not listed


async def test_vendor_errors_keep_the_values_and_nothing_is_retried(bot: Bot) -> None:
    for rule, says in [({"kind": "status", "status": 403, "code": 4000}, "Target Loyalty"),
                       ({"kind": "status", "status": 500}, "HTTP 500"),
                       ({"kind": "timeout"}, "may have gone through"),
                       ({"kind": "status", "status": 400, "code": 400}, "Not saved")]:
        view = await open_form(bot)
        before = len(await bot.vendor_calls(UPSERT))
        await bot.fault(path=UPSERT, **rule)
        await submit(bot, view, {"sender": "NEWSND"})
        back = (await outcome_view(bot, view)).args["view"]
        assert says in dump(back), rule
        assert initial(inputs(back)["sender"]) == "NEWSND" and initial(inputs(back)["type"]) == "START"
        assert back["submit"]["text"] == "Save"
        assert len(await bot.vendor_calls(UPSERT)) == before + 1  # one attempt, never a second


async def test_the_one_line_form_upserts_and_confirms(bot: Bot) -> None:
    response = await bot.command("/comm", 'upsert 2163 2318 type=START channel=email sender="ops@example.com" '
                                          'offset=3 active=no subject="Two visits" message="Come back, twice!"')
    assert "Saving the START communication of target 2318 in group 2163" in response.text
    shown = text_of((await bot.slack.wait_for("chat.postMessage")).args)
    assert "START · EMAIL communication 17 created" in shown and "Two visits" in shown


async def test_the_one_line_form_names_each_bad_field(bot: Bot) -> None:
    response = await bot.command("/comm", "upsert 2750 x type=NOPE channel=FAX offset=-1 colour=red")
    text = response.text
    for name in ("target", "type", "channel", "sender", "message", "offset", "active", "colour"):
        assert f"*{name}*" in text, name
    assert "/comm upsert" in text  # the usage follows the list
    await bot.settle()
    assert await bot.vendor_calls(UPSERT) == []


async def test_help_and_unknown_sub_commands_list_upsert(bot: Bot) -> None:
    for text in ("help", "frobnicate"):
        response = await bot.command("/comm", text)
        assert "/comm upsert [&lt;groupId&gt; &lt;targetId&gt; [&lt;type&gt;]]" in response.text


def test_the_shell_fills_and_submits_the_form_and_takes_the_one_line_form(tmp_path: Path) -> None:
    # `python -m bot shell` through its stdin. Group and target kept, FINISH, SMS, a sender, no subject, a
    # two-line message, then a bad offset (the form asks again for that field only), then a good one.
    lines = ["/comm upsert 2750 2997", "", "", "2", "1", "CAPLOY", "", "Well done,", "Gold member.", ".", "abc",
             "", "5",
             '/comm upsert 2750 2996 type=START channel=SMS sender=X offset=1 active=true message="Hi there"',
             "quit"]
    result = run_shell_process(lines, tmp_path)
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert "┌─ Target communication" in out and "This target has no communications yet." in out
    assert "Offset days is a whole number" in out
    assert "FINISH · SMS communication 17 created for target 2997 in group 2750" in out
    assert "OFFSET DAYS 5" in out and "Well done,\n  Gold member." in out
    assert "START · SMS communication 12 updated" in out and "• sender: `CAPLOY` → `X`" in out
    assert "Traceback" not in out + result.stderr


def test_the_shell_form_follows_a_change_of_type(tmp_path: Path) -> None:
    # Ids kept, type REMINDER (4): the bot refills the form with REMINDER · EMAIL's values, which the following
    # prompts offer; a new sender, the rest kept, saved as an update of communication 13.
    lines = ["/comm upsert 2750 2996", "", "", "4", "", "ops@example.com", "", "", "", "", "quit"]
    result = run_shell_process(lines, tmp_path)
    out = result.stdout
    assert result.returncode == 0, result.stderr
    before, after = out.split("Communication type [START] (number): ")
    assert "│   Editing the existing START · SMS communication (id 12); saving updates it." in before
    # The lines the refill changed are shown before the form goes on with the values it now holds.
    assert after.startswith("│   Editing the existing REMINDER · EMAIL communication (id 13); saving updates it.\n")
    assert "Today this target has" not in after.split("Channel [")[0]  # unchanged lines are not repeated
    assert "Channel [EMAIL (2)]" in after and "Sender [loyalty@example.com]" in after
    assert "Offset days [7]" in after
    assert "REMINDER · EMAIL communication 13 updated" in out
    assert "• sender: `loyalty@example.com` → `ops@example.com`" in out
    assert "Traceback" not in out + result.stderr


# --- the form follows a change of type or channel --------------------------------------------------------------


async def change(bot: Bot, view: dict[str, Any], block_id: str, choice: str, typed: dict[str, Any] | None = None,
                 *, user: tuple[str, str] = ALICE) -> httpx.Response:
    """Pick ``choice`` in the type or channel select of ``view`` after typing ``typed``, as Slack reports it: a
    block_actions whose view carries the state of every field."""
    action = payloads.select_action(view, inputs(view)[block_id]["action_id"], choice)
    state = payloads.view_state(view, {**(typed or {}), block_id: choice})
    body = payloads.block_actions(action, user_id=user[0], user_name=user[1],
                                  view={**view, "state": {"values": state}},
                                  trigger_id=bot.slack.new_trigger_id(view_id=view["id"]))
    response = await bot.post(body)
    assert response.status_code == 200 and response.text == ""  # acked at once, nothing said on the ack
    return response


async def refilled(bot: Bot, view: dict[str, Any], block_id: str, choice: str,
                   typed: dict[str, Any] | None = None) -> tuple[dict[str, Any], Call]:
    """Change the type or channel; return the form the bot put in its place and the views.update call."""
    await change(bot, view, block_id, choice, typed)
    call = await outcome_view(bot, view)
    bot.slack.clear()
    return copy.deepcopy(bot.slack.views[view["id"]]), call


def values(view: dict[str, Any]) -> dict[str, str | None]:
    return {name: initial(element) for name, element in inputs(view).items()}


def action_ids(view: dict[str, Any]) -> dict[str, str]:
    return {name: element["action_id"] for name, element in inputs(view).items()}


def context_text(view: dict[str, Any], block_id: str) -> str:
    found = [block for block in view["blocks"] if block.get("block_id") == block_id]
    return found[0]["elements"][0]["text"] if found else ""


async def test_changing_the_type_fills_in_that_types_values(bot: Bot) -> None:
    view = await open_form(bot)
    assert "Editing the existing START · SMS communication* (id 12)" in context_text(view, "status")
    after, call = await refilled(bot, view, "type", "REMINDER")
    assert call.args["hash"] == view["hash"]  # never over a view that changed meanwhile
    assert values(after) == {
        "group": "2750", "target": "2996", "type": "REMINDER", "channel": "2", "sender": "loyalty@example.com",
        "subject": "Only a few days left for Gold",
        "message": "Hi {{first_name}}, you are {{remaining}} away from Gold.", "offset": "7", "active": "true"}
    assert "Editing the existing REMINDER · EMAIL communication* (id 13); saving updates it" in context_text(
        after, "status")
    # Slack shows a new initial value only under a new action id; the fields that keep their value keep theirs.
    before_ids, after_ids = action_ids(view), action_ids(after)
    assert {name for name in before_ids if before_ids[name] != after_ids[name]} == {
        "channel", "sender", "subject", "message", "offset"}
    assert len(await bot.vendor_calls(LIST)) == 2  # opening, then the change
    answer = await submit(bot, after, {})
    assert "Saving REMINDER · EMAIL for target 2996" in dump(answer["view"])
    done = await outcome_view(bot, after)
    assert "REMINDER · EMAIL communication 13 updated" in dump(done.args["view"])


async def test_a_type_or_channel_the_target_lacks_clears_the_fields_and_says_new(bot: Bot) -> None:
    view = await open_form(bot)
    after, _ = await refilled(bot, view, "type", "CHANGE")
    assert values(after) == {"group": "2750", "target": "2996", "type": "CHANGE", "channel": "1", "sender": None,
                             "subject": None, "message": None, "offset": None, "active": "true"}
    assert "*New:* this target has no CHANGE · SMS communication yet; saving creates it" in context_text(
        after, "status")
    back, _ = await refilled(bot, after, "type", "START")  # nothing was typed: START's values again
    assert values(back)["sender"] == "CAPLOY" and values(back)["offset"] == "0"
    email, _ = await refilled(bot, back, "channel", "2")  # START on EMAIL does not exist yet
    assert values(email)["channel"] == "2" and values(email)["type"] == "START" and values(email)["sender"] is None
    assert "no START · EMAIL communication yet" in context_text(email, "status")
    reminder, _ = await refilled(bot, email, "type", "REMINDER")  # REMINDER is on EMAIL: that one
    assert values(reminder)["sender"] == "loyalty@example.com"


async def test_what_was_typed_is_kept_and_the_existing_values_are_offered(bot: Bot) -> None:
    view = await open_form(bot)
    typed = {"sender": "MYSEND", "message": "My own words"}
    after, _ = await refilled(bot, view, "type", "REMINDER", typed)
    assert values(after) == {
        "group": "2750", "target": "2996", "type": "REMINDER", "channel": "1", "sender": "MYSEND", "subject": None,
        "message": "My own words", "offset": "0", "active": "true"}
    assert action_ids(after) == action_ids(view)  # so Slack keeps what is in the fields, even typed since
    note = context_text(after, "note")
    assert "You changed the sender and the message, so the form kept your values" in note
    assert "Today's REMINDER · EMAIL (id 13): sender `loyalty@example.com`" in note
    assert "`/comm upsert 2750 2996 REMINDER`" in note
    assert "*New:* this target has no REMINDER · SMS communication yet" in context_text(after, "status")
    # A second change still knows the fields were typed, though the form now shows them as its own values.
    again, _ = await refilled(bot, after, "type", "START")
    assert values(again)["sender"] == "MYSEND" and values(again)["message"] == "My own words"
    assert "Editing the existing START · SMS communication" in context_text(again, "status")


async def test_a_failed_lookup_keeps_the_values_and_says_why(bot: Bot) -> None:
    view = await open_form(bot)
    await bot.fault(path=LIST, method="GET", kind="status", status=403, code=4000)
    after, _ = await refilled(bot, view, "type", "REMINDER", {"sender": "MYSEND"})
    assert values(after)["sender"] == "MYSEND" and values(after)["type"] == "REMINDER"
    assert values(after)["message"] == values(view)["message"] and action_ids(after) == action_ids(view)
    note = context_text(after, "note")
    assert "Today's values could not be read" in note and "Target Loyalty" in note and "kept your values" in note
    assert after["submit"]["text"] == "Save"


async def test_a_forged_type_change_without_the_grant_is_denied(sandbox: Sandbox, tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(f'[[grant]]\nactions = ["comm.upsert"]\nusers = ["{ALICE[0]}"]\n')
    async with running_bot(sandbox, tmp_path, access_policy=policy) as bot:
        view = await open_form(bot)
        lookups = len(await bot.vendor_calls(LIST))
        await change(bot, view, "type", "REMINDER", user=BOB)  # bob replays alice's form
        await bot.settle()  # the denial is audited right after the ack
        rows = await bot.services.audit.query()
        assert [(row.action, row.outcome, row.user_id, row.error_code) for row in rows] == [
            ("comm.upsert", "denied", BOB[0], "not_granted")]
        assert rows[0].arguments["action_id"] == "comm.upsert.type"
        # A modal has no response URL: bob is told ephemerally in the channel the form was opened from.
        told = await bot.slack.wait_for("chat.postEphemeral")
        assert told.args["user"] == BOB[0] and "not allowed" in told.args["text"] and "comm.upsert" in told.args["text"]
        await bot.settle()
        assert bot.slack.calls("views.update", include_failed=True) == []
        assert len(await bot.vendor_calls(LIST)) == lookups


async def test_a_change_never_overwrites_a_form_already_submitted(bot: Bot) -> None:
    view = await open_form(bot)
    await submit(bot, view, {"sender": "NEWSND"})
    await outcome_view(bot, view)
    done = copy.deepcopy(bot.slack.views[view["id"]])
    assert "communication 12 updated" in dump(done)
    bot.slack.clear()
    await change(bot, view, "type", "REMINDER")  # sent before the submission, arriving after it
    failed = await bot.slack.wait_for("views.update", include_failed=True)
    assert failed.error == "hash_conflict"
    await bot.settle()
    assert bot.slack.calls("views.update") == []  # no second try over the submitted form
    assert bot.slack.views[view["id"]] == done


async def test_a_change_that_lost_the_race_to_an_earlier_refill_still_lands(bot: Bot) -> None:
    view = await open_form(bot)
    first, _ = await refilled(bot, view, "type", "REMINDER")
    await change(bot, view, "type", "CHANGE")  # picked before the first refill reached the client
    await bot.slack.wait_for("views.update", lambda call: call.error == "hash_conflict", include_failed=True)
    second = await bot.slack.wait_for("views.update")
    assert second.args["hash"] == first["hash"]
    after = bot.slack.views[view["id"]]
    assert values(after)["type"] == "CHANGE" and values(after)["sender"] is None
    assert values(after)["channel"] == "1"  # what the person saw when they chose CHANGE: SMS
    # New ids against the first refill's, so Slack shows these values rather than keeping the first refill's.
    assert all(action_ids(after)[name] != action_ids(first)[name] for name in ("channel", "sender", "message"))


async def test_a_one_line_upsert_whose_confirmation_slack_refuses_still_reaches_the_person(bot: Bot) -> None:
    bot.slack.fail_next("chat.postMessage", "internal_error", status=500, times=5)
    response = await bot.command("/comm", 'upsert 2163 2318 type=START channel=email sender="ops@example.com" '
                                          'offset=3 active=no subject="Two visits" message="Come back, twice!"')
    assert "Saving the START communication" in response.text
    told = await bot.reply()
    assert told.args["response_type"] == "ephemeral"
    assert "Saved, but the confirmation could not be posted" in text_of(told.args)
    assert "communication 17 created" in text_of(told.args)
    assert len(await bot.vendor_calls("/v3/targetGroups/2163/targets/2318/communications/upsert")) == 1
