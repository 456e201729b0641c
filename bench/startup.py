"""Start-up: from starting ``commops run --mode http`` to its first ``/healthz`` answer, against the time a Python
process takes to ``import slack_bolt`` and exit (the reference), measured alternately in the same run. Also when
``/readyz`` first says ready (Slack's SDK, the store and the vendor clients loaded behind /healthz).

The database is made (migrated) once beforehand, as a deployment's is; each start then only checks it is current.

    python bench/startup.py [--runs 7]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import time

import aiohttp
import support


async def bot_start(stack: support.Stack) -> tuple[float, float]:
    """Seconds to the first /healthz answer, and to the first ready /readyz."""
    port = support.free_port()
    started = time.perf_counter()
    process = support.spawn([support.PYTHON, "-m", "bot", "run", "--mode", "http", "--host", "127.0.0.1",
                             "--port", str(port)], stack.env())
    try:
        alive = await support.wait_up(f"http://127.0.0.1:{port}/healthz")
        async with aiohttp.ClientSession() as http:
            while True:
                async with http.get(f"http://127.0.0.1:{port}/readyz") as answer:
                    if answer.status == 200:
                        return alive, time.perf_counter() - started
                await asyncio.sleep(0.005)
    finally:
        support.stop([process])


def import_bolt() -> float:
    started = time.perf_counter()
    subprocess.run([support.PYTHON, "-c", "import slack_bolt"], check=True)
    return time.perf_counter() - started


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    options = parser.parse_args()
    async with support.stack() as stack:
        await bot_start(stack)  # makes the database, warms the file system cache
        import_bolt()
        starts, readies, bolts = [], [], []
        for _ in range(options.runs):
            alive, ready = await bot_start(stack)
            starts.append(alive)
            readies.append(ready)
            bolts.append(import_bolt())
    print(f"{options.runs} starts of each, alternating")
    print(support.load_note())
    print(f"commops run -> first /healthz: {support.spread([value * 1000 for value in starts], '{:.0f}')} ms")
    print(f"commops run -> ready /readyz:   {support.spread([value * 1000 for value in readies], '{:.0f}')} ms")
    print(f"python -c 'import slack_bolt':  {support.spread([value * 1000 for value in bolts], '{:.0f}')} ms")
    ratios = [start / bolt for start, bolt in zip(starts, bolts, strict=True)]
    print(f"ratio {support.spread(ratios)} (target <= 3.0); medians' ratio "
          f"{statistics.median(starts) / statistics.median(bolts):.2f}")


if __name__ == "__main__":
    asyncio.run(main())
