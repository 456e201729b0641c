"""/resend end to end, through the real bot (``commops run --mode http``) against the sandbox and a reply sink.

1. Rate: ``--requests`` single-id /resends of messages the sandbox knows, from 16 closed-loop clients (each sends
   its next as soon as the previous is acknowledged), 64 users; the bounds on pending work are raised so none is
   answered busy. Prints the ack rate (requests / time to the last ack), the finished rate (requests / time to the
   last result at the response URL), their ratio, and the bot's CPU per request.
2. Bulk: the sandbox answers every call after ``--latency-ms`` (100); one /resend of 50 ids, then 10 users' 50 ids
   at once. Each against its floor: a user's calls go 8 at a time and the bot's 50 at a time (bot/work/turns.py),
   so 50 ids take ceil(50 / 8) calls' latency and 10 × 50 take ceil(500 / 50).

    python bench/resend_e2e.py [--requests 2000] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import time

import aiohttp
import support

CLIENTS, USERS = 16, 64
PER_USER, WORKERS = 8, 50  # bot/work/turns.py's defaults


async def rate_run(stack: support.Stack, sink: support.ReplySink, requests: int, first: int) -> tuple[float, ...]:
    process, url = await stack.bot(MAX_PENDING_CALLS="1000000", MAX_PENDING_CALLS_PER_USER="1000000")
    try:
        made = []
        for index in range(requests):
            rid = f"rate-{first + index}"
            body, headers = support.command(str(support.synthetic_id(first + index)),
                                            user=support.user(index % USERS), response_url=sink.response_url(rid))
            made.append((rid, body, headers))
        results = [sink.expect(rid) for rid, _body, _headers in made]
        queue = iter(made)
        acked: list[float] = []
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CLIENTS * 2)) as http:
            async def client() -> None:
                for _rid, body, headers in queue:
                    async with http.post(f"{url}/slack/events", data=body, headers=headers) as answer:
                        await answer.read()
                        acked.append(time.perf_counter())

            cpu = support.cpu_seconds(process.pid)
            started = time.perf_counter()
            await asyncio.gather(*(client() for _ in range(CLIENTS)))
            replies = await asyncio.wait_for(asyncio.gather(*results), timeout=300)
            cpu = support.cpu_seconds(process.pid) - cpu
        wrong = sum(1 for reply in replies if "1 resent" not in reply.text)
        ack_rate = requests / (max(acked) - started)
        done_rate = requests / (max(reply.at for reply in replies) - started)
        return ack_rate, done_rate, done_rate / ack_rate, cpu / requests * 1000, wrong
    finally:
        support.stop([process])


async def bulk_run(url: str, sink: support.ReplySink, users: int, first: int) -> float:
    """Seconds from sending ``users`` /resends of 50 ids each at once to the last of their results."""
    made = []
    for number in range(users):
        ids = " ".join(str(support.synthetic_id(first + number * 50 + k)) for k in range(50))
        rid = f"bulk-{first}-{number}"
        made.append((rid, *support.command(ids, user=support.user(100 + number), response_url=sink.response_url(rid))))
    results = [sink.expect(rid) for rid, _body, _headers in made]
    async with aiohttp.ClientSession() as http:
        started = time.perf_counter()

        async def send(body: bytes, headers: dict[str, str]) -> None:
            async with http.post(f"{url}/slack/events", data=body, headers=headers) as answer:
                await answer.read()

        await asyncio.gather(*(send(body, headers) for _rid, body, headers in made))
        replies = await asyncio.wait_for(asyncio.gather(*results), timeout=120)
    assert all("50 resent" in reply.text for reply in replies), [reply.text for reply in replies]
    return max(reply.at for reply in replies) - started


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--latency-ms", type=int, default=100)
    options = parser.parse_args()
    latency = options.latency_ms / 1000
    rates: list[tuple[float, ...]] = []
    singles: list[float] = []
    tens: list[float] = []
    async with support.stack() as stack, support.ReplySink().serve() as sink:
        stack.reply_to(sink)
        for run in range(options.runs):
            rates.append(await rate_run(stack, sink, options.requests, run * options.requests))
        await stack.sandbox_post("latency", {"ms": options.latency_ms})
        process, url = await stack.bot()
        try:
            offset = 10_000_000
            await bulk_run(url, sink, 1, offset)  # warm up: connections to the sandbox, the first claims
            offset += 50
            for _ in range(options.runs):
                singles.append(await bulk_run(url, sink, 1, offset))
                offset += 50
                tens.append(await bulk_run(url, sink, 10, offset))
                offset += 500
        finally:
            support.stop([process])
    single_floor = math.ceil(50 / PER_USER) * latency
    ten_floor = math.ceil(500 / WORKERS) * latency
    print(support.load_note())
    print(f"/resend of one id, {options.requests} requests from {CLIENTS} clients, {options.runs} runs "
          "(sandbox answering at once):")
    print(f"  acked    {support.spread([rate[0] for rate in rates], '{:.0f}')} /s")
    print(f"  finished {support.spread([rate[1] for rate in rates], '{:.0f}')} /s")
    print(f"  finished / acked {support.spread([rate[2] for rate in rates])} (target >= 0.5)")
    print(f"  bot CPU per request {support.spread([rate[3] for rate in rates])} ms; "
          f"results other than '1 resent': {sum(int(rate[4]) for rate in rates)}")
    print(f"bulk, sandbox latency {options.latency_ms} ms, {options.runs} runs:")
    print(f"  50 ids:       {support.spread(singles)} s, floor {single_floor:.2f} s "
          f"({PER_USER} of a user's calls at once); ratio {support.spread([s / single_floor for s in singles])} "
          "(target <= 1.1)")
    print(f"  10 x 50 ids:  {support.spread(tens)} s, floor {ten_floor:.2f} s ({WORKERS} calls at once); ratio "
          f"{support.spread([t / ten_floor for t in tens])} (target <= 1.5)")


if __name__ == "__main__":
    asyncio.run(main())
