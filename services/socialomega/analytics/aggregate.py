"""Analytics: the event log, per-photo status per target, daily counters and per-post engagement,
exact on event id.

Every domain event the bus carries arrives here (one rule matches every socialomega source).
Each one is appended once to the event log (eventlog.py, `events/<type>/<yyyy>/<mm>/<dd>/<id>.json`,
written with If-None-Match). Publish results and engagement are also applied to:
* `analytics/status/<asset_id>.json` (publish results only): latest status per target, with
  timing. Only the few publishers of one photo write it;
* `analytics/daily/<yyyy-mm-dd>/<shard>.json`: one of the day's 16 shards (daily.py) of counts
  per target and event type, net engagement per target, and net engagement per post
  (`posts[target][remote_id]`). Engagement, the high-volume stream, lands only in these shards
  (by a hash of its event id), so concurrent writers spread over 16 documents a day instead of
  contending on one post's or one photo's document;
* `analytics/posts/<yyyy-mm-dd>/<target>/<remote_id>.json` (PublishSucceeded only, write-once):
  the post's marker, which the insights puller and the report list by publication day.
The other types (detections, publish requests, breaker transitions) are logged only.

Exactly once, with no cap and no time window:
1. claim the log record (`applied: false`); if it exists and says `applied: true`, the event
   was fully applied before: stop (a redelivery, or a replay, costs one refused write and a read);
2. compare-and-swap the event into each document, which keeps the ids of every event it holds
   (all of them: a daily shard holds a sixteenth of a day's ids) and skips an id it already has
   (the marker is a create-only write: a second one is refused);
3. mark the log record `applied: true`.
A crash anywhere leaves the record unapplied and the message unacknowledged: the redelivery
finds the claim taken but not applied and runs step 2 again, where each document that already
holds the event skips it. Two deliveries at once are serialised per document by the
compare-and-swap. So nothing is lost and nothing counts twice.

Engagement events come from the webhook endpoint with an event id derived from the
platform's notification, so a notification the platform delivers twice counts once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from socialomega.analytics import eventlog
from socialomega.analytics.daily import empty_shard, shard_of
from socialomega.contracts.payloads import EngagementReceived, PublishFailed, PublishSucceeded
from socialomega.core import logging as solog
from socialomega.core.consumer import RetryLater, checked_payload
from socialomega.core.envelope import Envelope
from socialomega.core.ports import Documents
from socialomega.core.store import daily_key, event_log_key, post_marker_key, status_key

# The types counted in analytics documents; every other valid type is logged only.
AGGREGATED = frozenset({"PublishSucceeded", "PublishFailed", "EngagementReceived"})


def _seconds_between(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    return round((datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds(), 3)


def _utc_now() -> datetime:
    return datetime.now(UTC)


Change = Callable[[dict[str, Any]], dict[str, Any]]
Result = PublishSucceeded | PublishFailed


class Aggregator:
    def __init__(self, store: Documents, clock: Callable[[], datetime] = _utc_now) -> None:
        self.store = store
        self.clock = clock

    def apply(self, event: Envelope, payload: Any = None, *, source: str | None = None) -> str:
        """Log `event` once and apply it if analytics counts its type. Returns `logged` (a type
        that is only logged), `applied`, or `duplicate` (logged and applied before)."""
        # Checked against its model: e.g. an engagement delta other than -1/+1 is refused, not counted.
        payload = payload or checked_payload(event)
        log = solog.get_logger()
        counted = event.type in AGGREGATED
        key = event_log_key(event)
        source = eventlog.source_of(event, source)
        record = eventlog.new_record(event, source, applied=not counted, now=self.clock())
        if self.store.claim(key, record) is None:
            existing = self.store.get(key)
            if existing is None:  # removed between the two calls (by hand): start again later
                raise RetryLater(f"event log record {key} vanished while it was read")
            if existing.data.get("event") != record["event"]:
                # Same id, other content (e.g. a notification retried without the platform's
                # time): the id decides, the first one logged stands.
                log.warning("event_logged_differently", key=key)
            if existing.data.get("applied"):
                log.info("event_duplicate", key=key, source=source)
                return "duplicate"
            log.info("event_resumed", key=key)  # an earlier delivery stopped before step 3, or runs now
        if not counted:
            log.info("event_logged", key=key, source=source)
            return "logged"
        self._apply_documents(event, payload)
        self.store.update(key, _mark_applied(self.clock().isoformat()))
        log.info("analytics_recorded", key=key, target=payload.target, day=f"{event.occurred_at:%Y-%m-%d}")
        return "applied"

    def _apply_documents(self, event: Envelope, payload: Result | EngagementReceived) -> None:
        day = event.occurred_at.strftime("%Y-%m-%d")
        shard = shard_of(event.event_id)
        if isinstance(payload, EngagementReceived):
            self._apply_once(event, daily_key(day, shard), empty_shard(day, shard), self._engagement(event, payload))
            return
        status_change, daily_change = self._publish_result(event, payload)
        self._apply_once(event, status_key(event.asset_id), {"asset_id": event.asset_id, "targets": {}}, status_change)
        self._apply_once(event, daily_key(day, shard), empty_shard(day, shard), daily_change)
        if isinstance(payload, PublishSucceeded) and payload.remote_id:
            self._mark_post(event, payload)

    def _mark_post(self, event: Envelope, payload: PublishSucceeded) -> None:
        """The post's marker under its publication day (create-only: a redelivery's is refused)."""
        published_at = payload.published_at or event.occurred_at.isoformat()
        day = datetime.fromisoformat(published_at).astimezone(UTC).strftime("%Y-%m-%d")
        remote_id = payload.remote_id or ""
        self.store.claim(
            post_marker_key(day, payload.target, remote_id),
            {
                "asset_id": event.asset_id,
                "target": payload.target,
                "platform": payload.platform,
                "version": payload.version,
                "remote_id": remote_id,
                "remote_url": payload.remote_url,
                "published_at": published_at,
                "detected_at": payload.detected_at,
                "seconds_to_publish": _seconds_between(payload.detected_at, published_at),
                "event_id": event.event_id,
            },
        )

    def _apply_once(self, event: Envelope, key: str, empty: dict[str, Any], change: Change) -> None:
        """Compare-and-swap `change` into the document at `key`, unless it already holds this
        event. Every applied id is kept (no cap): forgetting one would let a late redelivery or a
        replay count it again."""

        def update(doc: dict[str, Any] | None) -> dict[str, Any] | None:
            doc = doc or {**empty, "applied": []}
            applied: list[str] = doc.get("applied") or []
            if event.event_id in applied:
                return None
            return {**doc, **change(doc), "applied": [*applied, event.event_id]}

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
            counts = {name: dict(values) for name, values in doc.get("counts", {}).items()}
            per_target = counts.setdefault(target, {})
            per_target[event.type] = per_target.get(event.type, 0) + 1
            return {"counts": counts}

        return (lambda doc: {"targets": {**doc.get("targets", {}), target: row}}), count

    @staticmethod
    def _engagement(event: Envelope, payload: EngagementReceived) -> Change:
        target, counter, delta = payload.target, f"{payload.kind}s", payload.delta

        def add(doc: dict[str, Any]) -> dict[str, Any]:
            # Net sums, never clamped here: a removal may be applied before its addition (the
            # queue does not keep order), and the pair must still sum to 0. Readers show
            # negative sums as 0.
            engagement = {name: dict(values) for name, values in doc.get("engagement", {}).items()}
            totals = engagement.setdefault(target, {})
            totals[counter] = totals.get(counter, 0) + delta
            posts = {name: {rid: dict(c) for rid, c in per.items()} for name, per in doc.get("posts", {}).items()}
            post = posts.setdefault(target, {}).setdefault(payload.remote_id, {})
            post[counter] = post.get(counter, 0) + delta
            return {"engagement": engagement, "posts": posts}

        return add


def _mark_applied(at: str) -> Callable[[dict[str, Any] | None], dict[str, Any] | None]:
    def mark(record: dict[str, Any] | None) -> dict[str, Any] | None:
        if record is None:  # removed by hand meanwhile: the documents hold the event all the same
            return None
        return None if record.get("applied") else {**record, "applied": True, "applied_at": at}

    return mark
