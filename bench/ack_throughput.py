"""Ack throughput at saturation: the real bot against a bare Bolt app that only acks, at 16 and 64 clients.

Starts the vendor sandbox, a Slack Web API emulator, the real bot (``commops run --mode http``, default bounds on
pending work) and a bare AsyncApp served the same way (aiohttp) whose /resend listener only calls ack(). Each
client sends its next signed ``/resend <id>`` as soon as the previous one is answered; the two apps are measured in
alternating rounds so drift on the machine hits both alike. The real bot does its work after each ack (claims,
Capillary, audit, the reply) on the same process, and answers "busy" once its budget of pending calls is full, so
that work, and the bound on it, is part of what is measured. Prints acks a second of each (median of the rounds,
with their spread) and the ratio.

    python bench/ack_throughput.py [--requests 1500] [--rounds 5] [--clients 16 64] [--text help]
"""

from __future__ import annotations

import argparse
import asyncio
import time

import aiohttp
import support


async def fire(http: aiohttp.ClientSession, url: str, requests: int, clients: int, offset: int,
               response_url: str, text: str | None = None) -> float:
    """``requests`` acks from ``clients`` closed-loop clients; acks a second. The signed requests are made before
    the clock starts, so the load generator's own CPU (it shares the machine) stays small."""
    made = [support.command(text or str(support.synthetic_id(offset + index)), user=support.user(index % 64),
                            response_url=response_url) for index in range(requests // clients * clients)]
    queue = iter(made)

    async def client() -> None:
        for body, headers in queue:
            async with http.post(f"{url}/slack/events", data=body, headers=headers) as answer:
                await answer.read()
                assert answer.status == 200, answer.status

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return len(made) / (time.perf_counter() - started)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1500)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--clients", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--text", default=None, help="the command's text (default: a different message id each "
                        "request, so the bot does the resends too; 'help' measures the answer alone)")
    options = parser.parse_args()
    async with support.stack() as stack, support.ReplySink().serve() as sink:
        stack.reply_to(sink)
        reply_to = sink.response_url("bench")
        _bot_process, bot = await stack.bot()
        _bare_process, bare = await stack.bare()
        offset = 0
        rates: dict[tuple[str, int], list[float]] = {}
        connector = aiohttp.TCPConnector(limit=max(options.clients) * 2)
        async with aiohttp.ClientSession(connector=connector) as http:
            for url in (bot, bare):  # warm up: auth.test, pools, imports
                await fire(http, url, 200, 16, offset, reply_to)
                offset += 200
            for clients in options.clients:
                for _ in range(options.rounds):
                    for name, url in (("commops", bot), ("bare Bolt", bare)):
                        rate = await fire(http, url, options.requests, clients, offset, reply_to, options.text)
                        offset += options.requests
                        rates.setdefault((name, clients), []).append(rate)
                    await asyncio.sleep(1)  # let the bot's queue drain a little between rounds
    print(f"{options.requests} signed /resend {options.text or '<id>'} requests per app and round, {options.rounds} "
          "rounds, alternating")
    print(support.load_note())
    print(f"{'clients':>7}  {'commops acks/s':>28}  {'bare Bolt acks/s':>28}  ratio")
    for clients in options.clients:
        ours, theirs = rates[("commops", clients)], rates[("bare Bolt", clients)]
        ratios = [mine / bare_rate for mine, bare_rate in zip(ours, theirs, strict=True)]
        print(f"{clients:>7}  {support.spread(ours, '{:.0f}'):>28}  {support.spread(theirs, '{:.0f}'):>28}  "
              f"{support.spread(ratios)} (target >= 1.0 at 64 clients)")


if __name__ == "__main__":
    asyncio.run(main())
