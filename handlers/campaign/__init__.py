"""campaign: the listeners, routes and Block Kit of one command family."""

from handlers.campaign.listeners import ROUTES, register

__all__ = ["ROUTES", "register"]
