"""``commops shell`` drives /campaign end to end: buttons by number, confirm dialogs as y/N prompts."""

from __future__ import annotations

import io
import re
from pathlib import Path

from bot.devtools.shell.session import run_shell
from bot.settings import Settings


async def run(lines: list[str], tmp_path: Path) -> str:
    # No vendor settings at all: the shell serves its own sandbox and points Comm at it.
    settings = Settings(_env_file=None, database_url=f"sqlite+aiosqlite:///{tmp_path}/shell.db",  # type: ignore[call-arg]
                        capillary_base_url=None, comm_api_token=None, access_policy=None)
    stdout = io.StringIO()
    await run_shell(settings, [], stdin=io.StringIO("\n".join([*lines, "quit"]) + "\n"), stdout=stdout)
    return stdout.getvalue()


async def test_pause_confirm_undo_and_decline_in_the_shell(tmp_path: Path) -> None:
    out = await run(["/campaign pause winback march", "1", "y", "2", "y", "3", "n", "/campaign frob"], tmp_path)
    assert "using the built-in sandbox" in out
    assert "`meta.multistep_data.is_active`: true → false" in out and "[1] Pause" in out
    prompts = re.findall(r"(Pause|Resume) Winback March .*?\[y/N\]", out, flags=re.S)
    assert prompts == ["Pause", "Resume", "Pause"]
    assert re.search(r"commops posted in #shell[─ ]*\n  ⏸ @\S+ paused WINBACK MARCH", out)
    assert "[2] Resume" in out
    assert re.search(r"▶ @\S+ resumed WINBACK MARCH", out) and "[3] Pause" in out
    assert out.count("Read back from Comm") == 2
    assert "Cancelled." in out
    assert "“frob” is not a /campaign sub-command" in out


async def test_status_and_list_in_the_shell(tmp_path: Path) -> None:
    out = await run(['/campaign status "Weekly Digest"', "/campaign list paused"], tmp_path)
    assert "PROGRESS: step 12 · 2,400 of 12,000 sent (20%)" in out
    assert "PLANNER: Mon, Wed, Fri 09:00–18:00" in out and "[1] Pause" in out
    assert "3 OF 14 SMS CAMPAIGNS matching “paused”" in out
    assert "CART ABANDONMENT NUDGE" in out and "[2] Resume" in out and "[3] Resume" in out and "[4] Resume" in out


async def test_schedule_list_status_and_cancel_in_the_shell(tmp_path: Path) -> None:
    out = await run(["/campaign pause winback march for 2h", "1", "y", "/campaign scheduled",
                     "/campaign status winback march", "4", "y", "/campaign scheduled"], tmp_path)
    assert "RESUME IT BY ITSELF 2 h after you confirm" in out and "[1] Pause, resume later" in out
    assert re.search(r"⏸ @\S+ paused WINBACK MARCH", out)
    assert "⏰ It resumes by itself" in out and "[2] Resume   [3] Cancel" in out
    assert "1 SCHEDULED · soonest first" in out and "[4] Cancel" in out
    assert "SCHEDULED: ⏰ resumes by itself" in out
    assert re.search(r"🔕 @\S+ cancelled: Winback March resumes by itself", out)
    assert "Nothing is scheduled" in out
