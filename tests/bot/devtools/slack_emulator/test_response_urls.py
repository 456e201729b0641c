"""Response URLs: replies, ephemeral messages, replacing and deleting, and the use limit."""

from __future__ import annotations

import httpx
import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.devtools.slack_emulator import SlackEmulator
from tests.bot.devtools.slack_emulator import section

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_response_url_posts_are_recorded_and_applied(emulator: SlackEmulator, client: AsyncWebClient) -> None:
    posted = await client.chat_postMessage(channel="C1", text="Resend 42?", blocks=[section("Resend 42?")])
    url = emulator.new_response_url(channel_id="C1", user_id="U1", message_ts=posted["ts"])
    assert url.startswith(f"{emulator.base_url}/response/")
    async with httpx.AsyncClient() as http:
        replaced = await http.post(url, json={"replace_original": True, "text": "Resent 42", "blocks": []})
        assert replaced.status_code == 200 and replaced.json() == {"ok": True}
        await http.post(url, json={"text": "only you see this"})
        await http.post(url, json={"response_type": "in_channel", "text": "for everyone"})
        assert (await http.post(url, json={"response_type": "in_channel"})).text == "no_text"
        assert (await http.post(f"{emulator.base_url}/response/nope", json={"text": "x"})).status_code == 404

    current = emulator.messages("C1")
    assert current[0]["ts"] == posted["ts"] and current[0]["text"] == "Resent 42" and "blocks" not in current[0]
    assert current[1]["text"] == "for everyone"
    assert [m["text"] for m in emulator.ephemeral_messages("C1", "U1")] == ["only you see this"]
    call = emulator.calls("response_url")[0]
    assert call.args == {"replace_original": True, "text": "Resent 42", "blocks": [], "url": url}

    async with httpx.AsyncClient() as http:
        await http.post(url, json={"delete_original": True})
        await http.post(url, json={"text": "fifth use"})
        assert (await http.post(url, json={"text": "sixth use"})).text == "used_url"  # 5 uses per URL
    assert [m["text"] for m in emulator.messages("C1")] == ["for everyone"]
