"""home: the App Home tab (what you may do, what waits, what you did) and its Refresh button."""

from handlers.home.listeners import ROUTES, register

__all__ = ["ROUTES", "register"]
