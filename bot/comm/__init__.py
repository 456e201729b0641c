"""Comm API client (SMS campaigns) and its models."""

from bot.comm.client import CommClient
from bot.comm.models import Campaign

__all__ = ["Campaign", "CommClient"]
