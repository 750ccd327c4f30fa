"""Photos that fail on every poll are parked instead of being retried forever.

A photo whose fetch fails (a rendition that stays 404, a download that always breaks) has its
attempts counted, one per poll, in `state/poller/failures/<source>/<asset>.json`; at
`park_after` attempts it is parked: `state/poller/parked/<source>/<asset>.json` holds the
source, asset, version, attempts, last reason and when. Later polls skip it, until its version
changes (the photo was edited in Lightroom, the inbox file replaced): then it is un-parked and
tried again, its attempts counted afresh. Every parking is logged (`photo_parked`) and counted
in the CloudWatch metric `PhotosParked` (namespace SocialOmega, dimension Service=poller,
embedded-metric-format log line), which an alarm watches. `socialomega --env <env> parked`
lists them.

What does not count: a rendition still being generated (`PhotoNotReady`), until it has been
"not ready" for `NOT_READY_LIMIT` (Adobe: poll up to 10 minutes, then generate again); a stop
at the invocation's deadline; failures of our own AWS writes (not the photo's fault).

Both documents live under the poller's own `state/poller/` prefix, which its role may already
read, write and list (terraform/envs/aws: least privilege is checked prefix by prefix). Writes
are compare-and-swap (`Documents.update`), so concurrent polls neither lose a count nor park
twice; the store has no delete for the poller, so an un-parked document stays, marked
`"status": "unparked"`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from socialomega.core import logging as solog
from socialomega.core import metrics
from socialomega.core.ports import Documents
from socialomega.core.store import safe_part
from socialomega.poller.sources import SourcePhoto

FAILURES_PREFIX = "state/poller/failures/"
PARKED_PREFIX = "state/poller/parked/"
NOT_READY_LIMIT_SECONDS = 600.0
METRIC = "PhotosParked"


def failure_key(source: str, asset_id: str) -> str:
    return f"{FAILURES_PREFIX}{source}/{safe_part(asset_id)}.json"


def parked_key(source: str, asset_id: str) -> str:
    return f"{PARKED_PREFIX}{source}/{safe_part(asset_id)}.json"


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Parking:
    store: Documents
    park_after: int
    clock: Callable[[], datetime] = _utcnow
    emit: Callable[..., None] = metrics.emit
    log: Any = field(default_factory=lambda: solog.get_logger(service="poller"))

    def is_parked(self, photo: SourcePhoto) -> bool:
        """Whether to skip `photo`: parked at this version. Parked at another one, it is
        un-parked here and tried again."""
        key = parked_key(photo.source, photo.asset_id)
        doc = self.store.get(key)
        if doc is None or doc.data.get("status") != "parked":
            return False
        if doc.data.get("version") == photo.version:
            return True
        now = self.clock().isoformat()

        def unpark(data: dict[str, Any] | None) -> dict[str, Any] | None:
            if data is None or data.get("status") != "parked" or data.get("version") == photo.version:
                return None
            return {**data, "status": "unparked", "unparked_at": now, "unparked_for_version": photo.version}

        self.store.update(key, unpark)
        self.log.info(
            "photo_unparked",
            source=photo.source,
            asset_id=photo.asset_id,
            parked_version=doc.data.get("version"),
            version=photo.version,
        )
        return False

    def failed(self, photo: SourcePhoto, reason: str) -> dict[str, Any] | None:
        """Count one failed attempt; the parked document if this one parked the photo."""
        now = self.clock().isoformat()

        def count(data: dict[str, Any] | None) -> dict[str, Any]:
            record = self._record(data, photo, now)
            return {**record, "attempts": record["attempts"] + 1, "last_failed_at": now, "reason": reason}

        return self._park_if_due(photo, self._update(photo, count))

    def not_ready(self, photo: SourcePhoto, reason: str) -> dict[str, Any] | None:
        """Note that `photo` is not ready yet; an attempt counts only once it has been not ready
        for `NOT_READY_LIMIT_SECONDS`. The parked document if this parked the photo."""
        now = self.clock()

        def note(data: dict[str, Any] | None) -> dict[str, Any]:
            record = self._record(data, photo, now.isoformat())
            since = str(record.get("not_ready_since") or now.isoformat())
            record = {**record, "not_ready_since": since, "last_not_ready_at": now.isoformat()}
            waited = (now - datetime.fromisoformat(since)).total_seconds()
            if waited < NOT_READY_LIMIT_SECONDS:
                return record
            return {
                **record,
                "attempts": record["attempts"] + 1,
                "last_failed_at": now.isoformat(),
                "reason": f"not ready after {waited:.0f} s: {reason}",
            }

        return self._park_if_due(photo, self._update(photo, note))

    @staticmethod
    def _record(data: dict[str, Any] | None, photo: SourcePhoto, now: str) -> dict[str, Any]:
        """The failure record of this version: the stored one, or a fresh one (a new version
        starts from zero)."""
        if data is not None and data.get("version") == photo.version:
            return data
        return {
            "source": photo.source,
            "asset_id": photo.asset_id,
            "version": photo.version,
            "attempts": 0,
            "first_failed_at": now,
        }

    def _update(self, photo: SourcePhoto, change: Callable[[dict[str, Any] | None], dict[str, Any]]) -> dict[str, Any]:
        record = self.store.update(failure_key(photo.source, photo.asset_id), change)
        assert record is not None  # `change` always returns a document
        return record

    def _park_if_due(self, photo: SourcePhoto, record: dict[str, Any]) -> dict[str, Any] | None:
        if record.get("attempts", 0) < self.park_after:
            return None
        parked = {
            "source": photo.source,
            "asset_id": photo.asset_id,
            "version": photo.version,
            "attempts": record["attempts"],
            "reason": record.get("reason", ""),
            "first_failed_at": record.get("first_failed_at"),
            "parked_at": self.clock().isoformat(),
            "status": "parked",
        }

        def park(data: dict[str, Any] | None) -> dict[str, Any] | None:
            if data is not None and data.get("status") == "parked" and data.get("version") == photo.version:
                return None  # a concurrent poll parked it first: one parking, one metric
            return parked

        if self.store.update(parked_key(photo.source, photo.asset_id), park) != parked:
            return None
        self.log.error(
            "photo_parked",
            source=photo.source,
            asset_id=photo.asset_id,
            version=photo.version,
            attempts=parked["attempts"],
            reason=parked["reason"],
        )
        self.emit({METRIC: 1}, {"Service": "poller"}, source=photo.source, asset_id=photo.asset_id)
        return parked


class ParkedListing(Protocol):
    """What listing the parked photos needs of the store (core/store.MetadataStore)."""

    def list_keys(self, prefix: str) -> list[str]: ...

    def get(self, key: str) -> Any: ...


def parked_photos(store: ParkedListing) -> list[dict[str, Any]]:
    """Every photo parked now (documents un-parked since are left out), oldest parking first."""
    found = []
    for key in store.list_keys(PARKED_PREFIX):
        doc = store.get(key)
        if doc is not None and doc.data.get("status") == "parked":
            found.append(doc.data)
    return sorted(found, key=lambda d: str(d.get("parked_at", "")))
