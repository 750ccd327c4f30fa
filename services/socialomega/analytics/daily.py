"""A day's analytics, kept in shards: `analytics/daily/<yyyy-mm-dd>/<nn>.json`, nn = 00..15.

Each event counts in exactly one shard, chosen by a stable hash of its id, so a redelivery or a
replay meets its own shard and that shard's list of applied ids (which holds about a sixteenth
of the day's events). Concurrent aggregators mostly update different shards instead of racing
on one document. Readers sum the shards: `read_day` (a day's totals) and `post_engagement`
(net engagement per post over a range of days).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from socialomega.core.ports import Documents
from socialomega.core.store import daily_key

SHARDS = 16


def shard_of(event_id: str) -> int:
    """The shard of an event: the same in every process (the built-in hash() is salted per process)."""
    return hashlib.sha256(event_id.encode()).digest()[0] % SHARDS


def empty_shard(day: str, shard: int) -> dict[str, Any]:
    return {"day": day, "shard": shard, "counts": {}, "engagement": {}, "posts": {}, "applied": []}


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


# Shards read at once by `post_engagement` (S3 GETs; one boto3 client is safe across threads).
READERS = 8


def post_engagement(store: Documents, days: Iterable[str]) -> dict[tuple[str, str], dict[str, int]]:
    """Net engagement per post, (target, remote_id) -> {"likes", "comments", "shares"}, summed
    over every shard of `days` (the days the engagement happened: a post's figure needs every
    day since it was published)."""
    keys = [daily_key(day, shard) for day in days for shard in range(SHARDS)]
    with ThreadPoolExecutor(max_workers=READERS) as pool:
        docs = list(pool.map(store.get, keys))
    totals: dict[tuple[str, str], dict[str, int]] = {}
    for doc in docs:
        if doc is None:
            continue
        for target, posts in (doc.data.get("posts") or {}).items():
            for remote_id, counts in (posts or {}).items():
                into = totals.setdefault((target, remote_id), {})
                for name, value in (counts or {}).items():
                    if isinstance(value, int) and not isinstance(value, bool):
                        into[name] = into.get(name, 0) + value
    return totals
