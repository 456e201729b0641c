"""Comm API client (SMS campaigns) and its models."""

from bot.vendors.comm.client import CommClient
from bot.vendors.comm.models import Campaign

__all__ = ["Campaign", "CommClient"]
