"""One person's command or click, as a listener hands it to the code that serves it, and the one way to answer.

Every answer after the ack goes through :meth:`Call.reply`: the response URL first (it works in any channel,
even one the bot is not in), then a post by the bot (in the channel, or to the person alone), then a direct
message. A result the person was waiting for is never dropped because one of those refused it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.actor import Actor

log = logging.getLogger("commops.reply")


@dataclass(frozen=True)
class Call:
    """Who acts and the attempt id (both from the authorize middleware), the text after the sub-command's name,
    and the ways to answer: ``ack`` (within Slack's 3 s), ``respond`` (the response URL), ``client``."""

    actor: Actor
    attempt_id: str
    ack: AsyncAck
    respond: AsyncRespond | None
    client: AsyncWebClient
    args: str = ""
    trigger_id: str | None = None

    async def reply(self, message: dict[str, Any]) -> str:
        """Deliver ``message`` (``respond`` keywords: text, blocks, response_type, replace_original…); returns
        how it went out: ``response_url``, ``channel``, ``ephemeral``, ``dm`` or ``lost`` (logged)."""
        if self.respond is not None:
            try:
                answer = await self.respond(**message)
                if answer.status_code == 200:
                    return "response_url"
                log.warning("the response URL refused a reply to %s (HTTP %s)", self.actor.user_id, answer.status_code)
            except Exception as error:  # an expired or used-up URL, or Slack unreachable: try the Web API
                log.warning("the response URL failed for a reply to %s: %s", self.actor.user_id,
                            type(error).__name__)
        return await self._post(message)

    async def _post(self, message: dict[str, Any]) -> str:
        text, blocks = str(message.get("text") or ""), message.get("blocks")
        public = message.get("response_type") == "in_channel"
        channel, user = self.actor.channel_id, self.actor.user_id
        attempts: list[tuple[str, Any]] = []
        if channel and public:
            attempts.append(("channel", lambda: self.client.chat_postMessage(channel=channel, text=text,
                                                                             blocks=blocks)))
        if channel:
            attempts.append(("ephemeral", lambda: self.client.chat_postEphemeral(channel=channel, user=user,
                                                                                 text=text, blocks=blocks)))
        attempts.append(("dm", lambda: self.client.chat_postMessage(channel=user, text=text, blocks=blocks)))
        for how, post in attempts:
            try:
                await post()
                return how
            except SlackApiError as error:
                log.warning("could not reply to %s by %s: %s", user, how, error.response.get("error"))
        log.error("a reply to %s was lost: every way to reach them refused it", user)
        return "lost"

    async def tell(self, text: str, blocks: Sequence[dict[str, Any]] | None = None) -> str:
        """A note for the person alone, never replacing the message they clicked."""
        message: dict[str, Any] = {"response_type": "ephemeral", "replace_original": False, "text": text}
        if blocks is not None:
            message["blocks"] = list(blocks)
        return await self.reply(message)
