"""Modals: trigger ids, view validation, updates by hash or external id, and view stacks."""

from __future__ import annotations

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.devtools.slack_emulator import SlackEmulator
from tests.bot.devtools.slack_emulator import FakeClock, error_of, modal

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_views_open_needs_a_fresh_trigger(
    emulator: SlackEmulator, client: AsyncWebClient, clock: FakeClock
) -> None:
    trigger = emulator.new_trigger_id()
    opened = await client.views_open(trigger_id=trigger, view=modal(callback_id="upsert", private_metadata="g1:t2"))
    view = opened["view"]
    assert view["id"].startswith("V") and view["hash"] and view["callback_id"] == "upsert"
    assert view["root_view_id"] == view["id"] and view["state"] == {"values": {}}
    assert emulator.views[view["id"]]["private_metadata"] == "g1:t2"

    assert await error_of(client.views_open(trigger_id=trigger, view=modal())) == "exchanged_trigger_id"
    assert await error_of(client.views_open(trigger_id="123.456.abc", view=modal())) == "invalid_trigger_id"
    late = emulator.new_trigger_id()
    clock.now += 3.01
    assert await error_of(client.views_open(trigger_id=late, view=modal())) == "expired_trigger_id"


async def test_invalid_view_is_rejected_without_spending_the_trigger(
    emulator: SlackEmulator, client: AsyncWebClient
) -> None:
    trigger = emulator.new_trigger_id()
    with pytest.raises(SlackApiError) as info:
        await client.views_open(trigger_id=trigger, view=modal(title="A title far over the limit"))
    assert info.value.response["error"] == "invalid_arguments"
    assert "[json-pointer:/view/title/text]" in info.value.response["response_metadata"]["messages"][0]
    needs_submit = modal(
        blocks=[
            {
                "type": "input",
                "label": {"type": "plain_text", "text": "Sender"},
                "element": {"type": "plain_text_input", "action_id": "sender"},
            }
        ]
    )
    assert await error_of(client.views_open(trigger_id=trigger, view=needs_submit)) == "invalid_arguments"
    assert (await client.views_open(trigger_id=trigger, view=modal()))["ok"]


async def test_views_update_and_push(emulator: SlackEmulator, client: AsyncWebClient) -> None:
    view = (await client.views_open(trigger_id=emulator.new_trigger_id(), view=modal(external_id="upsert-1")))["view"]
    updated = (await client.views_update(view_id=view["id"], hash=view["hash"], view=modal(title="Saving…")))["view"]
    assert updated["id"] == view["id"] and updated["hash"] != view["hash"]
    assert emulator.views[view["id"]]["title"]["text"] == "Saving…"
    assert updated["external_id"] == "upsert-1"  # an update that omits external_id keeps it
    stale = client.views_update(view_id=view["id"], hash=view["hash"], view=modal())
    assert await error_of(stale) == "hash_conflict"
    by_external = await client.views_update(external_id="upsert-1", view=modal(title="Done"))
    assert by_external["view"]["id"] == view["id"]
    assert await error_of(client.views_update(view_id="V404", view=modal())) == "not_found"

    pushed = (await client.views_push(trigger_id=emulator.new_trigger_id(view_id=view["id"]), view=modal()))["view"]
    assert pushed["previous_view_id"] == view["id"] and pushed["root_view_id"] == view["id"]
    await client.views_push(trigger_id=emulator.new_trigger_id(view_id=pushed["id"]), view=modal())
    fourth = client.views_push(trigger_id=emulator.new_trigger_id(view_id=view["id"]), view=modal())
    assert await error_of(fourth) == "push_limit_reached"
    emulator.close_view(view["id"])
    assert emulator.views == {}


async def test_views_publish_keeps_one_home_tab_per_user(emulator: SlackEmulator, client: AsyncWebClient) -> None:
    home = {"type": "home", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}]}
    first = (await client.views_publish(user_id="U0ALICE01", view=home))["view"]
    again = (await client.views_publish(user_id="U0ALICE01", view=home, hash=first["hash"]))["view"]
    assert again["id"] == first["id"] and again["hash"] != first["hash"]
    assert emulator.home_views["U0ALICE01"]["type"] == "home"
    assert await error_of(client.views_publish(user_id="U0ALICE01", view=home, hash=first["hash"])) == "hash_conflict"
    assert await error_of(client.views_publish(user_id="U0ALICE01", view=modal())) == "invalid_arguments"
    too_many = {"type": "home", "blocks": [{"type": "divider"}] * 101}
    assert await error_of(client.views_publish(user_id="U0ALICE01", view=too_many)) == "invalid_arguments"
    assert await error_of(client.views_publish(user_id="nobody", view=home)) == "user_not_found"
