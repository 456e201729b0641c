"""Reading /campaign text, and finding a campaign by id or name without guessing."""

from __future__ import annotations

import pytest

from bot.campaigns.args import AmbiguousCampaign, CampaignCommand, NoSuchCampaign, matches_filter, parse, pick
from bot.vendors.comm.models import Campaign

CID = "927c616b-5620-50ac-a84c-148951fad37b"
SID = "0b6f0d1e-5b5a-5c1e-9d59-3a3b8e0f6a11"


@pytest.mark.parametrize(("text", "expected"), [
    ("status Weekly Digest", CampaignCommand("status", campaign="Weekly Digest")),
    ('status "Weekly  Digest"', CampaignCommand("status", campaign="Weekly  Digest")),
    ("pause “Weekly Digest”", CampaignCommand("pause", campaign="Weekly Digest")),
    ("pause Mum's Day", CampaignCommand("pause", campaign="Mum's Day")),
    (f"PAUSE {CID}", CampaignCommand("pause", campaign=CID)),
    (f"pause \"Black Friday Teaser\" {SID}", CampaignCommand("pause", campaign="Black Friday Teaser", send_id=SID)),
    (f"stop {CID} {SID}", CampaignCommand("stop", campaign=CID, send_id=SID)),
    (f"status {CID} {SID}", CampaignCommand("status", campaign=f"{CID} {SID}")),
    ("unpause winback", CampaignCommand("resume", campaign="winback")),
    ("list", CampaignCommand("list")),
    ("ls  in progress ", CampaignCommand("list", filter="in progress")),
    ("help", CampaignCommand("help")),
])
def test_parse(text: str, expected: CampaignCommand) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(("text", "problem"), [
    ("", "Say what to do"),
    ("frobnicate x", "“frobnicate” is not a /campaign sub-command"),
    ('"pause" x', "is not a /campaign sub-command"),  # the access check reads the same first word
    ("pause", "Say which campaign to pause"),
    ('pause ""', "Say which campaign to pause"),
    ('pause "Weekly', "A quote is not closed"),
    ("stop Weekly Digest", "Say which send to stop"),
])
def test_bad_input_becomes_usage_with_the_problem_named(text: str, problem: str) -> None:
    parsed = parse(text)
    assert parsed.verb == "help"
    assert parsed.problem is not None and problem in parsed.problem


def named(*names: str) -> list[Campaign]:
    return [Campaign.from_raw({"id": f"00000000-0000-4000-8000-{n:012d}", "name": name,
                               "meta": {"send_type": "manual"}, "status": "draft"})
            for n, name in enumerate(names)]


CAMPAIGNS = named("Winback March", "Winback March VIP", "Weekly Digest", "Spring Sale", "spring sale")


@pytest.mark.parametrize(("ref", "expected"), [
    ("Winback March", "Winback March"),  # exact beats the longer name it is a prefix of
    ("winback march", "Winback March"),
    ("WINBACK MARCH vip", "Winback March VIP"),
    ("week", "Weekly Digest"),
    ("  weekly   digest ", "Weekly Digest"),
    ("Spring Sale", "Spring Sale"),  # exact case wins over the case-insensitive twin
])
def test_pick_resolves(ref: str, expected: str) -> None:
    assert pick(ref, CAMPAIGNS).name == expected


def test_an_ambiguous_prefix_lists_every_candidate() -> None:
    with pytest.raises(AmbiguousCampaign) as caught:
        pick("winback", CAMPAIGNS)
    assert [c.name for c in caught.value.candidates] == ["Winback March", "Winback March VIP"]


def test_the_same_name_twice_is_ambiguous() -> None:
    with pytest.raises(AmbiguousCampaign):
        pick("SPRING SALE", CAMPAIGNS)
    with pytest.raises(AmbiguousCampaign):
        pick("Twin", named("Twin", "Twin"))


def test_no_match_suggests_names_that_contain_it() -> None:
    with pytest.raises(NoSuchCampaign) as caught:
        pick("March", CAMPAIGNS)
    assert [c.name for c in caught.value.similar] == ["Winback March", "Winback March VIP"]
    with pytest.raises(NoSuchCampaign) as nothing:
        pick("Nope", CAMPAIGNS)
    assert nothing.value.similar == []


@pytest.mark.parametrize(("wanted", "activity", "hit"), [
    (None, "active", True), ("paused", "partly paused", True), ("active", "paused", False),
    ("draft", "not pausable", True), ("manual", "not pausable", True), ("multistep", "active", False),
    ("spring", "not pausable", False), ("winback", "active", True), ("00000000-0000", "active", True),
])
def test_list_filters(wanted: str | None, activity: str, hit: bool) -> None:
    assert matches_filter(CAMPAIGNS[0], wanted, activity) is hit
