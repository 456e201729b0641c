"""Acknowledgement latency of /resend: the real bot against a bare Bolt app that only acks.

Starts, as separate processes: the vendor sandbox, a Slack Web API emulator, the real bot
(`commops run --mode http`) and a bare AsyncApp served the same way that only calls ack(). Then fires the
same signed /resend requests at both from concurrent clients, interleaved, and prints p50/p99 latency of the
HTTP answer (the ack) and the ratio. The real bot does its work (store, Capillary, reply) after the ack, on
the same process, so that work is part of what is measured.

    python bench/ack_latency.py [--requests 600] [--concurrency 10]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.devtools import slack_payloads as payloads  # noqa: E402
from bot.devtools.local_server import free_port  # noqa: E402

SECRET = "bench-signing-secret"
TOKEN = "xoxb-bench-token"

EMULATOR = """
import asyncio, sys
from bot.devtools.local_server import serve_asgi
from bot.devtools.slack_emulator import SlackEmulator
async def main():
    emulator = SlackEmulator()
    async with emulator.serve(port=int(sys.argv[1])):
        await asyncio.Event().wait()
asyncio.run(main())
"""

BARE_APP = """
import asyncio, sys
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
app = AsyncApp(client=AsyncWebClient(token=sys.argv[3], base_url=sys.argv[4]), signing_secret=sys.argv[2])
@app.command("/resend")
async def resend(ack):
    await ack()
async def events(request):
    return await to_aiohttp_response(await app.async_dispatch(await to_bolt_request(request)))
web_app = web.Application()
web_app.router.add_post("/slack/events", events)
web.run_app(web_app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""


def start(args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(args, cwd=ROOT, env={**os.environ, **(env or {})},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def wait_up(url: str) -> None:
    async with httpx.AsyncClient() as http:
        for _ in range(200):
            try:
                await http.get(url, timeout=0.5)
                return
            except httpx.HTTPError:
                await asyncio.sleep(0.05)
    raise SystemExit(f"{url} did not come up")


async def fire(url: str, emulator: str, count: int, concurrency: int, latencies: list[float],
               http: httpx.AsyncClient, rate: float = 0.0) -> None:
    """``count`` requests from ``concurrency`` clients; with ``rate`` > 0 they start on a fixed schedule
    (requests a second, all clients together), else each client sends its next as soon as one is answered."""
    gate = asyncio.Semaphore(concurrency)
    start = time.perf_counter()

    async def one(index: int) -> None:
        if rate > 0:
            await asyncio.sleep(max(0.0, start + index / rate - time.perf_counter()))
        message_id = random.randint(10**12, 10**13)
        body = payloads.slash_command("/resend", str(message_id), user_id="U0BENCH01", user_name="bench",
                                      channel_id="C0BENCH01", response_url=f"{emulator}/response/bench",
                                      trigger_id="1.2.3")
        async with gate:
            headers = payloads.sign(body, SECRET)
            started = time.perf_counter()
            response = await http.post(f"{url}/slack/events", content=body, headers=headers)
            latencies.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.text

    await asyncio.gather(*(one(index) for index in range(count)))


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--rate", type=float, default=0.0,
                        help="requests a second (0: as fast as the clients can, i.e. saturate the machine)")
    options = parser.parse_args()
    python = sys.executable
    ports = {name: free_port() for name in ("sandbox", "slack", "bot", "bare")}
    slack = f"http://127.0.0.1:{ports['slack']}"
    workdir = tempfile.mkdtemp(prefix="commops-bench-")
    policy = Path(workdir, "policy.toml")
    policy.write_text('[[grant]]\nactions = ["resend"]\nusers = ["U0BENCH01"]\n')  # noqa: ASYNC240 - before any load
    env = {
        "SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": f"{slack}/api/",
        "CAPILLARY_BASE_URL": f"http://127.0.0.1:{ports['sandbox']}", "CAPILLARY_USERNAME": "demo.till",
        "CAPILLARY_PASSWORD": "demo-password", "CAPILLARY_RATE_LIMIT_PER_MINUTE": "100000",
        "DATABASE_URL": f"sqlite+aiosqlite:///{workdir}/bench.db", "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT), "ACCESS_POLICY": str(policy),
    }
    commops = [python, "-c", "from bot.cli import main; main()"]
    processes = [
        start([*commops, "sandbox", "--port", str(ports["sandbox"])], env),
        start([python, "-c", EMULATOR, str(ports["slack"])], env),
        start([*commops, "run", "--mode", "http", "--host", "127.0.0.1", "--port", str(ports["bot"])], env),
        start([python, "-c", BARE_APP, str(ports["bare"]), SECRET, TOKEN, f"{slack}/api/"], env),
    ]
    try:
        bot, bare = f"http://127.0.0.1:{ports['bot']}", f"http://127.0.0.1:{ports['bare']}"
        for url in (f"http://127.0.0.1:{ports['sandbox']}/v3/targetGroups/channels", f"{slack}/api/auth.test",
                    f"{bot}/healthz", f"{bare}/slack/events"):
            await wait_up(url)
        results: dict[str, list[float]] = {"commops": [], "bare Bolt": []}
        async with httpx.AsyncClient(limits=httpx.Limits(max_connections=options.concurrency * 2)) as http:
            for url in (bot, bare):  # warm up: auth.test, pools, imports
                await fire(url, slack, 30, options.concurrency, [], http)
            rounds = 6
            for _ in range(rounds):  # interleave so drift on the machine hits both alike
                for name, url in (("commops", bot), ("bare Bolt", bare)):
                    await fire(url, slack, options.requests // rounds, options.concurrency, results[name], http,
                               options.rate)
        pace = f"at {options.rate:g} requests/s" if options.rate else "as fast as they are answered"
        print(f"{options.requests} signed /resend requests per app, {options.concurrency} concurrent clients, {pace}")
        print(f"{'app':<10} {'p50 ms':>8} {'p99 ms':>8}")
        for name, values in results.items():
            print(f"{name:<10} {pct(values, 50):8.2f} {pct(values, 99):8.2f}")
        p50 = pct(results["commops"], 50) / pct(results["bare Bolt"], 50)
        p99 = pct(results["commops"], 99) / pct(results["bare Bolt"], 99)
        print(f"ratio p50 {p50:.2f}x  p99 {p99:.2f}x  (target: p50 within 1.10x)")
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=10)


if __name__ == "__main__":
    asyncio.run(main())
