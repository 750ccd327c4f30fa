"""Analytics: per-photo, per-target status and daily counters, idempotent on event id.

Each status event updates three documents with compare-and-swap writes, each of which
remembers the event ids it has applied, so a redelivered event never counts twice:
* `analytics/status/<asset_id>.json`: latest status per target, with timing, and the
  engagement (likes, comments, shares) per target;
* `analytics/daily/<yyyy-mm-dd>.json`: counts per target and event type, and engagement;
* `events/yyyy/mm/dd/<event_id>.json`: the event log (write-once).

Engagement events come from the webhook endpoint with an event id derived from the
platform's notification, so a notification the platform delivers twice counts once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from socialomega.contracts.payloads import EngagementReceived, PublishFailed, PublishSucceeded
from socialomega.core import logging as solog
from socialomega.core.consumer import checked_payload
from socialomega.core.envelope import Envelope
from socialomega.core.ports import Documents
from socialomega.core.store import daily_key, event_log_key, status_key

MAX_REMEMBERED_EVENTS = 5000


def _seconds_between(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    return round((datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds(), 3)


Change = Callable[[dict[str, Any]], dict[str, Any]]
Result = PublishSucceeded | PublishFailed


class Aggregator:
    def __init__(self, store: Documents) -> None:
        self.store = store

    def apply(self, event: Envelope, payload: Result | EngagementReceived | None = None) -> None:
        # Checked against its model: e.g. an engagement delta other than -1/+1 is refused, not counted.
        payload = payload or checked_payload(event)
        self.store.claim(event_log_key(event), event.model_dump(mode="json"))
        target = payload.target
        day = event.occurred_at.strftime("%Y-%m-%d")
        if isinstance(payload, EngagementReceived):
            status_change, daily_change = self._engagement(event, payload)
        else:
            status_change, daily_change = self._publish_result(event, payload)
        self._apply_once(event, status_key(event.asset_id), {"asset_id": event.asset_id, "targets": {}}, status_change)
        self._apply_once(event, daily_key(day), {"day": day, "counts": {}}, daily_change)
        solog.get_logger().info("analytics_recorded", target=target, day=day)

    def _apply_once(self, event: Envelope, key: str, empty: dict[str, Any], change: Change) -> None:
        """Compare-and-swap `change` into the document at `key`, unless it already holds this event."""

        def update(doc: dict[str, Any] | None) -> dict[str, Any] | None:
            doc = doc or {**empty, "applied": []}
            if event.event_id in doc["applied"]:
                return None
            return {**doc, **change(doc), "applied": (doc["applied"] + [event.event_id])[-MAX_REMEMBERED_EVENTS:]}

        self.store.update(key, update)

    @staticmethod
    def _publish_result(event: Envelope, payload: Result) -> tuple[Change, Change]:
        succeeded = payload if isinstance(payload, PublishSucceeded) else None
        failed = payload if isinstance(payload, PublishFailed) else None
        published_at = succeeded.published_at if succeeded else None
        target = payload.target
        row = {
            "status": "published" if succeeded else failed.status,  # type: ignore[union-attr]
            "version": payload.version,
            "platform": payload.platform,
            "remote_id": succeeded.remote_id if succeeded else None,
            "remote_url": succeeded.remote_url if succeeded else None,
            "error": failed.error.model_dump(mode="json") if failed and failed.error else None,
            "attempts": payload.attempts,
            "detected_at": payload.detected_at,
            "finished_at": published_at or (failed.failed_at if failed else None) or event.occurred_at.isoformat(),
            "seconds_to_publish": _seconds_between(payload.detected_at, published_at),
            "correlation_id": event.correlation_id,
        }

        def count(doc: dict[str, Any]) -> dict[str, Any]:
            counts = {name: dict(values) for name, values in doc["counts"].items()}
            per_target = counts.setdefault(target, {})
            per_target[event.type] = per_target.get(event.type, 0) + 1
            return {"counts": counts}

        return (lambda doc: {"targets": {**doc["targets"], target: row}}), count

    @staticmethod
    def _engagement(event: Envelope, payload: EngagementReceived) -> tuple[Change, Change]:
        target, counter, delta = payload.target, f"{payload.kind}s", payload.delta

        def add(doc: dict[str, Any], stamp: bool) -> dict[str, Any]:
            # Net sums, never clamped here: a removal may be applied before its addition (the
            # queue does not keep order), and the pair must still sum to 0. Readers show
            # negative sums as 0.
            engagement = {name: dict(values) for name, values in doc.get("engagement", {}).items()}
            counts = engagement.setdefault(target, {})
            counts[counter] = counts.get(counter, 0) + delta
            if stamp:
                counts["last_at"] = max(counts.get("last_at") or "", event.occurred_at.isoformat())
            return {"engagement": engagement}

        return (lambda doc: add(doc, stamp=True)), (lambda doc: add(doc, stamp=False))
