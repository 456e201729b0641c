"""resend: the listeners, routes and Block Kit of one command family."""

from handlers.resend.listeners import ROUTES, register

__all__ = ["ROUTES", "register"]
