"""The seen-requests writer splits a batch into pieces whose sizes are powers of two (few distinct statements)."""

from __future__ import annotations

from bot.access.replays import _chunks


def test_a_batch_is_split_into_powers_of_two_in_order() -> None:
    items = list(range(300))
    pieces = _chunks(items)  # type: ignore[arg-type]  # any items will do
    assert [len(piece) for piece in pieces] == [256, 32, 8, 4]
    assert [item for piece in pieces for item in piece] == items
    assert _chunks([]) == []  # type: ignore[arg-type]
