"""Messages: ``chat.postMessage``, ``chat.postEphemeral``, ``chat.update`` and ``chat.delete``, the channel
histories and ephemeral messages they build, and the checks on a message's text and blocks."""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass

from bot.devtools.slack_emulator.blocks import BlockChecker
from bot.devtools.slack_emulator.common import (
    BOT_ID,
    BOT_USER_ID,
    JSON,
    MAX_MESSAGE_BLOCKS,
    MAX_TEXT,
    Failure,
    problems,
)
from bot.devtools.slack_emulator.directory import Directory
from bot.devtools.slack_payloads import API_APP_ID, TEAM_ID


@dataclass
class Ephemeral:
    """A message only ``user`` sees in ``channel``; kept apart from the channel's history."""

    channel: str
    user: str
    message: JSON


class Chat(Directory):
    """Channel messages by channel and ts, and the ephemeral messages, as the chat.* methods leave them."""

    def __init__(self) -> None:
        super().__init__()
        self._messages: dict[str, dict[str, JSON]] = {}
        self._ephemeral: list[Ephemeral] = []
        self._last_ts = 0

    # --- state for renderers --------------------------------------------------------------------------------

    def messages(self, channel: str) -> list[JSON]:
        """The channel's current messages (updates applied, deletions gone), oldest first."""
        stored = self._messages.get(channel, {})
        return [copy.deepcopy(stored[ts]) for ts in sorted(stored)]

    def message(self, channel: str, ts: str) -> JSON | None:
        found = self._messages.get(channel, {}).get(ts)
        return copy.deepcopy(found) if found is not None else None

    def ephemeral_messages(self, channel: str | None = None, user: str | None = None) -> list[JSON]:
        """Ephemeral messages, each marked ``"is_ephemeral": True`` with its ``"channel"`` and ``"recipient"``."""
        return [
            copy.deepcopy(e.message)
            for e in self._ephemeral
            if (channel is None or e.channel == channel) and (user is None or e.user == user)
        ]

    # --- helpers shared by methods --------------------------------------------------------------------------

    def _next_ts(self) -> str:
        """Unique, increasing message ts in Slack's ``seconds.micros`` form."""
        micros = max(int(time.time() * 1_000_000), self._last_ts + 1)
        self._last_ts = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _content(self, args: JSON, *, required: bool = True) -> tuple[str, list[JSON] | None]:
        """Validated ``(text, blocks)`` of a message."""
        text = args.get("text")
        text = "" if text is None else str(text)
        if len(text) > MAX_TEXT:
            raise Failure("msg_too_long")
        blocks: list[JSON] | None = None
        if "blocks" in args and args["blocks"] is not None:
            raw = args["blocks"]
            if not isinstance(raw, list):
                raise Failure("invalid_blocks_format")
            if len(raw) > MAX_MESSAGE_BLOCKS:
                problem = f"must provide no more than {MAX_MESSAGE_BLOCKS} items [json-pointer:/blocks]"
                raise Failure("invalid_blocks", extra={"errors": [problem], **problems([problem])})
            checker = BlockChecker()
            blocks = checker.blocks(raw, "/blocks", MAX_MESSAGE_BLOCKS)
            if checker.problems:
                raise Failure("invalid_blocks", extra={"errors": checker.problems, **problems(checker.problems)})
        if required and not text and not blocks and not args.get("attachments"):
            raise Failure("no_text")
        return text, blocks

    def _new_message(self, text: str, blocks: list[JSON] | None, args: JSON, ts: str) -> JSON:
        message: JSON = {
            "user": BOT_USER_ID,
            "type": "message",
            "ts": ts,
            "bot_id": BOT_ID,
            "app_id": API_APP_ID,
            "text": text,
            "team": TEAM_ID,
        }
        if blocks:
            message["blocks"] = blocks
        for key in ("thread_ts", "attachments", "metadata", "username"):
            if args.get(key) is not None:
                message[key] = args[key]
        return message

    # --- Web API methods ------------------------------------------------------------------------------------

    def _chat_post_message(self, args: JSON) -> JSON:
        channel = self._postable_channel(args)
        text, blocks = self._content(args)
        ts = self._next_ts()
        message = self._new_message(text, blocks, args, ts)
        self._messages.setdefault(channel, {})[ts] = message
        return {"channel": channel, "ts": ts, "message": copy.deepcopy(message)}

    def _chat_post_ephemeral(self, args: JSON) -> JSON:
        channel = self._postable_channel(args)
        user = args.get("user")
        if not isinstance(user, str) or not user:
            raise Failure("user_not_found")
        text, blocks = self._content(args)
        ts = self._next_ts()
        message = self._new_message(text, blocks, args, ts)
        message.update({"is_ephemeral": True, "channel": channel, "recipient": user})
        self._ephemeral.append(Ephemeral(channel, user, message))
        return {"message_ts": ts}

    def _chat_update(self, args: JSON) -> JSON:
        channel = self._channel(args)
        ts = str(args.get("ts") or "")
        message = self._messages.get(channel, {}).get(ts)
        if message is None:
            raise Failure("message_not_found")
        text, blocks = self._content(args)
        message["text"] = text
        if blocks:
            message["blocks"] = blocks
        elif "blocks" in args:  # Slack keeps the old blocks when the argument is left out; [] removes them
            message.pop("blocks", None)
        if args.get("metadata") is not None:
            message["metadata"] = args["metadata"]
        message["edited"] = {"user": BOT_USER_ID, "ts": self._next_ts()}
        return {"channel": channel, "ts": ts, "text": text, "message": copy.deepcopy(message)}

    def _chat_delete(self, args: JSON) -> JSON:
        channel = self._channel(args)
        ts = str(args.get("ts") or "")
        if self._messages.get(channel, {}).pop(ts, None) is None:
            raise Failure("message_not_found")
        return {"channel": channel, "ts": ts}
