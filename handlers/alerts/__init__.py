"""alerts: the listeners, routes and Block Kit of one command family."""

from handlers.alerts.listeners import ROUTES, register

__all__ = ["ROUTES", "register"]
