"""The access middleware in front of a real AsyncApp: signed requests in, Bolt's dispatch, the Slack emulator.

Listeners here only record that they ran; what matters is which requests reach them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import aiohttp
import pytest
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.access.policy import UnknownAction, build_access
from bot.actor import Actor
from bot.app import dispatch
from bot.audit.log import AuditEntry, AuditLog
from bot.devtools import slack_payloads as payloads
from bot.devtools.slack_emulator import SlackEmulator
from bot.store.engine import Store
from bot.store.schema import upgrade
from handlers.families import FAMILIES
from handlers.middleware.authorize import ANY, OPEN, Routes, install, merge_routes, metric_labels, resolve
from handlers.middleware.payloads import parse

SECRET = "unit-signing-secret"
OPS, ELSEWHERE = "C0OPS0001", "C0RANDOM1"
ALICE, GREG, MALLORY = ("U0ALICE01", "alice"), ("U0GREG001", "greg"), ("U0MALLORY", "mallory")
OPS_GROUP = "S0OPS0001"
POLICY = f"""
[[grant]]
actions = ["*"]
users = ["{ALICE[0]}"]
channels = ["{OPS}"]

[[grant]]
actions = ["resend"]
usergroups = ["{OPS_GROUP}"]
"""
ROUTES = Routes(
    commands={"/resend": {ANY: "resend"}, "/campaign": {"pause": "campaign.pause", "status": "campaign.status"},
              "/comm": {"audit": OPEN}},
    actions={"resend.anyway": "resend", "campaign.pick": "campaign.status"},
    views={"comm.upsert": "comm.upsert"},
)
FORM = {
    "type": "modal", "callback_id": "comm.upsert", "title": {"type": "plain_text", "text": "Upsert"},
    "submit": {"type": "plain_text", "text": "Save"},
    "blocks": [{"type": "input", "block_id": "subject", "label": {"type": "plain_text", "text": "Subject"},
                "element": {"type": "plain_text_input", "action_id": "value"}}],
}
MESSAGE = {
    "ts": "1700000000.000100", "text": "Resend",
    "blocks": [{"type": "section", "block_id": "resend:42", "text": {"type": "mrkdwn", "text": "42 was resent"},
                "accessory": {"type": "button", "action_id": "resend.anyway", "value": "42",
                              "text": {"type": "plain_text", "text": "Resend anyway"}}}],
}


@dataclass
class Harness:
    app: AsyncApp
    slack: SlackEmulator
    audit: AuditLog
    ran: list[str] = field(default_factory=list)
    attempts: list[str] = field(default_factory=list)
    actors: list[Actor] = field(default_factory=list)

    async def send(self, body: str) -> tuple[int, Any]:
        response = await dispatch(self.app, body, payloads.sign(body, SECRET))
        text = response.body
        return response.status, json.loads(text) if text.startswith("{") else text

    async def command(self, command: str, text: str, user: tuple[str, str] = ALICE,
                      channel: str = OPS) -> tuple[int, Any]:
        return await self.send(payloads.slash_command(
            command, text, user_id=user[0], user_name=user[1], channel_id=channel,
            response_url=self.slack.new_response_url(channel_id=channel, user_id=user[0]),
            trigger_id=self.slack.new_trigger_id()))

    async def click(self, action_id: str = "resend.anyway", user: tuple[str, str] = ALICE,
                    channel: str = OPS) -> tuple[int, Any]:
        message = dict(MESSAGE)
        if action_id != "resend.anyway":
            message["blocks"] = [{**MESSAGE["blocks"][0], "accessory": {  # type: ignore[dict-item]
                **MESSAGE["blocks"][0]["accessory"], "action_id": action_id}}]  # type: ignore[index]
        action = payloads.button_action(message, action_id=action_id)
        return await self.send(payloads.block_actions(
            action, user_id=user[0], user_name=user[1], channel_id=channel, message=message,
            response_url=self.slack.new_response_url(channel_id=channel, user_id=user[0], message_ts=MESSAGE["ts"]),
            trigger_id=self.slack.new_trigger_id()))

    async def submit(self, view: dict[str, Any], user: tuple[str, str] = ALICE) -> tuple[int, Any]:
        return await self.send(payloads.view_submission(view, {"subject": "Hi"} if _inputs(view) else None,
                                                         user_id=user[0], user_name=user[1],
                                                         trigger_id=self.slack.new_trigger_id()))

    async def rows(self, count: int) -> list[AuditEntry]:
        """The audit rows once there are ``count`` (denials are written just after the ack)."""
        for _ in range(200):
            found = await self.audit.query()
            if len(found) >= count:
                return found
            await asyncio.sleep(0.01)
        raise AssertionError(f"expected {count} audit rows, found {await self.audit.query()}")


def _inputs(view: dict[str, Any]) -> bool:
    return any(block.get("type") == "input" for block in view["blocks"])


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY)
    async with _harness(tmp_path, policy) as running:
        yield running


@pytest.fixture
async def no_policy(tmp_path: Path) -> AsyncIterator[Harness]:
    async with _harness(tmp_path, None) as running:
        yield running


@contextlib.asynccontextmanager
async def _harness(tmp_path: Path, policy: Path | None) -> AsyncIterator[Harness]:
    slack = SlackEmulator()
    async with slack.serve(), aiohttp.ClientSession() as session:
        store = Store(f"sqlite+aiosqlite:///{tmp_path}/unit.db")
        await upgrade(store)
        audit = AuditLog(store)
        client = AsyncWebClient(token="xoxb-unit", base_url=slack.api_url, session=session)
        # process_before_response: listeners finish before dispatch returns, so "did not run" is certain.
        app = AsyncApp(client=client, signing_secret=SECRET, process_before_response=True,
                       raise_error_for_unhandled_request=False)
        install(app, access=build_access(policy), audit=audit, routes=ROUTES)
        harness = Harness(app, slack, audit)
        _listeners(app, harness)
        try:
            yield harness
        finally:
            await store.close()


def _listeners(app: AsyncApp, harness: Harness) -> None:
    async def ran(ack: AsyncAck, body: dict[str, Any], actor: Actor, attempt_id: str) -> None:
        harness.ran.append(str(body.get("command") or body.get("type")))
        harness.attempts.append(attempt_id)
        harness.actors.append(actor)
        await ack()

    for command in ("/resend", "/campaign", "/comm", "/secret"):
        app.command(command)(ran)
    for action_id in ("resend.anyway", "mystery.button"):
        app.action(action_id)(ran)
    app.options("campaign.pick")(ran)
    app.view("comm.upsert")(ran)
    app.view("unrouted.form")(ran)
    app.shortcut("global.thing")(ran)
    app.event("app_mention")(ran)


# --- resolving requests to actions ------------------------------------------------------------------------------


def test_commands_resolve_by_first_word_with_usage_open() -> None:
    def action(command: str, text: str) -> str | None:
        body = dict(parse_qsl(payloads.slash_command(command, text, user_id=ALICE[0], user_name=ALICE[1],
                                                     channel_id=OPS, response_url="https://hooks.slack.com/x",
                                                     trigger_id="1.2.3"), keep_blank_values=True))
        return resolve(parse(body), ROUTES).action

    assert action("/resend", "1746061653596 42") == "resend"
    assert action("/campaign", "Pause Diwali") == "campaign.pause"
    assert action("/campaign", "pause\u3000Diwali") == "campaign.pause"  # every Unicode space separates words
    assert action("/campaign", "\u00a0status\u00a0") == "campaign.status"
    assert action("/campaign", "help") == OPEN and action("/campaign", "") == OPEN
    assert action("/campaign", "\u3000") == OPEN
    assert action("/campaign", "frob") is None  # no "*" for /campaign: an unknown word is unknown
    assert action("/secret", "anything") is None


def test_the_real_handler_modules_route_what_they_register() -> None:
    routes = merge_routes(family.ROUTES for family in FAMILIES)
    assert routes.commands["/resend"][ANY] == "resend"
    assert routes.actions["resend.anyway"] == "resend"
    assert routes.commands["/comm"]["audit"] == OPEN


def test_metric_labels_name_only_declared_routes() -> None:
    def labels(raw: str) -> tuple[str, str]:
        form = dict(parse_qsl(raw, keep_blank_values=True))
        payload = parse(json.loads(form["payload"]) if "payload" in form else form)
        return metric_labels(resolve(payload, ROUTES), payload, ROUTES)

    def command(name: str) -> str:
        return payloads.slash_command(name, "1 2", user_id=ALICE[0], user_name=ALICE[1], channel_id=OPS,
                                      response_url="https://hooks.slack.com/x", trigger_id="1.2.3")

    def click(action_id: str) -> str:
        action = {"type": "button", "action_id": action_id, "block_id": "b", "value": "1", "action_ts": "1.2"}
        return payloads.block_actions(action, user_id=ALICE[0], user_name=ALICE[1], channel_id=OPS,
                                      message={"ts": "1.2", "text": "x", "blocks": []},
                                      response_url="https://hooks.slack.com/x", trigger_id="1.2.3")

    def form(callback_id: str, closed: bool = False) -> str:
        view = {"id": "V1", "type": "modal", "callback_id": callback_id, "blocks": [],
                "title": {"type": "plain_text", "text": "x"}}
        if closed:
            return payloads.view_closed(view, user_id=ALICE[0], user_name=ALICE[1])
        return payloads.view_submission(view, {}, user_id=ALICE[0], user_name=ALICE[1], trigger_id="1.2.3")

    assert labels(command("/resend")) == ("command", "/resend")
    assert labels(command("/made-up")) == ("command", "other")
    assert labels(click("resend.anyway")) == ("action", "resend.anyway")
    assert labels(click("x" * 250)) == ("action", "other")
    assert labels(form("comm.upsert")) == ("view", "comm.upsert")
    assert labels(form("forged", closed=True)) == ("view", "other")


def test_a_route_naming_an_action_the_policy_does_not_know_stops_the_start() -> None:
    with pytest.raises(UnknownAction, match=r"campaign\.frobnicate.*add them to bot/access/policy\.py ACTIONS"):
        merge_routes([ROUTES, Routes(actions={"campaign.frob": "campaign.frobnicate"})])


def test_a_key_routed_twice_is_refused() -> None:
    with pytest.raises(ValueError, match=r"'resend\.anyway' is routed to both"):
        merge_routes([ROUTES, Routes(actions={"resend.anyway": "alerts.resend"})])


# --- commands ---------------------------------------------------------------------------------------------------


async def test_a_granted_command_reaches_its_listener_with_an_attempt_id(harness: Harness) -> None:
    assert (await harness.command("/resend", "42"))[0] == 200
    assert harness.ran == ["/resend"] and len(harness.attempts[0]) == 32
    assert harness.actors[0].user_id == ALICE[0] and harness.actors[0].channel_id is not None


async def test_a_denied_command_is_answered_only_to_the_user_audited_and_not_run(harness: Harness) -> None:
    status, body = await harness.command("/resend", "42", user=MALLORY)
    assert status == 200 and body["response_type"] == "ephemeral"
    assert "not allowed to run `resend`" in body["text"] and "grant for `resend` in the access policy" in body["text"]
    assert harness.ran == []
    (row,) = await harness.rows(1)
    assert (row.user_id, row.user_name, row.channel_id, row.action, row.outcome, row.error_code) == (
        "U0MALLORY", "mallory", OPS, "resend", "denied", "not_granted")
    assert row.arguments == {"command": "/resend", "text": "42"}


async def test_usage_is_open_to_everyone(harness: Harness) -> None:
    await harness.command("/resend", "help", user=MALLORY)
    await harness.command("/resend", "", user=MALLORY)
    assert harness.ran == ["/resend", "/resend"]


async def test_an_open_read_is_open_and_a_change_is_not(harness: Harness) -> None:
    await harness.command("/campaign", "status Diwali", user=MALLORY)
    await harness.command("/campaign", "pause Diwali", user=MALLORY)
    assert harness.ran == ["/campaign"]


async def test_outside_the_grants_channel_the_denial_says_where(harness: Harness) -> None:
    _, body = await harness.command("/resend", "42", channel=ELSEWHERE)
    assert f"only in <#{OPS}>" in body["text"] and harness.ran == []
    assert (await harness.rows(1))[0].error_code == "wrong_channel"


async def test_unknown_sub_commands_and_commands_fail_closed(harness: Harness) -> None:
    _, body = await harness.command("/campaign", "frob Diwali")
    assert "`/campaign frob` is not something commops knows" in body["text"] and "`/campaign help`" in body["text"]
    _, body = await harness.command("/secret", "x")
    assert "does not handle `/secret`" in body["text"]
    assert harness.ran == []
    rows = await harness.rows(2)
    assert {(row.action, row.outcome, row.error_code) for row in rows} == {("unknown", "denied", "unknown_request")}


async def test_a_user_group_grant_asks_slack_once_per_ttl(harness: Harness) -> None:
    harness.slack.add_usergroup(OPS_GROUP, [GREG[0]])
    await harness.command("/resend", "42", user=GREG, channel=ELSEWHERE)
    await harness.command("/resend", "43", user=GREG, channel=ELSEWHERE)
    assert harness.ran == ["/resend", "/resend"]
    assert len(harness.slack.calls("usergroups.users.list")) == 1


async def test_without_a_policy_a_change_is_denied_and_the_denial_says_why(no_policy: Harness) -> None:
    _, body = await no_policy.command("/resend", "42")
    assert "no ACCESS_POLICY is configured" in body["text"] and no_policy.ran == []
    await no_policy.command("/campaign", "status Diwali")
    assert no_policy.ran == ["/campaign"]
    assert (await no_policy.rows(1))[0].error_code == "no_policy"


# --- buttons, menus, forms, the rest ----------------------------------------------------------------------------


async def test_a_forged_button_from_a_denied_user_is_refused_ephemerally(harness: Harness) -> None:
    status, body = await harness.click(user=MALLORY)
    assert (status, body) == (200, "")
    reply = await harness.slack.wait_for("response_url")
    assert reply.args["response_type"] == "ephemeral" and reply.args["replace_original"] is False
    assert "not allowed to run `resend`" in reply.args["text"]
    assert harness.ran == []
    (row,) = await harness.rows(1)
    assert row.arguments == {"action_id": "resend.anyway", "block_id": "resend:42", "value": "42"}


async def test_a_copied_button_is_judged_where_it_is_clicked(harness: Harness) -> None:
    await harness.click(channel=ELSEWHERE)
    reply = await harness.slack.wait_for("response_url")
    assert f"only in <#{OPS}>" in reply.args["text"] and harness.ran == []
    await harness.click(channel=OPS)
    assert harness.ran == ["block_actions"]


async def test_an_unrouted_button_is_denied_even_to_whoever_may_do_everything(harness: Harness) -> None:
    await harness.click("mystery.button")
    reply = await harness.slack.wait_for("response_url")
    assert "commops does not know this button (`button mystery.button`)" in reply.args["text"]
    assert harness.ran == []


async def test_a_forged_form_gets_an_error_on_its_first_input(harness: Harness) -> None:
    status, body = await harness.submit(FORM, user=MALLORY)
    assert status == 200 and body["response_action"] == "errors"
    assert "not allowed to run comm.upsert" in body["errors"]["subject"]
    assert harness.ran == []
    assert (await harness.rows(1))[0].arguments["callback_id"] == "comm.upsert"


async def test_a_denied_form_without_inputs_is_replaced_by_a_notice(harness: Harness) -> None:
    form = {**FORM, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Sure?"}}]}
    _, body = await harness.submit(form, user=MALLORY)
    assert body["response_action"] == "update" and body["view"]["title"]["text"] == "Not allowed"


async def test_a_form_is_judged_in_the_channel_its_metadata_names(harness: Harness) -> None:
    await harness.submit(FORM)  # alice's grant is for OPS only; a form has no channel of its own
    assert harness.ran == []
    await harness.submit({**FORM, "private_metadata": json.dumps({"channel_id": OPS})})
    assert harness.ran == ["view_submission"]


async def test_an_unrouted_form_is_denied(harness: Harness) -> None:
    _, body = await harness.submit({**FORM, "callback_id": "unrouted.form"})
    assert body["response_action"] == "errors" and harness.ran == []


async def test_option_loads_are_checked_like_their_menu(harness: Harness) -> None:
    payload = {"type": "block_suggestion", "user": {"id": MALLORY[0], "username": MALLORY[1], "team_id": "T0001"},
               "team": {"id": "T0001"}, "api_app_id": payloads.API_APP_ID, "action_id": "campaign.pick",
               "block_id": "pick", "value": "Diw", "container": {"type": "view", "view_id": "V1"}}
    _, body = await harness.send(urlencode({"payload": json.dumps(payload)}))
    assert harness.ran == ["block_suggestion"]  # campaign.status is an open read
    payload["action_id"] = "campaign.unknown"
    _, body = await harness.send(urlencode({"payload": json.dumps(payload)}))
    assert body == {"options": []} and harness.ran == ["block_suggestion"]


async def test_shortcuts_and_events_nobody_routed_do_not_run(harness: Harness) -> None:
    shortcut = {"type": "shortcut", "callback_id": "global.thing", "trigger_id": harness.slack.new_trigger_id(),
                "user": {"id": ALICE[0], "username": ALICE[1], "team_id": "T0001"}, "team": {"id": "T0001"},
                "api_app_id": payloads.API_APP_ID}
    assert (await harness.send(urlencode({"payload": json.dumps(shortcut)})))[0] == 200
    event = {"type": "event_callback", "team_id": "T0001", "api_app_id": payloads.API_APP_ID, "event_id": "Ev1",
             "event_time": 1, "event": {"type": "app_mention", "user": ALICE[0], "text": "<@U0BOT0001> hi",
                                        "channel": OPS, "ts": "1.000001"}}
    assert (await harness.send(json.dumps(event)))[0] == 200
    assert harness.ran == []
    assert [row.arguments.get("callback_id") for row in await harness.rows(1)] == ["global.thing"]
