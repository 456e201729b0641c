"""Reading ``/campaign`` text, and finding the campaign a person meant by its id or its name."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from bot.errors import UsageError
from bot.vendors.comm.models import Campaign, SendKind, send_kind

VERBS = ("status", "list", "pause", "resume", "stop", "scheduled", "help")
ALIASES = {"ls": "list", "show": "status", "info": "status", "unpause": "resume", "?": "help",
            "-h": "help", "--help": "help"}
# Slack clients turn typed quotes into typographic ones.
_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "«": '"', "»": '"'})
MAX_FILTER = 100

USAGE = (
    "*Usage:* `/campaign <sub-command>` for Comm SMS campaigns\n"
    "• `/campaign status <campaign>`: settings, progress and whether it is sending\n"
    "• `/campaign list [filter]`: the team's campaigns; filter by `active`, `paused`, a status such as "
    "`in_progress`, a send type (`multistep`, `planner`, `manual`, `unknown`) or part of a name\n"
    "• `/campaign pause <campaign>` / `/campaign resume <campaign>`: shows what will change, then asks you "
    "to confirm; nothing else in the campaign is touched\n"
    "• `/campaign pause <campaign> for 2h` (or `30m`, `1d`, `1h30m`) / `until 09:00` / `until tomorrow 09:00` / "
    "`until 2026-12-01 09:00`: pause now, and it resumes by itself then\n"
    "• `/campaign pause <campaign> at <time>` / `/campaign resume <campaign> at <time>`: do it later (a time as "
    "above, or `in 2h`); times are read in your Slack time zone\n"
    "• `/campaign scheduled`: what is scheduled, each with a Cancel button\n"

    "• `/campaign stop <campaign> <sendId>`: stops one send for good (it cannot be resumed)\n"
    "<campaign> is the campaign's id or its name: exact, any case, or the start of it; put a name with "
    "spaces in quotes, e.g. `/campaign pause \"Weekly Digest\"`."
)


def is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return len(text) == 36


@dataclass(frozen=True)
class CampaignCommand:
    verb: str
    campaign: str | None = None  # an id or a name, as typed
    send_id: str | None = None
    filter: str | None = None
    problem: str | None = None  # for verb "help": why the usage is shown (None when asked for)


@dataclass(frozen=True)
class Token:
    """One word of a command: its text (quotes removed), whether any of it was in double quotes, and where it
    starts in the text it was read from."""

    text: str
    quoted: bool
    start: int


def tokens(text: str) -> list[Token]:
    """Words separated by white space; double quotes (typed or typographic) group words and are removed, so
    ``"Weekly  Digest"`` is one word. Apostrophes stay literal: "Mum's Day" needs no quoting."""
    found: list[Token] = []
    current: list[str] = []
    quoted = in_quotes = False
    start: int | None = None
    for index, char in enumerate(text.translate(_QUOTES)):
        if char == '"':
            in_quotes, quoted = not in_quotes, True
            start = index if start is None else start
        elif char.isspace() and not in_quotes:
            if start is not None:
                found.append(Token("".join(current), quoted, start))
            current, quoted, start = [], False, None
        else:
            current.append(char)
            start = index if start is None else start
    if in_quotes:
        raise UsageError("A quote is not closed: put the whole name in double quotes.")
    if start is not None:
        found.append(Token("".join(current), quoted, start))
    return found


def _tokens(text: str) -> list[str]:
    return [token.text for token in tokens(text)]


def parse(text: str) -> CampaignCommand:
    """The sub-command and its arguments. Bad input becomes ``verb="help"`` with the problem named.

    The sub-command is the first whitespace-separated word, exactly as the access check reads it, so the two
    can never disagree about which action a request performs; only the arguments may be quoted."""
    words = text.split(maxsplit=1)
    first, remainder = (words[0], words[1] if len(words) > 1 else "") if words else ("", "")
    if not first:
        return CampaignCommand("help", problem="Say what to do: status, list, pause, resume, stop or scheduled.")
    verb = ALIASES.get(first.lower(), first.lower())
    if verb not in VERBS:
        return CampaignCommand("help", problem=f"“{_clip(first)}” is not a /campaign sub-command.")
    if verb == "help":
        return CampaignCommand("help")
    try:
        rest = _tokens(remainder.strip())
    except UsageError as error:
        return CampaignCommand("help", problem=str(error))
    if verb == "list":
        wanted = " ".join(rest).strip()
        return CampaignCommand("list", filter=wanted[:MAX_FILTER] or None)
    if verb == "scheduled":
        return CampaignCommand("scheduled")
    send_id = rest[-1] if len(rest) >= 2 and is_uuid(rest[-1]) and verb != "status" else None
    name = " ".join(rest[:-1] if send_id else rest).strip()
    if not name:
        return CampaignCommand("help", problem=f"Say which campaign to {verb}: its id or its name.")
    if verb == "stop" and send_id is None:
        return CampaignCommand("help", problem="Say which send to stop: `/campaign stop <campaign> <sendId>` "
                                               "(the send id is a UUID).")
    return CampaignCommand(verb, campaign=name, send_id=send_id)


def _clip(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _key(name: str) -> str:
    return " ".join(name.split()).casefold()


class NoSuchCampaign(LookupError):
    def __init__(self, ref: str, similar: Sequence[Campaign] = ()) -> None:
        super().__init__(ref)
        self.ref = ref
        self.similar = list(similar)


class AmbiguousCampaign(LookupError):
    def __init__(self, ref: str, candidates: Sequence[Campaign]) -> None:
        super().__init__(ref)
        self.ref = ref
        self.candidates = list(candidates)


def pick(ref: str, campaigns: Sequence[Campaign]) -> Campaign:
    """The one campaign ``ref`` names: exact name, else the same name in any case, else the one name that starts
    with it. More than one at the first level that matches: :class:`AmbiguousCampaign`, never a guess."""
    wanted = _key(ref)
    levels = (
        lambda c: c.id == ref or c.name == ref,
        lambda c: _key(c.name) == wanted,
        lambda c: _key(c.name).startswith(wanted),
    )
    for matches in levels:
        hits = [campaign for campaign in campaigns if matches(campaign)]
        if len(hits) == 1:
            return hits[0]
        if hits:
            raise AmbiguousCampaign(ref, hits)
    similar = [campaign for campaign in campaigns if wanted and wanted in _key(campaign.name)]
    raise NoSuchCampaign(ref, similar[:5])


def matches_filter(campaign: Campaign, wanted: str | None, activity: str) -> bool:
    """``list`` filters: active / paused, a status, a send type, else part of the name or id."""
    if not wanted:
        return True
    key = _key(wanted)
    if key in ("active", "paused"):
        return activity == key or (key == "paused" and activity == "partly paused")
    if key in ("draft", "pending", "in_progress", "sent", "failed", "cancelled"):
        return campaign.status == key
    kind = send_kind(key)
    if kind is not SendKind.UNKNOWN or key == "unknown":  # planner, planned, plan … all mean the planner kind
        return campaign.kind is kind
    if key == _key(campaign.send_type):  # a send type the bot does not know, as Comm writes it
        return True
    return key in _key(campaign.name) or key in campaign.id
