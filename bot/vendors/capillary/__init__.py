"""Capillary API client and its models."""

from bot.vendors.capillary.client import CapillaryClient
from bot.vendors.capillary.models import ResendResult

__all__ = ["CapillaryClient", "ResendResult"]
