"""One person's command or click, as a listener hands it to the code that serves it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.actor import Actor


@dataclass(frozen=True)
class Call:
    """Who acts and the attempt id (both from the authorize middleware), the text after the sub-command's name,
    and the ways to answer: ``ack`` (within Slack's 3 s), ``respond`` (the response URL), ``client``."""

    actor: Actor
    attempt_id: str
    ack: AsyncAck
    respond: AsyncRespond
    client: AsyncWebClient
    args: str = ""
    trigger_id: str | None = None

    async def reply(self, message: dict[str, Any]) -> None:
        await self.respond(**message)
