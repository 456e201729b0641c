"""The one list of command families. A family is a package of handlers/ with ``register(app, services)`` and
``ROUTES``; adding one here (and its commands to manifest.yml) is all the wiring it needs."""

from __future__ import annotations

from handlers import alerts, approvals, campaign, comm, home, resend

FAMILIES = (resend, campaign, comm, alerts, approvals, home)
