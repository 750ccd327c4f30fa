"""The S3 JSON metadata store with the conditional writes that make side effects idempotent.

`claim` uses `If-None-Match: *` (412 means someone else already holds the key);
`update` is a compare-and-swap on the ETag (`If-Match`), retried on conflict.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError


class ConcurrentUpdate(RuntimeError):
    """Optimistic update lost the race too many times; safe to retry the message."""


@dataclass(frozen=True)
class Document:
    key: str
    data: dict[str, Any]
    etag: str


def _is_precondition_failure(exc: ClientError) -> bool:
    code = exc.response.get("Error", {}).get("Code")
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    # 412: the condition failed. 409 ConditionalRequestConflict: a concurrent write raced us.
    return code in {"PreconditionFailed", "ConditionalRequestConflict"} or status in {409, 412}


class MetadataStore:
    def __init__(self, s3: Any, bucket: str) -> None:
        self.s3 = s3
        self.bucket = bucket

    def get(self, key: str) -> Document | None:
        try:
            obj = self.s3.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code in {"NoSuchKey", "404"}:
                return None
            if code == "AccessDenied" and not self._exists(key):
                return None
            raise
        return Document(key=key, data=json.loads(obj["Body"].read()), etag=obj["ETag"])

    def _exists(self, key: str) -> bool:
        """Whether `key` exists, by listing exactly its name. S3 answers a missing key with 403
        unless the caller may list the bucket; each function may list only its own prefixes
        (an `s3:prefix` condition), and whether S3 applies that condition to the implicit check
        of GetObject is UNCONFIRMED. An explicit listing of the key's own name carries the prefix,
        so this works either way; a denied listing raises, as a real permission problem should."""
        listed = self.s3.list_objects_v2(Bucket=self.bucket, Prefix=key, MaxKeys=1)
        return any(item.get("Key") == key for item in listed.get("Contents", []))

    def put(self, key: str, data: dict[str, Any]) -> str:
        etag: str = self.s3.put_object(Bucket=self.bucket, Key=key, Body=_dump(data), ContentType="application/json")[
            "ETag"
        ]
        return etag

    def claim(self, key: str, data: dict[str, Any]) -> str | None:
        """Create `key` only if absent. Returns the ETag, or None when it already exists."""
        try:
            etag: str = self.s3.put_object(
                Bucket=self.bucket, Key=key, Body=_dump(data), ContentType="application/json", IfNoneMatch="*"
            )["ETag"]
            return etag
        except ClientError as exc:
            if _is_precondition_failure(exc):
                return None
            raise

    def replace(self, doc: Document, data: dict[str, Any]) -> str | None:
        """Overwrite `doc` only if nobody changed it since it was read; None if they did."""
        try:
            etag: str = self.s3.put_object(
                Bucket=self.bucket, Key=doc.key, Body=_dump(data), ContentType="application/json", IfMatch=doc.etag
            )["ETag"]
            return etag
        except ClientError as exc:
            if _is_precondition_failure(exc):
                return None
            raise

    def update(
        self, key: str, change: Callable[[dict[str, Any] | None], dict[str, Any] | None], attempts: int = 8
    ) -> dict[str, Any] | None:
        """Read-modify-write with compare-and-swap. `change` returns the new document or
        None for "no change"; it may be called several times, so it must be pure."""
        for _ in range(attempts):
            doc = self.get(key)
            new = change(None if doc is None else doc.data)
            if new is None:
                return None if doc is None else doc.data
            etag = self.claim(key, new) if doc is None else self.replace(doc, new)
            if etag is not None:
                return new
        raise ConcurrentUpdate(f"{key}: lost {attempts} optimistic-update races")

    def list_keys(self, prefix: str, start_after: str | None = None) -> list[str]:
        """Every key under `prefix`, in order; only those after `start_after` when given (S3
        lists in key order, so a time-ordered folder is read from a moment on)."""
        keys: list[str] = []
        extra = {"StartAfter": start_after} if start_after else {}
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix, **extra):
            keys.extend(item["Key"] for item in page.get("Contents", []))
        return keys


def _dump(data: dict[str, Any]) -> bytes:
    return json.dumps(data, sort_keys=True, default=str, indent=1).encode()


# Key layout of the store, in one place.
def asset_key(asset_id: str) -> str:
    return f"metadata/assets/{asset_id}.json"


def detection_key(source: str, asset_id: str, version: str) -> str:
    return f"detections/{source}/{asset_id}/{safe_part(version)}.json"


def publication_key(asset_id: str, version: str, target: str) -> str:
    return f"publications/{asset_id}/{safe_part(version)}/{target}.json"


def raw_key(asset_id: str, version: str) -> str:
    return f"raw/{asset_id}/{safe_part(version)}.jpg"


def variant_key(asset_id: str, version: str, target: str, extension: str = "jpg") -> str:
    return f"processed/{asset_id}/{safe_part(version)}/{target}.{extension}"


def post_index_key(platform: str, remote_id: str) -> str:
    """Which photo a published post shows: engagement webhooks name only the platform's post."""
    return f"posts/{platform}/{safe_part(remote_id)}.json"


def status_key(asset_id: str) -> str:
    """Analytics: latest publish status per target of one photo."""
    return f"analytics/status/{asset_id}.json"


def post_marker_key(day: str, target: str, remote_id: str) -> str:
    """Analytics: one published post (write-once), under the UTC day (yyyy-mm-dd) it was
    published, so the insights puller and the report list a date range without reading every post."""
    return f"{post_markers_prefix(day)}{target}/{safe_part(remote_id)}.json"


def post_markers_prefix(day: str) -> str:
    return f"analytics/posts/{day}/"


def insights_key(target: str, remote_id: str) -> str:
    """Analytics: the figures pulled from the platform for one post, latest and over time
    (insights/store.py). The insights puller is its only writer."""
    return f"analytics/insights/{target}/{safe_part(remote_id)}.json"


def daily_key(day: str, shard: int) -> str:
    """Analytics: one shard of a day's (yyyy-mm-dd) counts per target and event type; a day is
    the sum of its shards (analytics/daily.py), so no single document is every event's
    compare-and-swap hot spot."""
    return f"analytics/daily/{day}/{shard:02d}.json"


def event_log_key(event: Any) -> str:
    """The event log: every domain event, write-once, by type and the UTC day it occurred
    (`event`: an Envelope). Everything in the key comes from the envelope, so a redelivery or a
    replay of the event finds its own record."""
    return f"{event_log_prefix(event.type, event.occurred_at)}{event.event_id}.json"


def event_log_prefix(event_type: str, day: Any) -> str:
    """The event log's folder of one type and UTC day (`day`: a date or an aware datetime)."""
    return f"events/{event_type}/{day:%Y/%m/%d}/"


def quota_key(target: str) -> str:
    """A target's rolling-24 h posting slots (targets with a `daily_cap`)."""
    return f"quotas/{target}.json"


def breaker_key(target: str) -> str:
    """A target's circuit breaker, shared by every invocation that publishes to it."""
    return f"breakers/{target}.json"


UNREADABLE_PREFIX = "webhooks/unreadable"


def unreadable_webhook_key(platform: str, day: str, slot: int) -> str:
    """A signed webhook body the endpoint could not read, kept in one of a day's slots."""
    return f"{UNREADABLE_PREFIX}/{platform}/{day}/{slot:02d}.json"


def schedule_prefix(target: str) -> str:
    """A target's scheduled posts, one document each, keyed by time (scheduling/queue.py)."""
    return f"schedule/{target}/"


def cursor_key(source: str) -> str:
    return f"state/poller/{source}.json"


def selection_key(source: str) -> str:
    """The photos the source's last complete pass listed (a photo missing there left the
    album or the inbox): the release cancels its scheduled posts (scheduling/release.py)."""
    return f"state/poller/{source}-selection.json"


def safe_part(value: str) -> str:
    """Versions are opaque strings (timestamps, ETags): keep them key-safe."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in value)
