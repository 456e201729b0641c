"""One alert cycle over a watch-list of synthetic customers, against the sandbox in its own process.

The sandbox answers each request after ``--latency-ms`` and enforces ``--limit`` requests a minute (sliding
window); the bot's Capillary client is given the same limit. The floor is customers / limit: no client that
respects the limit can be faster. Prints the cycle time against that floor, the requests the sandbox saw above
its limit (from its stats: must be 0), how many it rate-limited, and the process's peak memory.

    python bench/alert_cycle.py [--customers 10000] [--limit 6000] [--latency-ms 50]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from slack_sdk.web.async_client import AsyncWebClient  # noqa: E402

from bot.alerts.job import AlertJob, CycleReport  # noqa: E402
from bot.alerts.watchlist import parse_watchlist  # noqa: E402
from bot.devtools.local_server import free_port  # noqa: E402
from bot.devtools.sandbox import DEMO  # noqa: E402
from bot.devtools.slack_emulator import SlackEmulator  # noqa: E402
from bot.settings import DEFAULT_ALERT_STATUSES  # noqa: E402
from bot.store.engine import Store  # noqa: E402
from bot.vendors.capillary import CapillaryClient  # noqa: E402
from bot.vendors.capillary.auth import BasicAuth  # noqa: E402
from handlers.alerts.poster import SlackDigestPoster  # noqa: E402


async def wait_up(url: str) -> None:
    async with httpx.AsyncClient() as http:
        for _ in range(100):
            try:
                (await http.get(f"{url}/_sandbox/stats")).raise_for_status()
                return
            except httpx.HTTPError:
                await asyncio.sleep(0.1)
    raise SystemExit("the sandbox did not start")


async def bench(customers: int, limit: int, latency_ms: int) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    sandbox = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "sandbox", "--port", str(port),
                                                   cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        await wait_up(url)
        async with httpx.AsyncClient() as http:
            (await http.post(f"{url}/_sandbox/latency", json={"ms": latency_ms})).raise_for_status()
            (await http.post(f"{url}/_sandbox/rate_limit", json={"per_minute": limit})).raise_for_status()
        watchlist = parse_watchlist("\n".join(f"mobile:9199{n:08d}" for n in range(customers)))
        capillary = CapillaryClient(url, BasicAuth(DEMO.capillary_username, DEMO.capillary_password_secret),
                                    rate_limit_per_minute=limit)
        emulator = SlackEmulator()
        with tempfile.TemporaryDirectory() as folder:
            store = Store(f"sqlite+aiosqlite:///{folder}/bench.db")
            await store.start()
            async with emulator.serve():
                slack = AsyncWebClient(token="xoxb-bench", base_url=emulator.api_url)
                job = AlertJob(capillary=capillary, store=store, poster=SlackDigestPoster(slack), channel="C0ALERTS1",
                               watchlist=watchlist.customers, statuses=DEFAULT_ALERT_STATUSES, zone=DEMO_ZONE,
                               lookback=timedelta(hours=24))
                started = time.perf_counter()
                report: CycleReport = await job.run_once()
                elapsed = time.perf_counter() - started
            await store.close()
        await capillary.aclose()
        async with httpx.AsyncClient() as http:
            stats = (await http.get(f"{url}/_sandbox/stats")).json()["capillary"]
    finally:
        sandbox.terminate()
        await sandbox.wait()
    floor = customers / limit * 60
    over = max(0, stats["max_in_window"] - limit)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"customers {customers}, limit {limit}/min (client and sandbox), sandbox latency {latency_ms} ms")
    print(f"cycle: {elapsed:.1f} s; floor (customers / limit): {floor:.1f} s; ratio {elapsed / floor:.2f}x")
    print(f"sandbox: {stats['requests']} requests, max {stats['max_in_window']} in any 60 s window, "
          f"{over} above the limit, {stats['rate_limited']} answered 429")
    print(f"job: {report.summary()}")
    print(f"peak memory (max RSS of this process): {peak_mb:.0f} MB")


DEMO_ZONE = ZoneInfo("UTC")  # the sandbox serves sentDate in UTC by default


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--limit", type=int, default=6_000)
    parser.add_argument("--latency-ms", type=int, default=50)
    args = parser.parse_args()
    asyncio.run(bench(args.customers, args.limit, args.latency_ms))


if __name__ == "__main__":
    main()
