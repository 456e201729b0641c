"""Scheduled pauses run by several runners sharing one database: each action must run exactly once.

Seeds ``--actions`` multistep campaigns in an in-process sandbox, schedules a pause of each (all due at once), then
lets ``--runners`` runners (each with its own store connection pool and Comm client, as replicas have) poll
concurrently until nothing is due. Prints how many runs each runner made, the PUTs Comm saw per campaign (must be
exactly 1 each), the outcomes, and the time it took. The Comm client's own rate limit (``--limit`` calls a minute,
shared by nothing: each runner has its own) bounds the pace: a run is three calls (GET, PUT, GET).

    python bench/schedule_runs.py [--actions 200] [--runners 3] [--limit 6000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.access.policy import AccessControl  # noqa: E402
from bot.actor import Actor  # noqa: E402
from bot.audit.log import AuditLog  # noqa: E402
from bot.campaigns.plan import Basis, Op  # noqa: E402
from bot.campaigns.service import CampaignService  # noqa: E402
from bot.devtools.local_server import serve_asgi  # noqa: E402
from bot.devtools.sandbox import DEMO, SandboxState, build_sandbox_app  # noqa: E402
from bot.schedule.actions import Origin, ScheduledAction, ScheduledActions, State  # noqa: E402
from bot.schedule.report import RunReport  # noqa: E402
from bot.schedule.runner import ScheduleRunner  # noqa: E402
from bot.schedule.service import ScheduleService, new_action_id  # noqa: E402
from bot.store.engine import Store  # noqa: E402
from bot.store.schema import upgrade  # noqa: E402
from bot.vendors.comm import CommClient  # noqa: E402

SCHEDULER = Actor("U0BENCH01", "bench", "T0BENCH01", "C0BENCH01")


class Quiet:
    def __init__(self) -> None:
        self.told = 0

    async def report(self, report: RunReport) -> None:
        self.told += 1


def campaign(number: int) -> dict[str, object]:
    return {"id": f"00000000-0000-4000-8000-{number:012d}", "name": f"Bench {number}", "status": "in_progress",
            "meta": {"send_type": "multistep", "multistep_data": {"step_size": 100, "is_active": True}}}


async def bench(actions: int, runners: int, limit: int, url: str) -> None:
    state = SandboxState(timeout_seconds=2)
    for number in range(actions):
        state.campaigns.add("demo", campaign(number))
    await upgrade(url)
    now = datetime.now(UTC)
    async with serve_asgi(build_sandbox_app(state)) as sandbox_url:
        replicas = []
        for number in range(runners):
            store = Store(url)
            comm = CommClient(f"{sandbox_url}/api", DEMO.comm_token, rate_limit_per_minute=limit)
            audit = AuditLog(store)
            service = ScheduleService(ScheduledActions(store), CampaignService(comm, audit=audit),
                                      AccessControl(None, local_user=SCHEDULER.user_id), audit)
            replicas.append((store, comm, ScheduleRunner(service, Quiet(), holder=f"runner-{number}")))
        table = replicas[0][2].actions
        for number in range(actions):
            await table.add(ScheduledAction(
                id=new_action_id(), campaign_id=str(campaign(number)["id"]), campaign_name=f"Bench {number}",
                op=Op.PAUSE, origin=Origin.AT, due_at=now - timedelta(seconds=1), state=State.PENDING,
                basis=Basis((True,), now - timedelta(minutes=1)), scheduler=SCHEDULER, zone=None, created_at=now,
            ), None)
        started = time.perf_counter()
        runs: collections.Counter[str] = collections.Counter()
        results: collections.Counter[str] = collections.Counter()

        async def keep_polling(runner: ScheduleRunner) -> None:
            while True:
                done = await runner.poll()
                runs[runner.holder] += len(done)
                results.update(report.result.value for report in done)
                if not done and not await runner.actions.due(datetime.now(UTC)):
                    return

        await asyncio.gather(*(keep_polling(runner) for _, _, runner in replicas))
        elapsed = time.perf_counter() - started
        puts = collections.Counter(call["path"] for call in state.recorded_calls(method="PUT"))
        told = sum(runner._reporter.told for _, _, runner in replicas)  # type: ignore[attr-defined]
        for store, comm, _ in replicas:
            await comm.aclose()
            await store.close()
    print(f"{actions} actions due at once, {runners} runners on {url.split(':')[0]}: {elapsed:.2f} s "
          f"({elapsed / actions * 1000:.1f} ms an action)")
    print(f"runs per runner: {dict(runs)}; total {sum(runs.values())}; outcomes {dict(results)}; told {told}")
    print(f"PUTs per campaign: {sorted(collections.Counter(puts.values()).items())} "
          f"(campaigns with 1 PUT, …); campaigns never PUT: {actions - len(puts)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--actions", type=int, default=200)
    parser.add_argument("--runners", type=int, default=3)
    parser.add_argument("--limit", type=int, default=6000, help="Comm calls a minute per runner's client")
    parser.add_argument("--database-url", default=None, help="default: a SQLite file in a temporary folder")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = options.database_url or f"sqlite+aiosqlite:///{folder}/bench.db"
        asyncio.run(bench(options.actions, options.runners, options.limit, url))


if __name__ == "__main__":
    main()
