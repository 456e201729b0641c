"""Alert cycles against the sandbox in its own process, each against its floor, with the sandbox's own count of calls.

Two cases, each run ``--runs`` times (median and spread):

- the limit binds: ``--bind-customers`` (1,200) at ``--bind-limit`` (600) calls a minute, the sandbox holding the same
  limit. The limiter spaces calls evenly on a grid (bot/vendors/rate_limit.py), so the floor is the grid:
  (customers - 1) / limit minutes, plus one call's latency.
- the limit does not bind: ``--free-customers`` (10,000), no limit, each call taking ``--latency-ms``; the job's
  lookups run 16 at a time (the background lane of bot/work/turns.py), so the floor is
  ceil(customers / 16) x latency.

Each prints the cycle time, the floor and their ratio, and the sandbox's busiest 60 s window (the vendor's count: it
must never exceed the limit) and its 429s. With ``--replicas 3`` (the default) the binding case is also run by three
Capillary clients, each with its own connection to one SQLite store whose rate ledger they share (as three replicas
of the bot would), each looking up a third of the customers at once: the busiest window must still hold the limit.

The job is the bot's own AlertJob with the bot's own Capillary client, rate ledger (the store) and vendor workers.

    python bench/alert_cycle.py [--runs 2] [--latency-ms 20] [--replicas 3]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import support
from slack_sdk.web.async_client import AsyncWebClient

from bot.alerts.job import AlertJob
from bot.alerts.watchlist import Customer, CustomerList
from bot.devtools.sandbox import DEMO
from bot.settings import DEFAULT_ALERT_STATUSES
from bot.store.engine import Store
from bot.store.rate_slices import StoreLedger
from bot.store.schema import upgrade
from bot.vendors.capillary import CapillaryClient
from bot.vendors.capillary.auth import BasicAuth
from bot.vendors.errors import VendorError
from bot.work import Lane, Turns
from handlers.alerts.poster import SlackDigestPoster

BACKGROUND = 16  # the job's lookups in flight (bot/work/turns.py)


def customers(count: int, first: int = 0) -> list[Customer]:
    return [Customer("mobile", f"9199{first + number:08d}") for number in range(count)]


def capillary(stack: support.Stack, store: Store, limit: int) -> CapillaryClient:
    return CapillaryClient(stack.sandbox, BasicAuth(DEMO.capillary_username, DEMO.capillary_password_secret),
                           rate_limit_per_minute=limit, ledger=StoreLedger(store))


async def fresh(stack: support.Stack, limit: int | None, latency_ms: int) -> None:
    await stack.sandbox_post("reset", {})
    await stack.sandbox_post("latency", {"ms": latency_ms})
    await stack.sandbox_post("rate_limit", {"per_minute": limit, "vendor": "capillary"})


async def cycle(stack: support.Stack, count: int, limit: int, folder: Path, run: int) -> float:
    """One run of the bot's alert job over ``count`` customers; seconds."""
    store = Store(f"sqlite+aiosqlite:///{folder}/cycle-{run}.db")
    await upgrade(store)
    client = capillary(stack, store, limit)
    slack = AsyncWebClient(token=support.TOKEN, base_url=f"{stack.slack}/api/")
    job = AlertJob(capillary=client, store=store, poster=SlackDigestPoster(slack), channel="C0ALERTS1",
                   watchlist=CustomerList(customers(count)), statuses=DEFAULT_ALERT_STATUSES, zone=ZoneInfo("UTC"),
                   lookback=timedelta(hours=24), turns=Turns(), post_interval=0.0)
    try:
        started = time.perf_counter()
        report = await job.run_once()
        elapsed = time.perf_counter() - started
        assert report.customers == count and not report.failed, report.summary()
        return elapsed
    finally:
        await client.aclose()
        await store.close()


async def replicas(stack: support.Stack, count: int, limit: int, folder: Path, how_many: int) -> float:
    """``how_many`` clients, each on its own connection to one store, look up a share of ``count`` customers at once;
    seconds until all are done."""
    path = f"sqlite+aiosqlite:///{folder}/replicas.db"
    first = Store(path)
    await upgrade(first)
    stores = [first, *(Store(path) for _ in range(how_many - 1))]
    clients = [capillary(stack, store, limit) for store in stores]
    share = math.ceil(count / how_many)

    async def replica(client: CapillaryClient, number: int) -> None:
        turns = Turns()
        pending = iter(customers(min(share, count - number * share), number * share))

        async def worker() -> None:
            for customer in pending:
                async with turns.turn(Lane.BACKGROUND):
                    try:
                        await client.customer_messages(customer.name, customer.value, keep=lambda _status: False)
                    except VendorError as error:
                        raise SystemExit(f"a lookup failed: {error}") from None

        await asyncio.gather(*(worker() for _ in range(BACKGROUND)))

    try:
        started = time.perf_counter()
        await asyncio.gather(*(replica(client, number) for number, client in enumerate(clients)))
        return time.perf_counter() - started
    finally:
        for client in clients:
            await client.aclose()
        for store in stores:
            await store.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--bind-customers", type=int, default=1200)
    parser.add_argument("--bind-limit", type=int, default=600)
    parser.add_argument("--free-customers", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--replicas", type=int, default=3, help="0 leaves the replicas' case out")
    options = parser.parse_args()
    latency = options.latency_ms / 1000
    bind_floor = (options.bind_customers - 1) / options.bind_limit * 60 + latency
    free_floor = math.ceil(options.free_customers / BACKGROUND) * latency
    results: dict[str, list[tuple[float, int, int]]] = {}
    async with support.stack() as stack:
        with tempfile.TemporaryDirectory(prefix="commops-alerts-") as folder:
            for run in range(options.runs):
                for case, count, limit in (("free", options.free_customers, 10_000_000),
                                           ("bind", options.bind_customers, options.bind_limit)):
                    await fresh(stack, None if case == "free" else limit, options.latency_ms)
                    elapsed = await cycle(stack, count, limit, Path(folder), len(results.get(case, [])) * 2 + run)
                    stats = (await stack.sandbox_get("stats"))["capillary"]
                    results.setdefault(case, []).append((elapsed, stats["max_in_window"], stats["rate_limited"]))
            if options.replicas:
                await fresh(stack, options.bind_limit, options.latency_ms)
                elapsed = await replicas(stack, options.bind_customers, options.bind_limit, Path(folder),
                                         options.replicas)
                stats = (await stack.sandbox_get("stats"))["capillary"]
                results["replicas"] = [(elapsed, stats["max_in_window"], stats["rate_limited"])]
    print(support.load_note())
    for case, title, floor, limit in (
            ("bind", f"limit binds: {options.bind_customers} customers at {options.bind_limit}/min, "
                     f"{options.latency_ms} ms a call", bind_floor, options.bind_limit),
            ("free", f"limit does not bind: {options.free_customers} customers, {options.latency_ms} ms a call, "
                     f"{BACKGROUND} at once", free_floor, None),
            ("replicas", f"{options.replicas} replicas sharing the store's rate ledger: {options.bind_customers} "
                         f"customers at {options.bind_limit}/min", bind_floor, options.bind_limit)):
        if case not in results:
            continue
        times = [elapsed for elapsed, _most, _limited in results[case]]
        most = max(busiest for _elapsed, busiest, _limited in results[case])
        limited = sum(count for _elapsed, _most, count in results[case])
        print(title)
        print(f"  cycle {support.spread(times, '{:.1f}')} s; floor {floor:.1f} s; ratio "
              f"{support.spread([elapsed / floor for elapsed in times])}"
              + (" (target <= 1.05)" if case == "bind" else ""))
        print(f"  sandbox: busiest 60 s window {most} calls" + (f" (limit {limit})" if limit else "")
              + f", {limited} answered 429")


if __name__ == "__main__":
    asyncio.run(main())
