"""``/campaign`` text with a time in it: ``pause <campaign> for 2h``, ``pause <campaign> until 09:00``,
``pause|resume <campaign> at <time>``.

The time follows the campaign, after a ``for``, ``until`` or ``at`` that is not inside quotes. A name that holds such
a word ("Offer for VIPs") still works when what follows does not look like a time at all; a name whose tail does
("Deals for 2024") is put in quotes. Everything else is bot.campaigns.args.parse's, unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.campaigns.args import ALIASES, CampaignCommand, parse, tokens
from bot.errors import UsageError
from bot.schedule.when import When, WhenError, WhenKind, looks_like_time, parse_spec

KEYWORDS = {kind.value: kind for kind in WhenKind}


@dataclass(frozen=True)
class CampaignRequest:
    """A parsed ``/campaign`` command, with the time it names when it names one."""

    command: CampaignCommand
    when: When | None = None


def _usage(problem: str) -> CampaignRequest:
    return CampaignRequest(CampaignCommand("help", problem=problem))


def parse_request(text: str) -> CampaignRequest:
    words = text.split(maxsplit=1)
    if len(words) < 2:
        return CampaignRequest(parse(text))
    first, remainder = words[0], text[text.index(words[0]) + len(words[0]):]
    verb = ALIASES.get(first.lower(), first.lower())
    if verb not in ("pause", "resume"):
        return CampaignRequest(parse(text))
    try:
        found = tokens(remainder)
    except UsageError:
        return CampaignRequest(parse(text))  # parse names the unclosed quote
    for index, token in enumerate(found):
        kind = KEYWORDS.get(token.text.lower()) if not token.quoted and index > 0 else None
        tail = [later.text for later in found[index + 1:]]
        if kind is None or not looks_like_time(tail):
            continue
        if verb == "resume" and kind is not WhenKind.AT:
            return _usage(f"A resume can be scheduled with `at <time>` only (e.g. `/campaign resume <campaign> at "
                          f"09:00`); to pause now and resume later, use `/campaign pause <campaign> {kind.value} …`.")
        try:
            spec = parse_spec(tail, kind)
        except WhenError as error:
            return _usage(str(error))
        command = parse(f"{first} {remainder[:token.start]}")
        if command.verb == "help":
            return CampaignRequest(command)
        if command.send_id is not None:
            return _usage("Stopping a send cannot be scheduled: `/campaign stop <campaign> <sendId>` stops it now.")
        return CampaignRequest(command, When(kind, spec))
    return CampaignRequest(parse(text))
