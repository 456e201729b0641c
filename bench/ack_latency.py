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
import random
import statistics
import time

import httpx
import support


async def fire(url: str, emulator: str, count: int, concurrency: int, latencies: list[float],
               http: httpx.AsyncClient, rate: float = 0.0) -> None:
    """``count`` requests from ``concurrency`` clients; with ``rate`` > 0 they start on a fixed schedule
    (requests a second, all clients together), else each client sends its next as soon as one is answered."""
    gate = asyncio.Semaphore(concurrency)
    start = time.perf_counter()

    async def one(index: int) -> None:
        if rate > 0:
            await asyncio.sleep(max(0.0, start + index / rate - time.perf_counter()))
        async with gate:
            body, headers = support.command(str(random.randint(10**12, 10**13)), user=support.user(0),
                                            response_url=f"{emulator}/response/bench")
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
    async with support.stack() as stack:
        _bot_process, bot = await stack.bot()
        _bare_process, bare = await stack.bare()
        results: dict[str, list[float]] = {"commops": [], "bare Bolt": []}
        async with httpx.AsyncClient(limits=httpx.Limits(max_connections=options.concurrency * 2)) as http:
            for url in (bot, bare):  # warm up: auth.test, pools, imports
                await fire(url, stack.slack, 30, options.concurrency, [], http)
            rounds = 6
            for _ in range(rounds):  # interleave so drift on the machine hits both alike
                for name, url in (("commops", bot), ("bare Bolt", bare)):
                    await fire(url, stack.slack, options.requests // rounds, options.concurrency, results[name],
                               http, options.rate)
    pace = f"at {options.rate:g} requests/s" if options.rate else "as fast as they are answered"
    print(f"{options.requests} signed /resend requests per app, {options.concurrency} concurrent clients, {pace}")
    print(f"{'app':<10} {'p50 ms':>8} {'p99 ms':>8}")
    for name, values in results.items():
        print(f"{name:<10} {pct(values, 50):8.2f} {pct(values, 99):8.2f}")
    p50 = pct(results["commops"], 50) / pct(results["bare Bolt"], 50)
    p99 = pct(results["commops"], 99) / pct(results["bare Bolt"], 99)
    print(f"ratio p50 {p50:.2f}x  p99 {p99:.2f}x  (target: p50 within 1.10x)")


if __name__ == "__main__":
    asyncio.run(main())
