"""Response URLs: minted for the bot's payloads, each good for 5 posts within 30 minutes, posting a reply,
an ephemeral message, or a replacement or deletion of the message a click came from."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from bot.devtools.slack_emulator.chat import Chat, Ephemeral
from bot.devtools.slack_emulator.common import JSON, RESPONSE_URL_TTL, RESPONSE_URL_USES, Failure


@dataclass
class _ResponseTarget:
    channel_id: str | None
    user_id: str | None
    message_ts: str | None
    created: float
    uses: int = 0


class ResponseUrls(Chat):
    """The response URLs handed out so far, and what a post to one does to the messages."""

    def __init__(self) -> None:
        super().__init__()
        self._response_targets: dict[str, _ResponseTarget] = {}

    def new_response_url(
        self, *, channel_id: str | None = None, user_id: str | None = None, message_ts: str | None = None
    ) -> str:
        """``{base}/response/{id}``. ``message_ts`` is the message a click came from, for ``replace_original``
        and ``delete_original``; ``user_id`` receives ephemeral responses."""
        rid = secrets.token_urlsafe(12)
        self._response_targets[rid] = _ResponseTarget(channel_id, user_id, message_ts, self.clock())
        return f"{self._base()}/response/{rid}"

    def _respond(self, rid: str, body: JSON) -> None:
        target = self._response_targets.get(rid)
        if target is None:
            raise Failure("no_service", status=404)
        if self.clock() - target.created > RESPONSE_URL_TTL:
            raise Failure("expired_url", status=404)
        if target.uses >= RESPONSE_URL_USES:
            raise Failure("used_url", status=404)
        original = self._original(target)
        if body.get("delete_original"):
            target.uses += 1
            if original is not None:
                self._forget(target, original)
            return
        try:
            text, blocks = self._content(body)
        except Failure as failure:
            raise Failure(failure.error, status=400) from None
        target.uses += 1
        if body.get("replace_original") and original is not None:
            original["text"] = text
            if blocks:
                original["blocks"] = blocks
            else:
                original.pop("blocks", None)
            return
        # A response_url minted without a channel (a shell or test shortcut) answers in the user's DM.
        channel = target.channel_id or "D" + (target.user_id or "U0UNKNOWN")[1:]
        ts = self._next_ts()
        message = self._new_message(text, blocks, body, ts)
        if body.get("response_type") == "in_channel":
            self._messages.setdefault(channel, {})[ts] = message
        else:
            message.update({"is_ephemeral": True, "channel": channel, "recipient": target.user_id})
            self._ephemeral.append(Ephemeral(channel, target.user_id or "", message))

    def _original(self, target: _ResponseTarget) -> JSON | None:
        if target.message_ts is None or target.channel_id is None:
            return None
        found = self._messages.get(target.channel_id, {}).get(target.message_ts)
        if found is not None:
            return found
        return next(
            (
                e.message
                for e in self._ephemeral
                if e.channel == target.channel_id and e.message["ts"] == target.message_ts
            ),
            None,
        )

    def _forget(self, target: _ResponseTarget, original: JSON) -> None:
        if original.get("is_ephemeral"):
            self._ephemeral = [e for e in self._ephemeral if e.message is not original]
        elif target.channel_id is not None:
            self._messages.get(target.channel_id, {}).pop(str(original["ts"]), None)
