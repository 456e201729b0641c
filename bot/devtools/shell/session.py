"""``commops shell``: talk to the bot in a terminal, no Slack workspace needed.

The shell drives the same AsyncApp as production through Bolt's own dispatch, with requests signed like
Slack's, while the bot's Web API calls go to the local Slack emulator; what the bot posts is rendered here.
With no Capillary or Comm settings it serves the built-in sandbox in-process.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import json
import logging
import re
import secrets
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from typing import IO, Any

from bot.background import BackgroundWork
from bot.devtools import slack_payloads as payloads
from bot.devtools.local_server import serve_asgi
from bot.devtools.shell.render import Button, ButtonBoard, plain, render_blocks
from bot.devtools.slack_emulator import SlackEmulator
from bot.logs import configure_logging
from bot.settings import Settings

SHELL_USER = "U0SHELL01"
SHELL_CHANNEL = "C0SHELL01"
SETTLE_SECONDS = 60.0

HELP = """Type a slash command as in Slack, e.g.
  /resend 1746061653596        /resend help        /comm audit
  /campaign list               /campaign status "Weekly Digest"        /campaign pause winback march
`home` shows the bot's Home tab; `shortcut <message text>` (or `shortcut` alone, then paste a message and end with
an empty line) runs the Resend from message shortcut on it.
Type a button's number to press it, `help` for this text, `quit` (or Ctrl-D) to leave.
`/as U0LEAD0001` acts as another Slack user from then on (e.g. to approve a request); `/as` alone is you again."""
SHORTCUT = "resend_from_message"

Dispatch = Callable[[str], Awaitable[tuple[int, str]]]


class Terminal:
    """Reads lines without blocking the event loop; writes whole lines."""

    def __init__(self, stdin: IO[str], stdout: IO[str]) -> None:
        self._stdin = stdin
        self._stdout = stdout

    def say(self, text: str = "") -> None:
        self._stdout.write(text + "\n")
        self._stdout.flush()

    async def ask(self, prompt: str) -> str | None:
        self._stdout.write(prompt)
        self._stdout.flush()
        line = await asyncio.get_running_loop().run_in_executor(None, self._stdin.readline)
        if line == "":
            return None
        return line.rstrip("\n")


class Shell:
    def __init__(self, emulator: SlackEmulator, dispatch: Dispatch, terminal: Terminal, user_name: str,
                 channels: list[str], background: BackgroundWork) -> None:
        self.emulator = emulator
        self.dispatch = dispatch
        self.background = background
        self.term = terminal
        self.user_id = SHELL_USER  # who the shell acts as: the local user, or whom `/as` named
        self.user_name = user_name
        self.own_name = user_name
        self.channels = channels
        self.board = ButtonBoard()
        self._seen_messages: dict[tuple[str, str], str] = {}
        self._seen_ephemeral: dict[str, int] = {}
        self._seen_views: dict[str, str] = {}

    # Rendering what the bot did --------------------------------------------------------------------------

    def _users(self, user_id: str) -> str:
        return self.own_name if user_id == SHELL_USER else user_id

    def act_as(self, user_id: str) -> None:
        """``/as U…``: act as that Slack user from now on (their grants, their approvals); ``/as``: yourself."""
        if not user_id:
            self.user_id, self.user_name = SHELL_USER, self.own_name
            self.term.say(f"You act as yourself again ({SHELL_USER}).")
            return
        if not re.fullmatch(r"[UW][A-Z0-9]{2,}", user_id):
            self.term.say(f"{user_id!r} is not a Slack user id (U… or W…, e.g. U0LEAD0001).")
            return
        self.user_id, self.user_name = user_id, user_id
        self.term.say(f"You now act as Slack user {user_id}: commands and buttons are theirs. `/as` to go back.")

    def render_changes(self) -> list[dict[str, Any]]:
        """Print messages that are new or changed since last time; return views that opened or changed."""
        for channel in self.channels:
            for message in self.emulator.messages(channel):
                key = (channel, str(message.get("ts")))
                fingerprint = json.dumps([message.get("text"), message.get("blocks")], sort_keys=True)
                if self._seen_messages.get(key) == fingerprint:
                    continue
                label = "updated" if key in self._seen_messages else "posted"
                self._seen_messages[key] = fingerprint
                self._show(message, f"commops {label} in #{self._channel_name(channel)}",
                           {"channel": channel, "ts": message.get("ts"), "message": message})
        ephemeral = self.emulator.ephemeral_messages(user=self.user_id)
        for message in ephemeral[self._seen_ephemeral.get(self.user_id, 0):]:
            self._show(message, "commops (only you can see this)",
                       {"channel": message.get("channel"), "ts": message.get("ts"), "message": message})
        self._seen_ephemeral[self.user_id] = len(ephemeral)
        changed: list[dict[str, Any]] = []
        for view_id, view in list(self.emulator.views.items()):
            fingerprint = json.dumps(view.get("blocks"), sort_keys=True) + str(view.get("title"))
            if self._seen_views.get(view_id) != fingerprint:
                self._seen_views[view_id] = fingerprint
                changed.append(view)
        return changed

    def _channel_name(self, channel: str) -> str:
        return "shell" if channel == SHELL_CHANNEL else channel

    def _show(self, message: dict[str, Any], heading: str, origin: dict[str, Any]) -> None:
        self.term.say(f"── {heading} " + "─" * max(0, 50 - len(heading)))
        blocks = message.get("blocks") or []
        lines = render_blocks(blocks, self.board, message, origin, self._users) if blocks else []
        if not lines:
            lines = plain(str(message.get("text", "")), self._users).splitlines()
        for line in lines:
            self.term.say("  " + line)
        self.term.say()

    def show_ack(self, status: int, body: str) -> None:
        """What Bolt answered on the request itself (an ack with text is an ephemeral reply)."""
        if status == 401:
            self.term.say("commops refused the request (signature check failed).")
            return
        if not body:
            return
        try:
            data = json.loads(body)
        except ValueError:
            self.term.say(plain(body))
            return
        if isinstance(data, dict) and (data.get("text") or data.get("blocks")):
            self._show(data, "commops (only you can see this)", {"channel": SHELL_CHANNEL, "message": data})

    # Acting -------------------------------------------------------------------------------------------------

    async def run_command(self, line: str) -> None:
        command, _, text = line.partition(" ")
        body = payloads.slash_command(
            command, text.strip(), user_id=self.user_id, user_name=self.user_name, channel_id=SHELL_CHANNEL,
            channel_name="shell", response_url=self.emulator.new_response_url(
                channel_id=SHELL_CHANNEL, user_id=self.user_id),
            trigger_id=self.emulator.new_trigger_id(),
        )
        await self._send(body)

    async def open_home(self) -> None:
        """Open the Home tab as Slack does (an ``app_home_opened`` event), then draw what the bot published."""
        status, text = await self.dispatch(payloads.app_home_opened(self.user_id))
        self.show_ack(status, text)
        await self.settle()
        self.show_home()

    def show_home(self) -> None:
        view = self.emulator.home_views.get(self.user_id)
        if view is None:
            self.term.say("commops published no Home tab.")
            return
        self.term.say("── Home tab " + "─" * 40)
        for line in render_blocks(view.get("blocks") or [], self.board, view, {"view": view}, self._users):
            self.term.say("  " + line)
        self.term.say()

    async def run_shortcut(self, text: str) -> None:
        """The Resend from message shortcut on a message (in #shell) that says ``text``."""
        if not text:
            self.term.say("Paste the message, then an empty line:")
            lines: list[str] = []
            while True:
                line = await self.term.ask("")
                if line is None or not line.strip():
                    break
                lines.append(line)
            text = "\n".join(lines)
        ts = f"{time.time():.6f}"
        message = {"type": "message", "user": "U0SOMEONE", "ts": ts, "text": text}
        body = payloads.message_action(
            message, callback_id=SHORTCUT, user_id=self.user_id, user_name=self.user_name, channel_id=SHELL_CHANNEL,
            channel_name="shell", response_url=self.emulator.new_response_url(
                channel_id=SHELL_CHANNEL, user_id=self.user_id, message_ts=ts),
            trigger_id=self.emulator.new_trigger_id())
        await self._send(body)

    async def press(self, button: Button) -> None:
        if button.confirm:
            title = plain(str((button.confirm.get("title") or {}).get("text", "Are you sure?")))
            text = plain(str((button.confirm.get("text") or {}).get("text", "")))
            answer = await self.term.ask(f"{title} {text} [y/N] ")
            if (answer or "").strip().lower() not in ("y", "yes"):
                self.term.say("Cancelled.")
                return
        action = payloads.button_action(button.message.get("blocks") or [], action_id=button.action_id,
                                        value=button.value)
        action["block_id"] = button.block_id
        view = button.origin.get("view")
        if isinstance(view, dict) and button.origin.get("message") is None:  # a button in a modal or the Home tab
            await self._send(payloads.block_actions(action, user_id=self.user_id, user_name=self.user_name, view=view,
                                                    trigger_id=self.emulator.new_trigger_id(view_id=view.get("id"))))
            if view.get("type") == "home":
                self.show_home()
            return
        channel = button.origin.get("channel") or SHELL_CHANNEL
        message = button.origin.get("message")
        body = payloads.block_actions(
            action, user_id=self.user_id, user_name=self.user_name, channel_id=channel, message=message,
            response_url=self.emulator.new_response_url(channel_id=channel, user_id=self.user_id,
                                                        message_ts=button.origin.get("ts")),
            trigger_id=self.emulator.new_trigger_id(),
        )
        await self._send(body)

    async def _send(self, body: str) -> None:
        status, text = await self.dispatch(body)
        self.show_ack(status, text)
        await self.settle()
        for view in self.render_changes():
            await self.fill_form(view)

    async def settle(self) -> None:
        """Wait for the work the last request started after its ack (listeners, audit follow-ups) to finish."""
        await self.background.drain(SETTLE_SECONDS)

    async def fill_form(self, view: dict[str, Any]) -> None:
        """Show a modal as a form, field by field, and submit it through the same dispatch path."""
        from bot.devtools.shell.forms import run_form

        await run_form(self, view)

    async def repl(self) -> None:
        self.term.say(HELP)
        while True:
            line = await self.term.ask(f"{self.user_name}> ")
            if line is None:
                self.term.say()
                return
            line = line.strip()
            if not line:
                continue
            if line in ("quit", "exit", ":q"):
                return
            if line in ("help", "?"):
                self.term.say(HELP)
            elif line == "home":
                await self.open_home()
            elif line == "shortcut" or line.startswith("shortcut "):
                await self.run_shortcut(line.removeprefix("shortcut").strip())
            elif line == "/as" or line.startswith("/as "):
                self.act_as(line[3:].strip())
            elif line.startswith("/"):
                await self.run_command(line)
            elif line.isdecimal() and int(line) in self.board.buttons:
                await self.press(self.board.buttons[int(line)])
            elif line.isdecimal():
                self.term.say(f"There is no button {line}.")
            else:
                self.term.say("Commands start with / (try /resend help); numbers press buttons; `quit` leaves.")


def _sandbox_settings(settings: Settings, url: str) -> Settings:
    from bot.devtools.sandbox import DEMO

    return settings.model_copy(update={
        "capillary_base_url": url, "capillary_username": DEMO.capillary_username,
        "capillary_password": DEMO.capillary_password_secret, "capillary_oauth_key": None,
        "capillary_oauth_secret": None, "comm_api_url": f"{url}/api", "comm_api_token": DEMO.comm_token_secret,
    })


async def run_shell(settings: Settings, known_secrets: list[str], *, stdin: IO[str] | None = None,
                    stdout: IO[str] | None = None) -> None:
    from bot.app import build_app, close_app, dispatch, start_alerts, start_schedule
    from bot.devtools.sandbox import build_sandbox_app
    from bot.services import build_services

    term = Terminal(stdin or sys.stdin, stdout or sys.stdout)
    configure_logging("DEBUG" if settings.log_level == "DEBUG" else "WARNING", known_secrets)
    async with contextlib.AsyncExitStack() as stack:
        sandboxed = not settings.capillary_configured and not settings.comm_configured
        if sandboxed:
            url = await stack.enter_async_context(serve_asgi(build_sandbox_app()))
            # A private database: the sandbox's demo data must never mix with a real bot's resends or alerts.
            folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="commops-shell-"))
            settings = _sandbox_settings(settings, url).model_copy(
                update={"database_url": f"sqlite+aiosqlite:///{folder}/shell.db"})
            term.say(f"No Capillary or Comm settings: using the built-in sandbox at {url} (demo data).")
        emulator = SlackEmulator()
        await stack.enter_async_context(emulator.serve())
        user_name = _local_user()
        # users.info answers with this machine's time zone: /campaign reads "until 09:00" in it.
        emulator.add_user(SHELL_USER, user_name, tz=local_zone())
        signing_secret = secrets.token_hex(16)
        settings = settings.model_copy(update={
            "slack_api_url": emulator.api_url, "slack_bot_token": _secret(f"xoxb-shell-{secrets.token_hex(8)}"),
            "slack_signing_secret": _secret(signing_secret), "slack_app_token": None,
        })
        services = await build_services(settings, local_user=SHELL_USER)
        stack.push_async_callback(services.aclose)
        app = build_app(services)
        stack.push_async_callback(close_app, app)

        async def send(body: str) -> tuple[int, str]:
            response = await dispatch(app, body, payloads.sign(body, signing_secret))
            return response.status, response.body

        channels = [SHELL_CHANNEL] + ([settings.alert_channel] if settings.alert_channel else [])
        shell = Shell(emulator, send, term, user_name, channels, services.background)
        # Digests are drawn the moment they are posted, not only after the next command. Against real vendors the
        # alerts stay with the running bot: the shell would otherwise mark them posted to this emulator.
        if sandboxed or settings.alert_channel is None:
            alert_scheduler = start_alerts(services, app.client, on_posted=shell.render_changes)
            if alert_scheduler is not None:
                stack.push_async_callback(alert_scheduler.stop)
        else:
            term.say("Alerts are not run in the shell against real vendors: they stay with the running bot.")
        # Scheduled pauses and resumes run here too (their outcomes are drawn as they are posted); against real
        # vendors they share the database with the running bot, whose runner would run them just the same.
        schedule_runner = start_schedule(services, app.client, on_reported=shell.render_changes)
        if schedule_runner is not None:
            stack.push_async_callback(schedule_runner.stop)
        term.say(f"commops shell: you are @{user_name} in #shell.")
        term.say(access_notice(settings))
        await shell.repl()
        logging.getLogger("commops.shell").debug("shell closed")


def access_notice(settings: Settings) -> str:
    if settings.access_policy is None:
        return ("No ACCESS_POLICY: as the local user you may do everything. Set ACCESS_POLICY to try a policy "
                f"(you are Slack user {SHELL_USER} in channel {SHELL_CHANNEL}).")
    return (f"Access policy {settings.access_policy} applies: you act as Slack user {SHELL_USER} in channel "
            f"{SHELL_CHANNEL} and may do only what it grants that user (read-only actions it does not name stay "
            "open).")


def _secret(value: str) -> Any:
    from pydantic import SecretStr

    return SecretStr(value)


def local_zone() -> str:
    """This machine's IANA time zone (TZ, else /etc/localtime's target), or UTC when it cannot be told."""
    import os
    from pathlib import Path
    from zoneinfo import ZoneInfo

    named = os.environ.get("TZ", "").lstrip(":")
    if not (named and "/" in named):
        try:
            target = str(Path("/etc/localtime").resolve())
        except OSError:
            target = ""
        named = target.split("zoneinfo/", 1)[1] if "zoneinfo/" in target else "UTC"
    try:
        ZoneInfo(named)
    except (KeyError, ValueError, OSError):  # ZoneInfoNotFoundError is a KeyError; a malformed name a ValueError
        return "UTC"
    return named


def _local_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name (e.g. a container): any name will do
        return "you"
