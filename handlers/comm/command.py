"""/comm: one slash command whose sub-commands live in their own modules (``audit``, ``upsert``).

To add a sub-command, add a :class:`SubCommand` to :data:`SUBCOMMANDS`: its access action (DESIGN.md's name,
or ``OPEN`` when it is harmless for everyone), one usage line, and the coroutine that serves it. ``ROUTES`` is
derived from that table, so a sub-command cannot exist without its access action. ``help``, no text, or a word
that is not a sub-command get the usage, visible only to the caller.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.actor import Actor
from bot.services import Services
from handlers.comm import audit
from handlers.comm import upsert as comm_upsert
from handlers.middleware.authorize import ANY, HELP_WORDS, OPEN, Routes, merge_routes
from handlers.middleware.call import Call
from handlers.middleware.early_ack import Listeners
from handlers.middleware.payloads import first_word
from handlers.ui.formatting import code, escape


@dataclass(frozen=True)
class SubCommand:
    action: str
    usage: str
    run: Callable[[Call, Services], Awaitable[None]]


SUBCOMMANDS: dict[str, SubCommand] = {
    # Open: everyone sees their own actions; handlers/comm/audit.py widens it to everyone's for `audit.read`.
    "audit": SubCommand(OPEN, audit.USAGE, audit.run),
    "upsert": SubCommand("comm.upsert", comm_upsert.USAGE, comm_upsert.run),
}

# Any other first word only ever gets the usage below, so it is open too. The upsert form's own buttons and
# submission are routed with it.
ROUTES = merge_routes([
    Routes(commands={"/comm": {**{name: sub.action for name, sub in SUBCOMMANDS.items()}, ANY: OPEN}}),
    comm_upsert.ROUTES,
])


def usage(unknown: str | None = None) -> str:
    lines = [f"• {escape(sub.usage)}" for sub in SUBCOMMANDS.values()]
    lines.append("• `/comm help`: this text")
    intro = f":warning: {code(unknown)} is not a /comm sub-command.\n" if unknown else ""
    return intro + "*Usage:*\n" + "\n".join(lines)


def register(app: Listeners, services: Services) -> None:
    @app.command("/comm")
    async def comm(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient,
                   actor: Actor, attempt_id: str) -> None:
        word, rest = first_word(str(command.get("text") or ""))
        sub = SUBCOMMANDS.get(word.lower())
        if sub is None:
            await ack(text=usage(None if word.lower() in HELP_WORDS else word[:40]))
            return
        call = Call(actor, attempt_id, ack, respond, client, args=rest, trigger_id=command.get("trigger_id"))
        await sub.run(call, services)

    comm_upsert.register(app, services)
