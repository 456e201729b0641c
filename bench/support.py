"""What the benchmarks share: the processes they start (the vendor sandbox, a Slack Web API emulator, the real bot,
a bare Bolt app), signed Slack requests, a sink that receives the bot's replies, and how figures are printed.

Every process is a separate Python on the same machine as the load generator, so the figures are only comparable
within one run: each script measures its reference (bare Bolt, or a floor computed from the configured latency,
concurrency and limit) in the same run and prints both.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.devtools import slack_payloads as payloads  # noqa: E402
from bot.devtools.local_server import free_port  # noqa: E402

PYTHON = sys.executable
SECRET = "bench-signing-secret"
TOKEN = "xoxb-bench-token"
SYNTHETIC_BASE_ID = 1_800_000_000_000  # the sandbox's synthetic messages: base + 4 * n + k (k in 0..2)
WENT_WRONG = "Something went wrong"
BUSY = re.compile(r"^:hourglass: Busy", re.MULTILINE)

EMULATOR = """
import asyncio, sys
from bot.devtools.slack_emulator import SlackEmulator
async def main():
    async with SlackEmulator().serve(port=int(sys.argv[1])):
        await asyncio.Event().wait()
asyncio.run(main())
"""

BARE_APP = """
import sys
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
async def healthz(request):
    return web.json_response({"status": "ok"})
web_app = web.Application()
web_app.router.add_post("/slack/events", events)
web_app.router.add_get("/healthz", healthz)
web.run_app(web_app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""


def synthetic_id(number: int) -> int:
    """A message the sandbox knows (customer ``number``'s recent SMS), so a resend of it succeeds."""
    return SYNTHETIC_BASE_ID + 4 * number + 1


def spawn(args: Sequence[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """A process of the benchmark; its output is dropped, or appended to the file BENCH_LOG names."""
    log = os.environ.get("BENCH_LOG")
    output = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115  # the child holds it
    return subprocess.Popen(list(args), cwd=ROOT, env={**os.environ, **(env or {})}, stdout=output, stderr=output)


async def wait_up(url: str, *, timeout: float = 20.0, method: str = "GET") -> float:
    """Poll ``url`` until it answers (any status); the seconds it took."""
    started = time.perf_counter()
    async with aiohttp.ClientSession() as http:
        while time.perf_counter() - started < timeout:
            try:
                async with http.request(method, url, timeout=aiohttp.ClientTimeout(total=0.5)):
                    return time.perf_counter() - started
            except (aiohttp.ClientError, TimeoutError):
                await asyncio.sleep(0.005)
    raise SystemExit(f"{url} did not come up within {timeout:g} s")


def stop(processes: Iterable[subprocess.Popen[bytes]]) -> None:
    processes = list(processes)
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def memory_mb(pid: int) -> tuple[float, float]:
    """(resident now, resident peak) of process ``pid`` in MB, from /proc."""
    values: dict[str, float] = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            name, _, rest = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                values[name] = int(rest.split()[0]) / 1024
    return values["VmRSS"], values["VmHWM"]


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds process ``pid`` has used so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def spread(values: Sequence[float], fmt: str = "{:.2f}") -> str:
    """``median (min–max, n runs)``."""
    if len(values) == 1:
        return fmt.format(values[0])
    return (f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))}–{fmt.format(max(values))}, "
            f"{len(values)} runs)")


def load_note() -> str:
    one, five, _ = os.getloadavg()
    return f"machine: {os.cpu_count()} cores, load average {one:.1f} (1 min) / {five:.1f} (5 min) when this ran"


# Slack requests -------------------------------------------------------------------------------------------------


_TRIGGERS = itertools.count(1)


def command(text: str, *, user: str, response_url: str, name: str = "/resend",
            channel: str = "C0BENCH01") -> tuple[bytes, dict[str, str]]:
    # A trigger id of its own: two requests with the same text, signed in the same second, would be one request
    # received twice (the replay guard refuses the second).
    body = payloads.slash_command(name, text, user_id=user, user_name=user.lower(), channel_id=channel,
                                  response_url=response_url, trigger_id=f"{next(_TRIGGERS)}.2.3")
    return body.encode(), payloads.sign(body, SECRET)


@dataclass
class Reply:
    at: float
    text: str


@dataclass
class ReplySink:
    """Stands in for Slack's response URLs: ``{url}/response/{rid}`` records each reply the bot posts. The bot only
    replies to URLs on Slack's origin or its Slack API's, so the sink also passes ``{url}/api/…`` on to the Slack
    emulator (``upstream``): :meth:`Stack.reply_to` points the bots' SLACK_API_URL at it."""

    url: str = ""
    upstream: str = ""
    replies: dict[str, list[Reply]] = field(default_factory=dict)
    waiting: dict[str, asyncio.Future[Reply]] = field(default_factory=dict)

    def response_url(self, rid: str) -> str:
        return f"{self.url}/response/{rid}"

    def expect(self, rid: str) -> asyncio.Future[Reply]:
        future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        self.waiting[rid] = future
        return future

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        async with aiohttp.ClientSession() as http, http.post(
                f"{self.upstream}/api/{request.match_info['method']}", data=await request.read(),
                headers={key: value for key, value in request.headers.items() if key.lower() != "host"}) as answer:
            return web.Response(status=answer.status, body=await answer.read(),
                                content_type=answer.content_type)

    async def _receive(self, request: web.Request) -> web.StreamResponse:
        rid = request.match_info["rid"]
        body = await request.json()
        reply = Reply(time.perf_counter(), str(body.get("text") or ""))
        self.replies.setdefault(rid, []).append(reply)
        future = self.waiting.pop(rid, None)
        if future is not None and not future.done():
            future.set_result(reply)
        return web.json_response({"ok": True})

    @contextlib.asynccontextmanager
    async def serve(self) -> AsyncIterator[ReplySink]:
        app = web.Application()
        app.router.add_post("/response/{rid}", self._receive)
        app.router.add_post("/api/{method}", self._forward)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{port}"
        try:
            yield self
        finally:
            await runner.cleanup()

    def texts(self) -> list[str]:
        return [reply.text for replies in self.replies.values() for reply in replies]


# The processes --------------------------------------------------------------------------------------------------


@dataclass
class Stack:
    """The sandbox, the Slack emulator and a work folder; bots started on them with :meth:`bot`."""

    sandbox: str
    slack: str
    workdir: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    slack_api: str = ""  # the bots' SLACK_API_URL: the emulator's, or a reply sink's (reply_to)

    def reply_to(self, sink: ReplySink) -> None:
        """Bots started from now on reply to ``sink`` (their Slack API calls pass through it to the emulator)."""
        sink.upstream = self.slack
        self.slack_api = f"{sink.url}/api/"

    def env(self, **overrides: str) -> dict[str, str]:
        policy = self.workdir / "policy.toml"
        if not policy.exists():
            policy.write_text(_POLICY)
        return {
            "SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": self.slack_api or f"{self.slack}/api/",
            "CAPILLARY_BASE_URL": self.sandbox, "CAPILLARY_USERNAME": "demo.till",
            "CAPILLARY_PASSWORD": "demo-password", "CAPILLARY_RATE_LIMIT_PER_MINUTE": "100000",
            "DATABASE_URL": f"sqlite+aiosqlite:///{self.workdir}/bench.db",
            "LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT), "ACCESS_POLICY": str(policy), **overrides,
        }

    async def bot(self, **overrides: str) -> tuple[subprocess.Popen[bytes], str]:
        """``commops run --mode http`` with these settings; its process and base URL once /healthz answers."""
        port = free_port()
        process = spawn([PYTHON, "-m", "bot", "run", "--mode", "http", "--host", "127.0.0.1", "--port", str(port)],
                        self.env(**overrides))
        self.processes.append(process)
        url = f"http://127.0.0.1:{port}"
        await wait_up(f"{url}/healthz")
        return process, url

    async def bare(self) -> tuple[subprocess.Popen[bytes], str]:
        """A bare Bolt app served the same way (aiohttp), whose only listener acks /resend."""
        port = free_port()
        process = spawn([PYTHON, "-c", BARE_APP, str(port), SECRET, TOKEN, f"{self.slack}/api/"], self.env())
        self.processes.append(process)
        url = f"http://127.0.0.1:{port}"
        await wait_up(f"{url}/healthz")
        return process, url

    async def sandbox_post(self, path: str, json: Any) -> Any:
        async with aiohttp.ClientSession() as http, http.post(f"{self.sandbox}/_sandbox/{path}", json=json) as answer:
            answer.raise_for_status()
            return await answer.json()

    async def sandbox_get(self, path: str) -> Any:
        async with aiohttp.ClientSession() as http, http.get(f"{self.sandbox}/_sandbox/{path}") as answer:
            answer.raise_for_status()
            return await answer.json()


_POLICY = '[[grant]]\nactions = ["*"]\nusers = [' + ", ".join(f'"U0BENCH{n:03d}"' for n in range(200)) + "]\n"


def user(number: int) -> str:
    """A Slack user id the benchmark's access policy grants everything to (0 to 199)."""
    return f"U0BENCH{number:03d}"


@contextlib.asynccontextmanager
async def stack() -> AsyncIterator[Stack]:
    ports = {"sandbox": free_port(), "slack": free_port()}
    processes = [spawn([PYTHON, "-m", "bot", "sandbox", "--port", str(ports["sandbox"])]),
                 spawn([PYTHON, "-c", EMULATOR, str(ports["slack"])], {"PYTHONPATH": str(ROOT)})]
    with tempfile.TemporaryDirectory(prefix="commops-bench-") as folder:
        built = Stack(f"http://127.0.0.1:{ports['sandbox']}", f"http://127.0.0.1:{ports['slack']}", Path(folder),
                      processes)
        try:
            await wait_up(f"{built.sandbox}/_sandbox/stats")
            await wait_up(f"{built.slack}/api/auth.test", method="POST")
            yield built
        finally:
            stop(reversed(built.processes))
