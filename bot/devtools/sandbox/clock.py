"""Time as the vendors write it: Capillary formats in the cluster's zone, some formats carry no offset."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo


def utc_now() -> datetime:
    return datetime.now(UTC)


def as_aware(moment: datetime) -> datetime:
    """Naive datetimes are taken as UTC so a test can pass ``datetime(2025, 1, 1)`` without ceremony."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def capillary_timestamp(moment: datetime, zone: tzinfo) -> str:
    """``2025-11-11T12:50:03.444+0000``: milliseconds, and an offset without a colon (seed 002)."""
    local = as_aware(moment).astimezone(zone)
    return f"{local:%Y-%m-%dT%H:%M:%S}.{local.microsecond // 1000:03d}{local:%z}"


def capillary_sent_date(moment: datetime, zone: tzinfo) -> str:
    """``DD-MM-YYYY HH:mm:ss`` in cluster time with no offset (the interaction API's ``sentDate``)."""
    return f"{as_aware(moment).astimezone(zone):%d-%m-%Y %H:%M:%S}"


def comm_timestamp(moment: datetime) -> str:
    """Comm's datetimes (our inference: ISO 8601 in UTC, as its framework serialises them)."""
    return as_aware(moment).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000000Z")
