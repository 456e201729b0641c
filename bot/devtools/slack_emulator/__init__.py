"""A local Slack Web API: the bot's ``AsyncWebClient`` talks to it over real HTTP instead of to slack.com.

End-to-end tests, the benchmark and ``commops shell`` point ``SLACK_API_URL`` at ``{server}/api/``. The emulator
answers in the shape of Slack's real responses, enforces the limits the bot must respect (block counts and sizes,
text length, single-use trigger ids that expire after 3 seconds, view hashes), lets a test inject rate limits and
failures, and records every call so a test can wait for it and the shell can render it.

State lives in memory and is touched only from the event loop that serves the app (uvicorn on the caller's loop,
see :func:`bot.devtools.local_server.serve_asgi`), so no locks are needed.

:class:`SlackEmulator` (``server.py``) is assembled from one part per concern, each owning its own state:
``directory.py`` (users, usergroups, channels), ``chat.py`` (messages), ``views.py`` (modals),
``response_urls.py``, ``socket_mode.py`` (``apps.connections.open`` and the Socket Mode WebSocket),
``recording.py`` (the call log) and ``faults.py`` (injected failures). ``blocks.py`` checks
Block Kit; ``common.py`` holds what they all share.
"""

from bot.devtools.slack_emulator.blocks import BlockChecker
from bot.devtools.slack_emulator.common import (
    BOT_ID,
    BOT_NAME,
    BOT_USER_ID,
    JSON,
    MAX_MESSAGE_BLOCKS,
    MAX_TEXT,
    MAX_VIEW_BLOCKS,
    RESPONSE_URL_TTL,
    RESPONSE_URL_USES,
    Call,
)
from bot.devtools.slack_emulator.server import SlackEmulator
from bot.devtools.slack_emulator.socket_mode import ACK_DEADLINE, Ack, Envelope, LateAck, socket_payload

_BlockChecker = BlockChecker  # its name before it was public

__all__ = [
    "ACK_DEADLINE",
    "BOT_ID",
    "BOT_NAME",
    "BOT_USER_ID",
    "JSON",
    "MAX_MESSAGE_BLOCKS",
    "MAX_TEXT",
    "MAX_VIEW_BLOCKS",
    "RESPONSE_URL_TTL",
    "RESPONSE_URL_USES",
    "Ack",
    "BlockChecker",
    "Call",
    "Envelope",
    "LateAck",
    "SlackEmulator",
    "socket_payload",
]
