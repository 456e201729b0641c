"""The bound on pending vendor work: over it a request is refused whole (nothing held), and says why and when."""

from __future__ import annotations

from bot.work import Budget, Busy, Ticket


def test_a_user_over_their_bound_is_told_how_many_of_theirs_are_running() -> None:
    budget = Budget(limit=1000, per_user=100, rate=lambda one_user: 2.0)
    first = budget.admit("U0ALICE01", 50)
    second = budget.admit("U0ALICE01", 50)
    assert isinstance(first, Ticket) and isinstance(second, Ticket)
    refused = budget.admit("U0ALICE01", 1)
    assert isinstance(refused, Busy) and refused.per_user and refused.mine == 100
    assert refused.text().startswith(":hourglass: Busy: 100 of yours are still running")
    assert "try again in a few seconds" in refused.text() and "Nothing was sent." in refused.text()
    assert budget.total == 100  # the refused request holds nothing
    assert isinstance(budget.admit("U0BOB0001", 50), Ticket)  # others are not held back by her bound


def test_the_process_bound_holds_for_everyone_and_calls_come_back_as_they_finish() -> None:
    budget = Budget(limit=60, per_user=50, rate=lambda one_user: 0.5)
    alice = budget.admit("U0ALICE01", 50)
    assert isinstance(alice, Ticket)
    refused = budget.admit("U0BOB0001", 20)
    assert isinstance(refused, Busy) and not refused.per_user and (refused.mine, refused.total) == (0, 50)
    assert "0 of yours are still running (the bot has 50 calls pending and takes on at most 60)" in refused.text()
    assert "try again in about 20 s" in refused.text()
    alice.done(10)
    assert isinstance(budget.admit("U0BOB0001", 20), Ticket)
    alice.close()
    assert budget.pending("U0ALICE01") == 0 and budget.total == 20


def test_a_request_larger_than_the_bound_runs_when_nothing_else_of_the_users_is_pending() -> None:
    budget = Budget(limit=1000, per_user=10)
    with budget.admit("U0ALICE01", 50) as ticket:  # type: ignore[union-attr]
        assert isinstance(ticket, Ticket) and budget.pending("U0ALICE01") == 50
        assert isinstance(budget.admit("U0ALICE01", 1), Busy)
    assert budget.pending("U0ALICE01") == 0
