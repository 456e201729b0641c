"""Block Kit checks on their own: Slack's wording and JSON pointers, and the ids Slack fills in."""

from __future__ import annotations

from typing import Any

from bot.devtools.slack_emulator import BlockChecker


def check(blocks: Any, limit: int = 50) -> tuple[list[dict[str, Any]], list[str]]:
    checker = BlockChecker()
    stored = checker.blocks(blocks, "/blocks", limit)
    return stored, checker.problems


def button(action_id: str | None = None, **extra: Any) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "button", "text": {"type": "plain_text", "text": "Go"}, **extra}
    if action_id is not None:
        element["action_id"] = action_id
    return element


def test_missing_ids_are_filled_in_on_a_copy() -> None:
    sent = [{"type": "divider", "block_id": "keep"}, {"type": "actions", "elements": [button()]}]
    stored, problems = check(sent)
    assert problems == []
    assert stored[0]["block_id"] == "keep" and stored[1]["block_id"]
    assert stored[1]["elements"][0]["action_id"]
    assert "block_id" not in sent[1] and "action_id" not in sent[1]["elements"][0]


def test_problems_name_the_field_like_slack() -> None:
    _, problems = check(
        [
            {"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}},
            {"type": "header", "text": {"type": "mrkdwn", "text": "Title"}},
            {"type": "carousel"},
            {"type": "divider", "block_id": "same"},
            {"type": "divider", "block_id": "same"},
        ],
        limit=4,
    )
    assert problems == [
        "must provide no more than 4 items [json-pointer:/blocks]",
        "must be less than 3001 characters [json-pointer:/blocks/0/text/text]",
        "must be a valid enum value [json-pointer:/blocks/1/text/type]",
        "failed to match all allowed schemas [json-pointer:/blocks/2]",
        "duplicate block_id [json-pointer:/blocks/4/block_id]",
    ]


def test_elements_options_and_confirm_dialogs() -> None:
    option = {"text": {"type": "plain_text", "text": "One"}, "value": "1"}
    select = {
        "type": "static_select",
        "action_id": "pick",
        "options": [option],
        "initial_option": {**option, "value": "2"},
    }
    overflow = {"type": "overflow", "action_id": "more", "options": [option] * 6}
    actions = {"type": "actions", "elements": [select, overflow, button("go", confirm="sure?"), button("go")]}
    _, problems = check([actions])
    assert problems == [
        "must match one of the options [json-pointer:/blocks/0/elements/0/initial_option]",
        "must provide no more than 5 items [json-pointer:/blocks/0/elements/1/options]",
        "must provide an object [json-pointer:/blocks/0/elements/2/confirm]",
        "duplicate action_id [json-pointer:/blocks/0/elements/3/action_id]",
    ]
