"""approvals: the Approve and Reject buttons of the two-person rule's requests (handlers/ui/approval.py posts them)."""

from handlers.approvals.listeners import ROUTES, register

__all__ = ["ROUTES", "register"]
