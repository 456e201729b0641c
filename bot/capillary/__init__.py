"""Capillary API client and its models."""

from bot.capillary.client import CapillaryClient
from bot.capillary.models import ResendResult

__all__ = ["CapillaryClient", "ResendResult"]
