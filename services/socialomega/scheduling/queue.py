"""A target's scheduled posts in the store: `schedule/<target>/<utc time>[-<asset>].json`.

One document per planned post, named by its time (`YYYYmmddTHHMMSSZ`, so S3 lists them in time
order and a read starts at a moment with StartAfter). A slot instant holds one post: its key is
the time alone and is created with If-None-Match, so two deliveries planning at once cannot
both take it (the one refused plans again). A time that is not a slot (a photo's own `so:at`,
an as-soon-as-possible time) may be shared: its key adds the photo's id.

    {"target", "asset_id", "version", "at", "state", "envelope", "created_at", "reason"?}

`state`: waiting (until `at`), released (sent back to the publisher's queue at `at`),
published, cancelled (the photo left the selection, or an operator cancelled it: the instant is
free again). Documents older than the quotas' window are no longer read (`KEEP`), so a listing
costs the recent and future posts only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from socialomega.core.ports import ListedDocuments
from socialomega.core.store import safe_part, schedule_prefix
from socialomega.scheduling.planner import Taken

KEEP = timedelta(hours=25)  # the longest quota window (24 h) and some slack
# How far back a post still waiting for its time is looked for: a release that could not run for
# this long (no schedule, a broken deployment) leaves older ones to an operator's `schedule now`.
DUE_LOOKBACK = timedelta(days=14)
ACTIVE = frozenset({"waiting", "released", "published"})  # hold their instant


def stamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def slot_key(target: str, at: datetime, asset_id: str | None = None) -> str:
    """The key of a post at `at`: the time alone for a slot instant, with the photo otherwise."""
    suffix = f"-{safe_part(asset_id)}" if asset_id else ""
    return f"{schedule_prefix(target)}{stamp(at)}{suffix}.json"


@dataclass(frozen=True)
class Slot:
    key: str
    data: dict[str, Any]

    @property
    def at(self) -> datetime:
        return datetime.fromisoformat(str(self.data["at"]))

    @property
    def state(self) -> str:
        return str(self.data.get("state") or "waiting")


class SlotQueue:
    def __init__(self, store: ListedDocuments) -> None:
        self.store = store

    def slots(self, target: str, since: datetime) -> list[Slot]:
        """The target's posts planned at `since` or later, in time order (cancelled ones too)."""
        prefix = schedule_prefix(target)
        keys = self.store.list_keys(prefix, start_after=f"{prefix}{stamp(since - timedelta(seconds=1))}~")
        docs = [(key, self.store.get(key)) for key in keys]
        return [Slot(key, doc.data) for key, doc in docs if doc is not None]

    def taken(self, target: str, now: datetime) -> list[Taken]:
        """What the planner must count: every post of the quotas' window and after it."""
        return [Taken(s.at, s.key) for s in self.slots(target, now - KEEP) if s.state in ACTIVE]

    def reserve(self, target: str, at: datetime, record: dict[str, Any], *, slot_instant: bool) -> str | None:
        """Create the post's document; None when that slot instant is already held."""
        key = slot_key(target, at, None if slot_instant else str(record["asset_id"]))
        data = {**record, "target": target, "at": at.astimezone(UTC).isoformat()}
        if self.store.claim(key, data) is not None:
            return key
        held = self.store.get(key)
        if held is not None and held.data.get("state") == "cancelled":  # a freed instant: take it over
            taken = self.store.update(key, lambda doc: data if doc and doc.get("state") == "cancelled" else None)
            return key if taken is not None and taken.get("asset_id") == data["asset_id"] else None
        return None

    def due(self, target: str, now: datetime) -> list[Slot]:
        """Posts waiting for a time that has come, oldest first."""
        return [s for s in self.slots(target, now - DUE_LOOKBACK) if s.state == "waiting" and s.at <= now]

    def mark(self, key: str, state: str, **fields: Any) -> None:
        self.store.update(key, lambda doc: None if doc is None else {**doc, "state": state, **fields})
