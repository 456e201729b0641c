"""comm: the listeners, routes and Block Kit of one command family."""

from handlers.comm.command import ROUTES, register

__all__ = ["ROUTES", "register"]
