"""Vendor work behind the ack: a bound on what a process accepts (budget.py) and fair turns for what runs
(turns.py)."""

from bot.work.budget import Budget, Busy, Ticket
from bot.work.fair import Claimant, FairQueue, Lane, claimant
from bot.work.turns import Turns

__all__ = ["Budget", "Busy", "Claimant", "FairQueue", "Lane", "Ticket", "Turns", "claimant"]
