"""A burst of 10,000 /resends at the real bot (``commops run --mode http``, default bounds on pending work) from 64
concurrent clients, one user each, every request a different message the sandbox knows.

Prints how the requests were answered (accepted, answered busy, anything else), whether every accepted request got
its result (and none of them "Something went wrong"), whether every resend the sandbox received has its audit row
(read from the bot's database), and the bot's resident memory: idle before, at its peak, and once the work is done
and the process has idled for a few seconds.

    python bench/burst.py [--requests 10000] [--clients 64] [--runs 2]
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import time
from collections import Counter

import aiohttp
import support

RESEND = "/v2/communications/resend"


async def one_burst(stack: support.Stack, sink: support.ReplySink, options: argparse.Namespace,
                    run: int) -> dict[str, float]:
    process, url = await stack.bot(**dict(item.split("=", 1) for item in options.setting))
    first = run * options.requests
    async with aiohttp.ClientSession() as http:  # warm up, then let it idle
        body, headers = support.command(str(support.synthetic_id(99_000_000 + run)), user=support.user(199),
                                        response_url=sink.response_url(f"warm-{run}"))
        async with http.post(f"{url}/slack/events", data=body, headers=headers) as answer:
            await answer.read()
        await asyncio.sleep(3)
    idle, _ = support.memory_mb(process.pid)
    made = []
    for index in range(options.requests):
        rid = f"burst-{first + index}"
        body, headers = support.command(str(support.synthetic_id(first + index)),
                                        user=support.user(index % options.clients),
                                        response_url=sink.response_url(rid))
        made.append((rid, body, headers))
    answers: Counter[str] = Counter()
    accepted: list[str] = []
    queue = iter(made)
    connector = aiohttp.TCPConnector(limit=options.clients * 2)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as http:
        async def client() -> None:
            for rid, body, headers in queue:
                try:
                    async with http.post(f"{url}/slack/events", data=body, headers=headers) as answer:
                        text = await answer.text()
                        status = answer.status
                except (aiohttp.ClientError, TimeoutError) as error:
                    answers[f"no answer ({type(error).__name__})"] += 1
                    continue
                if status == 200 and text.startswith("Resending"):
                    answers["accepted"] += 1
                    accepted.append(rid)
                elif status == 200 and support.BUSY.search(text):
                    answers["answered busy"] += 1
                else:
                    answers[f"HTTP {status}: {text[:60]!r}"] += 1

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(options.clients)))
        fired = time.perf_counter() - started
    deadline = time.perf_counter() + 300
    while time.perf_counter() < deadline and any(rid not in sink.replies for rid in accepted):  # noqa: ASYNC110
        await asyncio.sleep(0.5)
    drained = time.perf_counter() - started
    await asyncio.sleep(options.settle)
    after, peak = support.memory_mb(process.pid)
    calls = await stack.sandbox_get(f"calls?method=POST&path={RESEND}")
    await stack.sandbox_post("reset", {})  # the next run counts its own calls
    support.stop([process])  # drains, then the database is read
    database = sqlite3.connect(stack.workdir / "bench.db")
    audited = {row[0] for row in database.execute(
        "SELECT communication_id FROM audit_log WHERE action = 'resend' AND outcome IN ('ok', 'vendor_error', "
        "'error')")}
    database.close()
    sent = [str(call["json"]["messageId"]) for call in calls]
    texts = [reply.text for rid in (rid for rid, _body, _headers in made) for reply in sink.replies.get(rid, [])]
    print(f"run {run + 1}: " + ", ".join(f"{kind} {count}" for kind, count in answers.most_common()))
    return {"fired": fired, "drained": drained, "idle": idle, "peak": peak, "after": after,
            "went_wrong": sum(support.WENT_WRONG in text for text in texts),
            "unanswered": sum(1 for rid in accepted if rid not in sink.replies),
            "sent": len(sent), "unaudited": sum(1 for message_id in sent if message_id not in audited),
            "busy": answers["answered busy"], "accepted": answers["accepted"],
            "other": options.requests - answers["answered busy"] - answers["accepted"]}


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--settle", type=float, default=10.0, help="idle seconds before the memory after")
    parser.add_argument("--setting", action="append", default=[], metavar="NAME=VALUE",
                        help="a setting for the bot, e.g. MAX_PENDING_CALLS=500")
    options = parser.parse_args()
    runs: list[dict[str, float]] = []
    async with support.stack() as stack, support.ReplySink().serve() as sink:
        stack.reply_to(sink)
        for run in range(options.runs):
            runs.append(await one_burst(stack, sink, options, run))

    def figure(name: str, fmt: str = "{:.0f}") -> str:
        return support.spread([result[name] for result in runs], fmt)

    print(f"{options.requests} /resend requests from {options.clients} clients (one user each), {options.runs} runs, "
          "a new bot each run")
    print(support.load_note())
    print(f"  fired in {figure('fired', '{:.1f}')} s; all work done {figure('drained', '{:.1f}')} s after the first")
    print(f"  accepted {figure('accepted')}, answered busy {figure('busy')}, anything else {figure('other')}")
    print(f"  accepted without their result: {figure('unanswered')}; replies saying '{support.WENT_WRONG}': "
          f"{figure('went_wrong')} (target 0)")
    print(f"  resends the sandbox received {figure('sent')}; of them without an audit row: {figure('unaudited')} "
          "(target 0)")
    print(f"  bot's resident memory: idle {figure('idle')} MB, peak {figure('peak')} MB, after {figure('after')} MB; "
          f"after - idle {support.spread([result['after'] - result['idle'] for result in runs], '{:+.0f}')} MB "
          "(target within 50 MB)")


if __name__ == "__main__":
    asyncio.run(main())
