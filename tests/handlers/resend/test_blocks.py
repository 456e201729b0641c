from __future__ import annotations

from datetime import UTC, datetime

from bot.resend.service import PriorResend, ResendOutcome, ResendStatus
from bot.vendors.capillary import ResendResult
from bot.vendors.errors import NotFound, Timeout
from handlers.resend.blocks import MAX_BLOCKS, RESEND_ANYWAY, after_anyway, result_blocks, summary_text

AT = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def resent(message_id: int, warnings: tuple[str, ...] = ()) -> ResendOutcome:
    result = ResendResult(orgId=100737, undeliveredMessageId=message_id, resentMessageId=message_id + 1,
                          warnings=warnings)
    return ResendOutcome(message_id, ResendStatus.RESENT, AT, result=result)


def duplicate(message_id: int) -> ResendOutcome:
    prior = PriorResend("U0ALICE01", "alice", AT, "resent", message_id + 1)
    return ResendOutcome(message_id, ResendStatus.DUPLICATE, AT, prior=prior)  # claim version 1


def buttons(blocks: list[dict[str, object]]) -> list[dict[str, object]]:
    found = []
    for block in blocks:
        accessory = block.get("accessory")
        if isinstance(accessory, dict):
            found.append(accessory)
        for element in block.get("elements", []) if block.get("type") == "actions" else []:  # type: ignore[union-attr]
            found.append(element)
    return found


def test_fifty_results_fit_in_one_message_with_every_id() -> None:
    outcomes = [resent(n) for n in range(1, 51)]
    blocks = result_blocks(outcomes, "U0ALICE01", AT)
    assert len(blocks) < 5
    text = str(blocks)
    assert all(f"`{n}` resent as `{n + 1}`" in text for n in range(1, 51))
    assert summary_text(outcomes) == "Resend: 50 resent"


def test_fifty_recent_duplicates_stay_within_fifty_blocks_and_every_id_can_be_resent() -> None:
    outcomes = [duplicate(n) for n in range(1, 51)]
    blocks = result_blocks(outcomes, "U0ALICE01", AT)
    assert len(blocks) <= MAX_BLOCKS
    values = [str(button["value"]) for button in buttons(blocks)]
    covered = {int(part.split("@")[0]) for value in values for part in value.split(",")}
    assert covered == set(range(1, 51))
    assert all(button["action_id"] == RESEND_ANYWAY and "confirm" in button for button in buttons(blocks))


def test_failures_read_as_sentences_and_warnings_are_kept() -> None:
    outcomes = [
        resent(7, warnings=("Message resent on fallback gateway",)),
        ResendOutcome(8, ResendStatus.FAILED, AT, error=NotFound("Message 8 was not found in org 100737.",
                                                             vendor="Capillary", code=4223)),
        ResendOutcome(9, ResendStatus.UNCERTAIN, AT, error=Timeout("Capillary did not answer within 10 s.",
                                                              vendor="Capillary", maybe_applied=True), version=3),
    ]
    text = str(result_blocks(outcomes, "U0ALICE01", AT))
    assert "Capillary warns: Message resent on fallback gateway" in text
    assert ":x: `8`: Message 8 was not found in org 100737." in text
    assert ":grey_question: `9`" in text
    assert [b["value"] for b in buttons(result_blocks(outcomes, "U0ALICE01", AT))] == ["9@3"]


def test_resend_anyway_replaces_only_the_clicked_row() -> None:
    blocks = result_blocks([resent(1), duplicate(2)], "U0ALICE01", AT)
    updated = after_anyway(blocks, "resend:2", [resent(2)], "U0BOB0001", AT)
    assert updated[:2] == blocks[:2]
    assert "`2` resent as `3`" in str(updated[-1]) and "resend anyway by <@U0BOB0001>" in str(updated[-1])
    assert buttons(updated) == []


def test_vendor_texts_and_forged_user_ids_are_shown_as_written() -> None:
    from tests.handlers.hostile import ESCAPED, HOSTILE, assert_inert

    forged = ResendOutcome(5, ResendStatus.DUPLICATE, AT,
                           prior=PriorResend("<!channel>", "mallory", AT, "resent", 6))
    outcomes = [
        resent(7, warnings=(HOSTILE,)),
        ResendOutcome(8, ResendStatus.FAILED, AT, error=NotFound(HOSTILE, vendor="Capillary")),
        ResendOutcome(9, ResendStatus.UNCERTAIN, AT, error=Timeout(HOSTILE, vendor="Capillary", maybe_applied=True)),
        duplicate(10), forged,
    ]
    blocks = result_blocks(outcomes, "U0BOB0001", AT)
    shown = assert_inert(blocks, live={"<@U0ALICE01>", "<@U0BOB0001>"})
    assert shown.count(ESCAPED) == 3
    assert "was resent by &lt;!channel&gt;" in shown
    assert "requested by <@U0BOB0001>" in shown  # the bot's own mention of a verified id stays live
    assert_inert(after_anyway(blocks, "resend:10", [outcomes[1]], "U0BOB0001", AT), live={"<@U0BOB0001>",
                                                                                          "<@U0ALICE01>"})
