"""What a pause or resume changes, for each kind of campaign, and how the result is checked."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from bot.campaigns.plan import (
    MULTISTEP_FLAG,
    NESTED_FLAG,
    PLANNER_FLAG,
    Activity,
    Op,
    activity,
    applied,
    differences,
    not_pausable_reason,
    plan,
)
from bot.vendors.comm.models import Campaign, SendKind

ID = "b12d04e8-7e6f-5b9d-b8de-3cf6dd0d3a16"


def steps(active: bool | None) -> dict[str, Any]:
    data: dict[str, Any] = {"step_size": 200, "step_delay": 5, "min_ctr": 1.5, "send_datetime": "x"}
    if active is not None:
        data["is_active"] = active
    return data


def campaign(send_type: str, *, multistep: Any = None, planner: Any = None, **extra: Any) -> Campaign:
    meta = {"send_type": send_type, "segment_ids": ["s1"], "manual_data": None, "multistep_data": multistep,
            "planner_data": planner, "multistep_status": {"current_step": 3, "total_sent": 600},
            "vendor_field_we_do_not_know": {"nested": [1, 2, {"deep": True}]}}
    return Campaign.from_raw({"id": ID, "name": "Winback March", "meta": meta, "status": "in_progress", **extra})


def planner(active: bool, nested: bool | None) -> dict[str, Any]:
    return {"days_of_week": ["Mon"], "weekly_schedule": {"default": {"start": "09:00", "end": "18:00"}},
            "multistep_data": steps(nested) if nested is not None else None, "weekly_sms_contact_limit": 5,
            "daily_sms_contact_limit": 1, "is_active": active}


def changes_of(item: Campaign, op: Op) -> list[tuple[tuple[str, ...], bool | None, bool]]:
    return [(change.path, change.before, change.after) for change in plan(item, op).changes]


def test_multistep_pause_flips_its_one_flag_and_resume_has_nothing_to_do() -> None:
    item = campaign("multistep", multistep=steps(True))
    assert activity(item) is Activity.ACTIVE
    assert changes_of(item, Op.PAUSE) == [(MULTISTEP_FLAG, True, False)]
    assert plan(item, Op.RESUME).nothing_to_do


def test_planned_pause_flips_the_planner_and_its_nested_multistep() -> None:
    item = campaign("planned", planner=planner(True, True))
    assert changes_of(item, Op.PAUSE) == [(PLANNER_FLAG, True, False), (NESTED_FLAG, True, False)]


def test_planned_without_nested_multistep_flips_only_the_planner() -> None:
    item = campaign("planned", planner=planner(False, None))
    assert activity(item) is Activity.PAUSED
    assert changes_of(item, Op.RESUME) == [(PLANNER_FLAG, False, True)]
    assert plan(item, Op.PAUSE).nothing_to_do


def test_partly_paused_changes_only_the_flag_that_differs() -> None:
    item = campaign("planned", planner=planner(False, True))
    assert activity(item) is Activity.PARTLY_PAUSED
    assert changes_of(item, Op.PAUSE) == [(NESTED_FLAG, True, False)]
    assert changes_of(item, Op.RESUME) == [(PLANNER_FLAG, False, True)]


def test_the_send_type_decides_which_flags_apply() -> None:
    # A multistep campaign that also carries planner data: only the multistep flag governs it.
    item = campaign("multistep", multistep=steps(True), planner=planner(True, True))
    assert changes_of(item, Op.PAUSE) == [(MULTISTEP_FLAG, True, False)]


def test_a_missing_flag_counts_as_active() -> None:
    item = campaign("multistep", multistep=steps(None))
    assert activity(item) is Activity.ACTIVE
    assert changes_of(item, Op.PAUSE) == [(MULTISTEP_FLAG, None, False)]
    assert plan(item, Op.RESUME).nothing_to_do


@pytest.mark.parametrize("send_type", ["manual", "multistep", "something-new"])
def test_nothing_to_flip_is_not_pausable(send_type: str) -> None:
    item = campaign(send_type)
    planned = plan(item, Op.PAUSE)
    assert not planned.pausable and not planned.changes and not planned.nothing_to_do
    assert activity(item) is Activity.NOT_PAUSABLE
    reason = not_pausable_reason(item)
    assert ("/campaign stop" in reason) == (send_type == "manual")


def test_the_body_to_put_is_the_whole_object_with_only_the_flags_changed() -> None:
    item = campaign("planned", planner=planner(True, True), created_at="2025-01-01", team={"id": 7})
    body = applied(item, plan(item, Op.PAUSE).changes)
    expected = copy.deepcopy(item.raw)
    expected["meta"]["planner_data"]["is_active"] = False
    expected["meta"]["planner_data"]["multistep_data"]["is_active"] = False
    assert body == expected
    assert item.raw["meta"]["planner_data"]["is_active"] is True  # the fetched object is left alone


def test_differences_ignore_live_progress_and_name_what_else_moved() -> None:
    item = campaign("planned", planner=planner(True, True))
    sent = applied(item, plan(item, Op.PAUSE).changes)
    found = copy.deepcopy(sent)
    found["meta"]["multistep_status"]["total_sent"] = 800
    found["updated_at"] = "now"
    assert differences(sent, found) == []
    found["meta"]["planner_data"]["daily_sms_contact_limit"] = 3
    found["meta"]["planner_data"]["is_active"] = True
    found["meta"]["extra"] = 1
    assert [(d.name, d.sent, d.found) for d in differences(sent, found)] == [
        ("meta.planner_data.daily_sms_contact_limit", 1, 3),
        ("meta.planner_data.is_active", False, True),
        ("meta.extra", None, 1),
    ]


def test_a_flag_of_the_wrong_type_is_refused_not_guessed() -> None:
    item = campaign("multistep", multistep={**steps(True), "is_active": "sometimes"})
    assert item.problems == ('`meta.multistep_data.is_active` is a text ("sometimes"), not true or false',)
    assert activity(item) is Activity.NOT_PAUSABLE
    assert not plan(item, Op.PAUSE).pausable and not plan(item, Op.RESUME).pausable
    assert "will not guess" in not_pausable_reason(item)
    nameless = Campaign.from_raw({"name": "no id"})
    assert not nameless.fully_read and "no `id`" in nameless.problems[0]
    assert "has no id" in not_pausable_reason(nameless)


@pytest.mark.parametrize("send_type", ["planner", "planned", "plan", "Planner", "PLANNED", "campaign_planner"])
def test_every_spelling_of_the_planner_kind_flips_the_planner_flags(send_type: str) -> None:
    item = campaign(send_type, multistep=steps(True), planner=planner(True, True))
    assert item.kind is SendKind.PLANNER and item.send_type == send_type
    assert changes_of(item, Op.PAUSE) == [(PLANNER_FLAG, True, False), (NESTED_FLAG, True, False)]
    assert not plan(item, Op.PAUSE).unknown_type


def test_an_unknown_send_type_offers_exactly_the_flags_it_has() -> None:
    item = campaign("drip", multistep=steps(True), planner=planner(False, True))
    assert item.kind is SendKind.UNKNOWN and item.send_type == "drip"
    planned = plan(item, Op.PAUSE)
    assert planned.pausable and planned.unknown_type
    assert changes_of(item, Op.PAUSE) == [(MULTISTEP_FLAG, True, False), (NESTED_FLAG, True, False)]
    assert changes_of(item, Op.RESUME) == [(PLANNER_FLAG, False, True)]
    only_steps = campaign("Drip", multistep=steps(False))
    assert changes_of(only_steps, Op.RESUME) == [(MULTISTEP_FLAG, False, True)]


@pytest.mark.parametrize("days", ["Mon", ["Mon"], "Mon, Wed", ["Mon", "Wed"]])
def test_days_of_week_as_a_string_or_a_list(days: Any) -> None:
    raw_planner = {**planner(True, True), "days_of_week": days}
    item = campaign("planner", planner=raw_planner)
    assert item.fully_read
    assert item.view.meta.planner_data is not None
    assert item.view.meta.planner_data.days_of_week == (("Mon",) if days in ("Mon", ["Mon"]) else ("Mon", "Wed"))
    body = applied(item, plan(item, Op.PAUSE).changes)
    assert body["meta"]["planner_data"]["days_of_week"] == days  # sent back exactly as it came


def test_extra_fields_nulls_and_missing_fields_are_kept_and_read_around() -> None:
    item = Campaign.from_raw({"id": ID, "name": "Odd one", "team": {"id": 7}, "meta": {
        "send_type": "multistep", "multistep_data": {"is_active": None, "step_size": "200", "new_knob": [1]},
        "planner_data": None, "multistep_status": {"total_sent": "lots"}}})
    assert item.status == "unknown" and item.view.meta.multistep_data is not None
    assert item.view.meta.multistep_data.step_size == 200
    assert item.problems == ('`meta.multistep_status.total_sent` is a text ("lots"), not a whole number',)
    assert activity(item) is Activity.ACTIVE  # a null flag is Comm's default: active
    body = applied(item, plan(item, Op.PAUSE).changes)
    expected = copy.deepcopy(item.raw)
    expected["meta"]["multistep_data"]["is_active"] = False
    assert body == expected


@pytest.mark.parametrize("data", [None, "a campaign", 7, ["x"]])
def test_an_entry_that_is_not_an_object_is_kept_with_a_note(data: Any) -> None:
    item = Campaign.from_raw(data)
    assert item.id == "" and item.raw == data and not item.fully_read
    assert "not a campaign object" in item.problems[0]
    assert not plan(item, Op.PAUSE).pausable
