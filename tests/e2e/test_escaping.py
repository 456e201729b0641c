"""Over signed HTTP: what a vendor or a person wrote reaches Slack escaped, so it can neither ping the channel nor
forge a link; the bot's own mentions and dates stay live, and usage texts keep their placeholders."""

from __future__ import annotations

from typing import Any

from tests.e2e.campaign_support import (
    ALICE,
    IDS,
    SENDS,
    ask,
    click,
    last_ephemeral,
    last_in_channel,
    stored,
)
from tests.e2e.conftest import Bot
from tests.handlers.hostile import ESCAPED, HOSTILE, assert_inert

WINBACK, DIGEST = IDS["Winback March"], IDS["Weekly Digest"]
NAMED = (ALICE[0], "<!channel> & <@U123>")  # Slack user names are the person's to choose




def confirm_of(message: dict[str, Any]) -> dict[str, Any]:
    for block in message.get("blocks") or []:
        for element in [block.get("accessory"), *(block.get("elements") or [])]:
            if isinstance(element, dict) and "confirm" in element:
                return dict(element["confirm"])
    raise AssertionError("no confirm dialog")


async def test_a_campaign_named_to_ping_the_channel_is_paused_without_a_ping(cbot: Bot) -> None:
    cbot.sandbox.state.patch_campaign(WINBACK, {"name": HOSTILE})
    preview = await ask(cbot, f"pause {WINBACK}", user=NAMED)
    assert ESCAPED in assert_inert(preview.args)
    dialog = confirm_of(last_ephemeral(cbot))
    assert dialog["title"]["text"].startswith("Pause &lt;!channel&gt; Tom &amp; Jerry")
    assert_inert(dialog)

    outcome = await click(cbot, last_ephemeral(cbot), "campaign.pause", WINBACK, user=NAMED)
    assert outcome.args["response_type"] == "in_channel"
    posted = last_in_channel(cbot)
    shown = assert_inert(posted, live={f"<@{ALICE[0]}>"})
    # The notification text: the clicker's chosen name and the campaign's name, both as written.
    assert posted["text"] == f"&lt;!channel&gt; &amp; &lt;@U123&gt; paused {ESCAPED}"
    assert f"<@{ALICE[0]}> paused *{ESCAPED}* (`{WINBACK}`) <!date^" in shown
    assert stored(cbot, WINBACK)["name"] == HOSTILE  # only the display is escaped, never the campaign

    resumed = await click(cbot, posted, "campaign.resume", WINBACK, user=NAMED)
    assert ESCAPED in assert_inert(resumed.args, live={f"<@{ALICE[0]}>"})


async def test_the_stop_confirm_dialog_shows_the_name_as_written(cbot: Bot) -> None:
    cbot.sandbox.state.patch_campaign(DIGEST, {"name": HOSTILE})
    running = SENDS["Weekly Digest"][1]
    preview = await ask(cbot, f"stop {DIGEST} {running}")
    assert_inert(preview.args)
    dialog = confirm_of(last_ephemeral(cbot))
    assert dialog["text"]["text"] == f"Send {running} of “{ESCAPED}” stops now and cannot be resumed."
    stopped = await click(cbot, last_ephemeral(cbot), "campaign.stop", f"{DIGEST}/{running}")
    assert ESCAPED in assert_inert(stopped.args, live={f"<@{ALICE[0]}>"})


async def test_a_status_list_and_lookup_echo_nothing_live(cbot: Bot) -> None:
    cbot.sandbox.state.patch_campaign(WINBACK, {"name": HOSTILE})
    assert ESCAPED in assert_inert((await ask(cbot, f"status {WINBACK}")).args)
    assert ESCAPED in assert_inert((await ask(cbot, "list Tom & Jerry")).args)
    missing = await ask(cbot, 'status "<!here> nobody"')
    assert "&lt;!here&gt; nobody" in assert_inert(missing.args)


async def answers_to(bot: Bot, *commands: tuple[str, str]) -> dict[tuple[str, str], str]:
    """What each command's ack says (an ack with text only: Slack shows it to the caller alone)."""
    answers = {}
    for command, text in commands:
        response = await bot.command(command, text)
        assert response.status_code == 200
        answers[(command, text)] = response.text
        assert_inert(response.text)
    return answers


async def test_campaign_arguments_come_back_escaped_and_usage_keeps_its_placeholders(cbot: Bot) -> None:
    answers = await answers_to(cbot, ("/campaign", "<!channel>"), ("/campaign", "stop Weekly"),
                               ("/campaign", "help"))
    assert "“&lt;!channel&gt;” is not a /campaign sub-command" in answers[("/campaign", "<!channel>")]
    assert "`/campaign stop &lt;campaign&gt; &lt;sendId&gt;`" in answers[("/campaign", "stop Weekly")]
    assert "`/campaign status &lt;campaign&gt;`" in answers[("/campaign", "help")]


async def test_resend_and_comm_arguments_come_back_escaped(bot: Bot) -> None:
    one_line = ("/comm", 'upsert 1 2 type=START channel=<!here> message="<!channel>"')
    answers = await answers_to(bot, ("/resend", "<!channel>"), ("/resend", "help"), ("/comm", "<!channel>"),
                               ("/comm", "upsert <!here> 2"), ("/comm", "audit <!here>"), one_line)
    assert "“&lt;!channel&gt;” is not a message id" in answers[("/resend", "<!channel>")]
    assert "`/resend &lt;messageId&gt; [&lt;messageId&gt; …]`" in answers[("/resend", "help")]
    assert "`&lt;!channel&gt;` is not a /comm sub-command" in answers[("/comm", "<!channel>")]
    assert "“&lt;!here&gt;” is not" in answers[("/comm", "upsert <!here> 2")]
    assert "`&lt;!here&gt;` is not a number of rows" in answers[("/comm", "audit <!here>")]
    assert "/comm upsert &lt;groupId&gt; &lt;targetId&gt;" in answers[one_line]
