"""Posting the alert job's digests to Slack (the DigestPoster of bot/alerts/posting.py), with the bot's Web API
client: chat.postMessage for the digest and each thread reply, drawn by handlers/alerts/blocks.py."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.alerts.domain import Digest, DigestItem
from bot.alerts.posting import PostRefused
from handlers.alerts.blocks import DIGEST, DigestBlocks, thread_batches, thread_reply


class SlackDigestPoster:
    def __init__(self, client: AsyncWebClient, render: DigestBlocks = DIGEST) -> None:
        self._client = client
        self._render = render

    async def post_digest(self, channel: str, digest: Digest) -> str:
        text, blocks = self._render.main_message(digest)
        return await self._post(channel=channel, text=text, blocks=blocks)

    def thread_replies(self, items: Sequence[DigestItem]) -> list[tuple[DigestItem, ...]]:
        return thread_batches(items)

    async def post_reply(self, channel: str, thread_ts: str, items: Sequence[DigestItem]) -> str:
        text, blocks = thread_reply(items)
        return await self._post(channel=channel, text=text, blocks=blocks, thread_ts=thread_ts)

    async def _post(self, **arguments: Any) -> str:
        try:
            reply = await self._client.chat_postMessage(**arguments)
        except SlackApiError as error:
            raise PostRefused(error.response.get("error")) from error
        return str(reply["ts"])
