"""The resend guard's one statement: claim every id of a request at once (the resend_claims table).

``INSERT … VALUES (one row an id) ON CONFLICT (message_id) DO UPDATE … WHERE <the claim may be taken over>
RETURNING message_id, attempts``: an id nobody claimed is inserted; one claimed before is taken over only when the
guard allows it (resent long enough ago, failed, or the exact version a person chose to "resend anyway"), and the
rows returned are the ids this request now holds, with their claim versions. It reads the same on SQLite and
PostgreSQL.

It is written as SQL text, one statement per shape (number of ids, kind of request), made once: SQLAlchemy compiles
its own ON CONFLICT statements again on every execution for SQLite, which cost about as much as the rest of a
single-id /resend's store work.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, Integer, TextClause, bindparam, text

from bot.actor import Actor
from bot.store.base import UTCDateTime

GUARD_WINDOW = timedelta(minutes=10)
# A claim left "pending" by a crash can be overridden after this: longer than any call can be in flight
# (the longest CAPILLARY_TIMEOUT_SECONDS plus the longest rate-limit back-off).
STALE_PENDING = timedelta(minutes=10)


@functools.lru_cache(maxsize=256)
def claim_statement(count: int, *, final_once_resent: bool, overriding: int) -> TextClause:
    """The claim of ``count`` ids; ``overriding`` of them name the claim version a person chose to override.

    ``final_once_resent`` (the alert buttons): a resend (or an uncertain one) of any age blocks the claim, not only
    a recent one; a failed claim, or one left pending by a crash, may be taken over."""
    rows = ", ".join(f"(:m{index}, 'pending', :user_id, :user_name, :now, NULL, NULL, 1, NULL)"
                     for index in range(count))
    stale = "resend_claims.claimed_at < :stale"
    if final_once_resent:
        takeover = ["resend_claims.state = 'failed'", f"(resend_claims.state = 'pending' AND {stale})"]
    else:
        takeover = ["resend_claims.claimed_at < :cutoff", "resend_claims.state = 'failed'"]
    if overriding:
        # Only the version the person saw is overridden; never two resends of one id in flight, but a claim left
        # pending by a crash is fair game after a while.
        versions = " ".join(f"WHEN :o{index} THEN :v{index}" for index in range(overriding))
        takeover.append(f"(resend_claims.attempts = CASE resend_claims.message_id {versions} ELSE -1 END "
                        f"AND (resend_claims.state != 'pending' OR {stale}))")
    sql = (
        "INSERT INTO resend_claims (message_id, state, user_id, user_name, claimed_at, org_id, resent_id, attempts, "
        f"detail) VALUES {rows} "
        "ON CONFLICT (message_id) DO UPDATE SET state = 'pending', user_id = :user_id, user_name = :user_name, "
        "claimed_at = :now, org_id = NULL, resent_id = NULL, detail = NULL, attempts = resend_claims.attempts + 1 "
        f"WHERE {' OR '.join(takeover)} "
        "RETURNING message_id, attempts"
    )
    times = [bindparam(name, type_=UTCDateTime()) for name in ("now", "stale", "cutoff") if f":{name}" in sql]
    ids = [bindparam(f"m{index}", type_=BigInteger()) for index in range(count)]
    chosen = [bindparam(f"{kind}{index}", type_=BigInteger() if kind == "o" else Integer())
              for index in range(overriding) for kind in ("o", "v")]
    return text(sql).bindparams(*times, *ids, *chosen)


def claim_parameters(ids: Sequence[int], actor: Actor, now: datetime, overriding: Mapping[int, int]) -> dict[str, Any]:
    """The values for :func:`claim_statement`'s statement (it takes those it names)."""
    values: dict[str, Any] = {"user_id": actor.user_id, "user_name": actor.user_name, "now": now,
                              "stale": now - STALE_PENDING, "cutoff": now - GUARD_WINDOW}
    values.update({f"m{index}": message_id for index, message_id in enumerate(ids)})
    for index, (message_id, version) in enumerate(overriding.items()):
        values[f"o{index}"], values[f"v{index}"] = message_id, version
    return values
