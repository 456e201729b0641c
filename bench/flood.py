"""One user floods the real bot while a colleague resends one id: how long the colleague waits.

The flooder sends ``--flood`` /resends of 50 ids each (500 by default) from 8 clients, each sending its next as soon
as the previous is answered, then keeps its accepted work running; the bot takes on at most
MAX_PENDING_CALLS_PER_USER of one user's calls and answers the rest "busy" at once. Meanwhile, every
``--every`` seconds, a colleague sends a /resend of one id and waits for its result at the response URL; that wait
is the figure (target: within 2 s). The sandbox answers each call after ``--latency-ms`` and both it and the bot
hold ``--limit`` calls a minute, so the flooder's accepted work outlasts the samples. Also prints ``/healthz``'s
answer time while the flood runs, and how the flood's requests were answered.

    python bench/flood.py [--flood 500] [--samples 6] [--every 1.5] [--limit 100] [--latency-ms 100] [--runs 2]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import Counter

import aiohttp
import support

FLOODER, COLLEAGUE = support.user(0), support.user(1)
FLOOD_CLIENTS = 8


async def one_run(stack: support.Stack, sink: support.ReplySink, options: argparse.Namespace, first: int,
                  run: int) -> tuple[list[float], list[float], Counter[str]]:
    _process, url = await stack.bot(CAPILLARY_RATE_LIMIT_PER_MINUTE=str(options.limit))
    flood = []
    for index in range(options.flood):
        ids = " ".join(str(support.synthetic_id(first + index * 50 + k)) for k in range(50))
        flood.append(support.command(ids, user=FLOODER, response_url=sink.response_url(f"flood-{run}-{index}")))
    answers: Counter[str] = Counter()
    waits: list[float] = []
    probes: list[float] = []
    queue = iter(flood)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=32)) as http:

        async def flooder() -> None:
            for body, headers in queue:
                async with http.post(f"{url}/slack/events", data=body, headers=headers) as answer:
                    text = await answer.text()
                answers["answered busy" if support.BUSY.search(text) else
                        "accepted" if answer.status == 200 else f"HTTP {answer.status}"] += 1

        async def colleague() -> None:
            await asyncio.sleep(0.5)  # the flood is under way
            for sample in range(options.samples):
                rid = f"colleague-{run}-{sample}"
                body, headers = support.command(str(support.synthetic_id(first + 10_000_000 + sample)),
                                                user=COLLEAGUE, response_url=sink.response_url(rid))
                result = sink.expect(rid)
                started = time.perf_counter()
                async with http.post(f"{url}/slack/events", data=body, headers=headers) as answer:
                    await answer.read()
                reply = await asyncio.wait_for(result, timeout=60)
                assert "1 resent" in reply.text, reply.text
                waits.append(reply.at - started)
                probe = time.perf_counter()
                async with http.get(f"{url}/healthz") as answer:
                    await answer.read()
                probes.append(time.perf_counter() - probe)
                await asyncio.sleep(options.every)

        await asyncio.gather(colleague(), *(flooder() for _ in range(FLOOD_CLIENTS)))
    support.stop([_process])
    return waits, probes, answers


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--flood", type=int, default=500)
    parser.add_argument("--samples", type=int, default=6)
    parser.add_argument("--every", type=float, default=1.5)
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--latency-ms", type=int, default=100)
    parser.add_argument("--runs", type=int, default=2)
    options = parser.parse_args()
    waits: list[float] = []
    probes: list[float] = []
    answers: Counter[str] = Counter()
    async with support.stack() as stack, support.ReplySink().serve() as sink:
        stack.reply_to(sink)
        await stack.sandbox_post("latency", {"ms": options.latency_ms})
        await stack.sandbox_post("rate_limit", {"per_minute": options.limit, "vendor": "capillary"})
        for run in range(options.runs):
            run_waits, run_probes, run_answers = await one_run(stack, sink, options, run * 100_000, run)
            print(f"run {run + 1}: colleague's waits " + ", ".join(f"{wait:.2f}" for wait in run_waits) + " s")
            waits += run_waits
            probes += run_probes
            answers.update(run_answers)
        stats = (await stack.sandbox_get("stats"))["capillary"]
    print(f"{options.flood} /resends of 50 ids from one user ({FLOOD_CLIENTS} clients), {options.samples} single-id "
          f"/resends from a colleague during it, {options.runs} runs; Capillary {options.latency_ms} ms a call, "
          f"{options.limit} calls/min (bot and sandbox)")
    print(support.load_note())
    print("flood requests: " + ", ".join(f"{kind} {count}" for kind, count in answers.most_common()))
    print(f"colleague's wait, send to result: {support.spread(waits)} s over {len(waits)} samples "
          f"(max {max(waits):.2f} s; target within 2 s)")
    print(f"/healthz during the flood: {support.spread([probe * 1000 for probe in probes], '{:.1f}')} ms")
    print(f"sandbox: {stats['requests']} calls, max {stats['max_in_window']} in any 60 s window "
          f"(limit {options.limit}), {stats['rate_limited']} answered 429")


if __name__ == "__main__":
    asyncio.run(main())
