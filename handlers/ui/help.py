"""Help that knows who asks: a command's usage cut down to what the person may use here, then what else exists,
why it is not open to them, and how to get access (bot/access/explain.py says why)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from bot.access.explain import Standing, how_to_get, why
from handlers.ui.formatting import channel_link, escape

_GROUP_ID = re.compile(r"S[A-Z0-9]{2,}")


def group_link(group_id: str) -> str:
    """A live user group mention for a well-formed id; anything else as escaped text."""
    return f"<!subteam^{group_id}>" if _GROUP_ID.fullmatch(group_id) else escape(group_id)


def reason(standing: Standing) -> str:
    """:func:`bot.access.explain.why` in Slack's words (channels and user groups as links)."""
    return why(standing, channel=channel_link, group=group_link)


@dataclass(frozen=True)
class HelpLine:
    """One line of a usage (raw text, escaped when shown), and the actions it needs: shown when any of them is
    allowed; a line needing none (an introduction, a note) is always shown."""

    text: str
    actions: tuple[str, ...] = ()
    usable: bool = False  # it offers something to do (a sub-command), not only words about the others


def lines_of(usage: str, actions_of: Mapping[str, str], command: str) -> list[HelpLine]:
    """A usage text cut into lines, each needing the actions of the sub-commands it names (``/campaign pause``)."""
    pattern = re.compile(re.escape(command) + r" (\w+)")
    lines: list[HelpLine] = []
    for text in usage.splitlines():
        # Only the bullets name sub-commands; an introduction or a note (with an example) is for everyone.
        words = [word.lower() for word in pattern.findall(text)] if text.lstrip().startswith("•") else []
        needs = tuple(dict.fromkeys(actions_of[word] for word in words if word in actions_of))
        lines.append(HelpLine(text, needs, usable=bool(words)))
    return lines


def personal_help(command: str, lines: Sequence[HelpLine], standings: Iterable[Standing], *,
                  escaped: bool = False) -> str:
    """The usage lines the person may use here; then the rest of ``command``: each action not open to them, why,
    and how to get it. ``escaped``: the lines are mrkdwn already."""
    by_action = {standing.action: standing for standing in standings}

    def allowed(line: HelpLine) -> bool:
        return not line.actions or any(by_action[a].allowed for a in line.actions if a in by_action)

    shown = [line.text if escaped else escape(line.text) for line in lines if allowed(line)]
    hidden = [line for line in lines if not allowed(line)]
    if not hidden:
        return "\n".join(shown)
    denied = list(dict.fromkeys(action for line in hidden for action in line.actions))
    if not any(line.usable for line in lines if allowed(line)):
        head = [f":lock: Nothing in `{command}` is open to you here."]
    else:
        head = shown
    more = [f"*Also in `{command}`, not open to you here:*"]
    for action in denied:
        standing = by_action.get(action)
        if standing is None:
            continue
        more.append(f"• `{action}`: {standing.purpose}. Not for you because {reason(standing)}.")
    more.append("To get access, " + " ".join(how_to_get(action) for action in denied[:1])
                + (f" (and likewise for {', '.join(f'`{a}`' for a in denied[1:])})" if len(denied) > 1 else "")
                + ".")
    return "\n".join([*head, "", *more])
