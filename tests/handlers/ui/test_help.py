"""Help cut down to what the person may use: lines by the sub-commands they name, and the rest explained."""

from __future__ import annotations

from bot.access.explain import Standing
from handlers.ui.help import group_link, lines_of, personal_help

USAGE = ("*Usage:* `/thing <sub>`\n"
         "• `/thing look <x>`: look\n"
         "• `/thing change <x>` / `/thing undo <x>`: change or undo\n"
         "<x> is a name, e.g. `/thing change \"a b\"`.")
ACTIONS = {"look": "thing.look", "change": "thing.change", "undo": "thing.undo"}


def test_lines_need_the_actions_of_the_sub_commands_they_name_and_notes_need_none() -> None:
    lines = lines_of(USAGE, ACTIONS, "/thing")
    assert [line.actions for line in lines] == [(), ("thing.look",), ("thing.change", "thing.undo"), ()]
    assert [line.usable for line in lines] == [False, True, True, False]


def test_what_is_not_open_is_named_with_why_and_how_to_get_it() -> None:
    lines = lines_of(USAGE, ACTIONS, "/thing")
    standings = [Standing("thing.look", True, "open"), Standing("thing.change", False, "not_granted"),
                 Standing("thing.undo", False, "wrong_channel", (2,), ("S0OPS0001",), frozenset({"C0OPS0001"}))]
    text = personal_help("/thing", lines, standings)
    assert "`/thing look &lt;x&gt;`" in text and "• `/thing change" not in text
    assert "&lt;x&gt; is a name" in text  # notes stay, escaped
    assert "`thing.change`" in text and "no grant of the access policy covers you" in text
    assert "includes your user group <!subteam^S0OPS0001>, but only in <#C0OPS0001>, not here" in text
    assert "to a grant for `thing.change`" in text and "likewise for `thing.undo`" in text


def test_everything_open_is_the_plain_usage_and_nothing_open_says_so() -> None:
    lines = lines_of(USAGE, ACTIONS, "/thing")
    everything = [Standing(action, True, "granted", (1,), ("user",)) for action in ACTIONS.values()]
    assert personal_help("/thing", lines, everything) == USAGE.replace("<", "&lt;").replace(">", "&gt;")
    nothing = [Standing(action, False, "not_granted") for action in ACTIONS.values()]
    assert personal_help("/thing", lines, nothing).startswith(":lock: Nothing in `/thing` is open to you here.")
    assert group_link("<!everyone>") == "&lt;!everyone&gt;"
