"""A day's analytics, kept in shards: `analytics/daily/<yyyy-mm-dd>/<nn>.json`, nn = 00..15.

Each event counts in exactly one shard, chosen by a stable hash of its id, so a redelivery or a
replay meets its own shard and that shard's list of applied ids (which holds about a sixteenth
of the day's events). Concurrent aggregators mostly update different shards instead of racing
on one document. Readers sum the shards: `read_day`.
"""

from __future__ import annotations

import hashlib
from typing import Any

from socialomega.core.ports import Documents
from socialomega.core.store import daily_key

SHARDS = 16


def shard_of(event_id: str) -> int:
    """The shard of an event: the same in every process (the built-in hash() is salted per process)."""
    return hashlib.sha256(event_id.encode()).digest()[0] % SHARDS


def empty_shard(day: str, shard: int) -> dict[str, Any]:
    return {"day": day, "shard": shard, "counts": {}, "engagement": {}, "applied": []}


def read_day(store: Documents, day: str) -> dict[str, Any]:
    """The day (yyyy-mm-dd) summed over its shards: counts per target and event type, net
    engagement per target, and how many events were applied."""
    counts: dict[str, dict[str, int]] = {}
    engagement: dict[str, dict[str, int]] = {}
    events = 0
    for shard in range(SHARDS):
        doc = store.get(daily_key(day, shard))
        if doc is None:
            continue
        data = doc.data
        _add(counts, data.get("counts") or {})
        _add(engagement, data.get("engagement") or {})
        events += len(data.get("applied") or [])
    return {"day": day, "counts": counts, "engagement": engagement, "events": events}


def _add(total: dict[str, dict[str, int]], part: dict[str, Any]) -> None:
    for target, values in part.items():
        into = total.setdefault(target, {})
        for name, value in (values or {}).items():
            if isinstance(value, int) and not isinstance(value, bool):
                into[name] = into.get(name, 0) + value
