"""POST /v2/communications/resend: seed 004's answers, errors and the ids tests add."""

from __future__ import annotations

import pytest

from bot.devtools.sandbox import SEED
from tests.bot.devtools.sandbox import Running

RESEND = "/v2/communications/resend"
INVALID = {"warnings": [], "errors": [{"status": False, "code": 400,
                                       "message": "Input is invalid, Please check request parameters or input "
                                                  "xml/json"}]}


pytestmark = pytest.mark.asyncio(loop_scope="module")


async def resend(sbx: Running, message_id: object) -> tuple[int, object]:
    answer = await sbx.cap("POST", RESEND, json={"messageId": message_id})
    return answer.status_code, answer.json()


async def test_the_seed_message_resends_as_the_seed_page_says(sbx: Running) -> None:
    assert await resend(sbx, 1746061653596) == (200, {
        "orgId": 100737, "undeliveredMessageId": 1746061653596, "resentMessageId": 1748743190124, "warnings": []})


async def test_later_resends_get_fresh_ids(sbx: Running) -> None:
    ids = {(await resend(sbx, SEED.resend_message_id))[1]["resentMessageId"] for _ in range(3)}  # type: ignore[index]
    assert len(ids) == 3 and SEED.resend_first_result in ids


async def test_an_unknown_id_is_4223_exactly_as_documented(sbx: Running) -> None:
    assert await resend(sbx, 174606165) == (200, {"errors": [{
        "status": False, "code": 4223,
        "message": "Failed to resend message : Message not found for orgId: 100737 and messageId: 174606165"}]})


@pytest.mark.parametrize("bad", ["1746061653596", 17.5, None, True, [1]])
async def test_a_non_integer_id_is_invalid_input(sbx: Running, bad: object) -> None:
    assert await resend(sbx, bad) == (400, INVALID)


async def test_a_missing_id_or_a_non_json_body_is_invalid_input(sbx: Running) -> None:
    assert (await sbx.cap("POST", RESEND, json={})).json() == INVALID
    answer = await sbx.cap("POST", RESEND, content=b"messageId=1")
    assert (answer.status_code, answer.json()) == (400, INVALID)


async def test_one_seeded_message_answers_with_warnings(sbx: Running) -> None:
    status, body = await resend(sbx, SEED.warning_message_id)
    assert status == 200
    assert body["warnings"] and body["warnings"][0]["code"] == 8069  # type: ignore[index]


async def test_every_seeded_undelivered_message_resends(sbx: Running) -> None:
    for message_id in SEED.undelivered_message_ids:
        status, body = await resend(sbx, message_id)
        assert status == 200 and body["undeliveredMessageId"] == message_id  # type: ignore[index]


async def test_added_and_synthetic_messages_resend(sbx: Running) -> None:
    added = sbx.state.add_interaction("mobile", "919845000001", status="FAILED")
    assert (await resend(sbx, added))[1]["undeliveredMessageId"] == added  # type: ignore[index]
    lookup = await sbx.cap("GET", "/v2/customers/interaction",
                           params={"identifierName": "mobile", "identifierValue": "919900000010"})
    synthetic = lookup.json()["interaction"][0]["messageList"][0]
    assert synthetic["status"] == "NOT-DELIVERED"
    assert (await resend(sbx, synthetic["id"]))[0] == 200
