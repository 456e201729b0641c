"""``commops alerts run-once`` and ``commops alerts import FILE`` as an operator runs them: against the sandbox and
a local Slack emulator, in a process of their own."""

from __future__ import annotations

from pathlib import Path

from bot.devtools.sandbox import DEMO, SEED
from bot.devtools.slack_emulator import SlackEmulator
from tests.bot.test_cli import commops, environment
from tests.conftest import Sandbox

CHANNEL = "C0ALERTS1"


def alert_environment(tmp_path: Path, sandbox: Sandbox | None = None, slack: SlackEmulator | None = None,
                      **values: str) -> dict[str, str]:
    watchlist = tmp_path / "watchlist.txt"
    watchlist.write_text("\n".join(SEED.watchlist) + "\n")
    extra = {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/commops.db", "ALERT_WATCHLIST": str(watchlist),
             "ALERT_CHANNEL": CHANNEL}
    if sandbox is not None:
        extra.update(CAPILLARY_BASE_URL=sandbox.url, CAPILLARY_USERNAME=DEMO.capillary_username,
                     CAPILLARY_PASSWORD=DEMO.capillary_password)
    if slack is not None:
        extra.update(SLACK_BOT_TOKEN="xoxb-cli-test", SLACK_API_URL=slack.api_url)
    return environment(**{**extra, **values})


def posted_ids(slack: SlackEmulator) -> set[int]:
    return {int(block["block_id"].split(":")[1]) for message in slack.messages(CHANNEL)
            for block in message.get("blocks", []) if str(block.get("block_id", "")).startswith("alert:")}


async def test_run_once_posts_a_digest_then_nothing_new(sandbox: Sandbox, tmp_path: Path) -> None:
    slack = SlackEmulator()
    async with slack.serve():
        env = alert_environment(tmp_path, sandbox, slack)
        code, out, err = await commops("alerts", "run-once", cwd=tmp_path, env=env)
        assert code == 0, err
        assert posted_ids(slack) == set(SEED.recent_undelivered_message_ids)
        assert f"{len(SEED.recent_undelivered_message_ids)} alerted in 1 Slack posts" in out
        code, out, _ = await commops("alerts", "run-once", cwd=tmp_path, env=env)
        assert code == 0 and "0 new undelivered messages, 0 alerted in 0 Slack posts" in out
        assert len(slack.messages(CHANNEL)) == 1


async def test_run_once_says_when_slack_refuses_and_the_next_run_posts(sandbox: Sandbox, tmp_path: Path) -> None:
    slack = SlackEmulator()
    async with slack.serve():
        env = alert_environment(tmp_path, sandbox, slack)
        slack.fail_next("chat.postMessage", "not_in_channel")
        code, out, _ = await commops("alerts", "run-once", cwd=tmp_path, env=env)
        assert code == 1 and "posting stopped: Slack answered not_in_channel" in out
        assert slack.messages(CHANNEL) == []
        code, out, _ = await commops("alerts", "run-once", cwd=tmp_path, env=env)
        assert code == 0 and "0 new undelivered messages" in out  # queued by the first run, posted now
        assert posted_ids(slack) == set(SEED.recent_undelivered_message_ids)


async def test_run_once_needs_a_channel_and_a_bot_token(sandbox: Sandbox, tmp_path: Path) -> None:
    code, _, err = await commops("alerts", "run-once", cwd=tmp_path,
                                 env=alert_environment(tmp_path, sandbox, ALERT_CHANNEL=""))
    assert (code, err.strip()) == (2, "commops: alerts are off: ALERT_CHANNEL is not set")
    code, _, err = await commops("alerts", "run-once", cwd=tmp_path, env=alert_environment(tmp_path, sandbox))
    assert code == 2 and err.strip().startswith("commops: SLACK_BOT_TOKEN is not set")


async def test_import_queues_the_good_rows_once(tmp_path: Path) -> None:
    export = tmp_path / "export.csv"
    export.write_text("message_id,channel,receiver,status,sent_at\n"
                      "9100000000001,SMS,919845000099,Not_delivered,2026-01-05T10:00:00+05:30\n"
                      "not-a-number,SMS,919845000099,FAILED,2026-01-05 10:00:00\n")
    env = alert_environment(tmp_path)
    code, out, err = await commops("alerts", "import", str(export), cwd=tmp_path, env=env)
    assert code == 1 and out.strip() == "1 queued, 0 already known, 1 bad rows skipped (2 rows read)"
    assert err.startswith(f"{export}: line 3") and err.strip().endswith(": skipped")
    code, out, _ = await commops("alerts", "import", str(export), cwd=tmp_path, env=env)
    assert code == 1 and out.strip() == "0 queued, 1 already known, 1 bad rows skipped (2 rows read)"
    code, _, err = await commops("alerts", "import", str(tmp_path / "missing.csv"), cwd=tmp_path, env=env)
    assert code == 2 and "does not exist" in err
