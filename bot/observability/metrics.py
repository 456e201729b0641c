"""The bot's Prometheus metrics, in one registry that ``/metrics`` serves.

Every label takes a bounded set of values: request names are the routes the handlers declare (anything else is
``other``), vendor operations are fixed names per endpoint (never a path with ids in it), statuses are HTTP codes or
a transport failure's kind.
"""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)

REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)

KINDS = ("command", "action", "view", "event")
OUTCOMES = ("ok", "denied", "invalid", "error")
OTHER = "other"  # a request name no route declares

REQUESTS = Counter(
    "commops_requests", "Slack requests served, by kind (command, action, view, event), route and outcome "
    "(ok, denied, invalid, error)", ["kind", "name", "outcome"], registry=REGISTRY)
ACK_SECONDS = Histogram(
    "commops_ack_seconds", "Time from a Slack request's arrival in the app to its ack (Slack allows 3 s)", ["kind"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 2.5, 3.0, 5.0), registry=REGISTRY)
VENDOR_CALLS = Counter(
    "commops_vendor_calls", "HTTP calls to Capillary and Comm, by operation and HTTP status (or the transport "
    "failure: connection_failed, timeout, broken, cancelled)", ["vendor", "operation", "status"], registry=REGISTRY)
VENDOR_CALL_SECONDS = Histogram(
    "commops_vendor_call_seconds", "Duration of one HTTP call to a vendor (each retry is a call)",
    ["vendor", "operation"], buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
    registry=REGISTRY)
ALERT_CYCLE_SECONDS = Histogram(
    "commops_alert_cycle_seconds", "Duration of one alert run (poll the watch-list, post the digest)",
    buckets=(0.1, 0.5, 1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0), registry=REGISTRY)
ALERTS_PENDING = Gauge(
    "commops_alerts_pending", "Undelivered-message alerts still waiting to be posted after the last alert run",
    registry=REGISTRY)


def count_request(kind: str, name: str, outcome: str) -> None:
    REQUESTS.labels(kind=kind, name=name, outcome=outcome).inc()


def observe_ack(kind: str, seconds: float) -> None:
    ACK_SECONDS.labels(kind=kind).observe(seconds)


def observe_vendor_call(vendor: str, operation: str, status: str, seconds: float) -> None:
    VENDOR_CALLS.labels(vendor=vendor, operation=operation, status=status).inc()
    VENDOR_CALL_SECONDS.labels(vendor=vendor, operation=operation).observe(seconds)


def observe_alert_cycle(seconds: float, pending: int | None) -> None:
    """One alert run's duration, and the alerts it left pending (None: unknown, the gauge keeps its value)."""
    ALERT_CYCLE_SECONDS.observe(seconds)
    if pending is not None:
        ALERTS_PENDING.set(pending)


def exposition() -> tuple[bytes, str]:
    """The registry in Prometheus text format, and its content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
