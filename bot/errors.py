"""The one error for input a person gave that the bot cannot act on (a command's text, a button's value)."""

from __future__ import annotations


class UsageError(ValueError):
    """What a person typed or clicked is not a valid request; ``str(error)`` says what is wrong, in words for them."""
