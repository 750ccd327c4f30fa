"""One poll: for every selected photo not seen at this version, store the raw rendition
and the metadata document, then announce it with `AssetDetected`.

Idempotent on (source, asset id, version): a detection marker is written after the
message is sent, so a crash in between re-sends at worst (downstream is idempotent) and
never skips a photo.

Within the invocation's budget (`deadline.current()`, bound by the handler): no photo is
started with less than `photo_min_seconds` left, and every wait below (Lightroom's retries, a
rendition being generated, each HTTP call) stops at the deadline. The poll then stops with
its progress saved in the source's cursor (poller/cursor.py) and the next poll resumes there;
a stop at the deadline is not a failure.

A photo whose fetch fails is retried on the next polls and parked after `park_after`
attempts (poller/parking.py); until then the pass counts as failed and the source's watermark
stays put. When several photos in a row fail because the source said "try later"
(`SourceUnavailable`), that is the source's outage, not bad photos: the pass stops, those
failures are not counted towards parking, and the source is reported failed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from socialomega.contracts.payloads import (
    MAX_ID,
    AssetDetected,
    PhotoMetadata,
    RawRendition,
    clean_metadata,
    clean_text,
)
from socialomega.core import deadline
from socialomega.core import logging as solog
from socialomega.core import store as keys
from socialomega.core.deadline import DeadlineReached
from socialomega.core.envelope import new_event
from socialomega.core.ports import Blobs, Documents, Events
from socialomega.core.store import ConcurrentUpdate
from socialomega.poller.cursor import Cursors, Pass
from socialomega.poller.parking import Parking
from socialomega.poller.settings import PollerSettings
from socialomega.poller.sources import PhotoNotReady, PhotoSource, SourcePhoto, SourceUnavailable

# Photos remembered as no longer tagged (keyword selection), the latest kept.
MAX_LEFT = 2000
# This many photos in a row failing with `SourceUnavailable` make an outage of the source.
OUTAGE_AFTER = 3
# Failures of our own AWS writes: not the photo's fault, never counted towards parking it.
_INFRASTRUCTURE_ERRORS = (BotoCoreError, ClientError, ConcurrentUpdate)


@dataclass
class PollResult:
    detected: list[str] = field(default_factory=list)
    already_seen: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    parked: list[str] = field(default_factory=list)  # parked by this poll
    skipped_parked: int = 0
    not_ready: list[str] = field(default_factory=list)
    stopped: dict[str, str] = field(default_factory=dict)  # source -> why it stopped at the deadline

    def as_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = {"detected": self.detected, "already_seen": self.already_seen, "failed": self.failed}
        extra = {
            "parked": self.parked,
            "skipped_parked": self.skipped_parked,
            "not_ready": self.not_ready,
            "stopped": self.stopped,
        }
        return {**result, **{name: value for name, value in extra.items() if value}}

    def source_failures(self) -> dict[str, str]:
        """Intakes that failed as a whole (credentials, an outage), not single photos."""
        return {k: v for k, v in self.failed.items() if k.startswith("source:")}


class SourceFailed(Exception):
    """A whole intake failed. The scheduled invocation fails with this (after the other
    intakes ran), so Lambda dead-letters the schedule event, with this message, to the poller's
    schedule DLQ, whose alarm tells an operator (no Lambda retry: the next scheduled poll is
    the retry, terraform/envs/aws). ``result`` is the poll's result (what the other intakes
    detected)."""

    def __init__(self, message: str, result: dict[str, Any]) -> None:
        super().__init__(message)
        self.result = result


class SourceOutage(Exception):
    """Several photos in a row failed with the source saying "try later"."""


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Poller:
    store: Documents
    raw: Blobs  # the raw bucket: renditions go under raw/
    sender: Events
    images_queue_url: str
    settings: PollerSettings = field(default_factory=PollerSettings)
    clock: Callable[[], datetime] = _utcnow
    parking: Parking | None = None  # default: over `store`, parking after `settings.park_after`

    def __post_init__(self) -> None:
        self.cursors = Cursors(self.store)
        if self.parking is None:
            self.parking = Parking(self.store, self.settings.park_after, clock=self.clock)

    def poll(self, sources: list[PhotoSource]) -> PollResult:
        result = PollResult()
        log = solog.get_logger(service="poller")
        for source in sources:
            if deadline.current().expired(self.settings.photo_min_seconds):
                result.stopped[source.name] = "not started: the invocation's deadline is near"
                log.warning("source_not_polled", source=source.name, reason=result.stopped[source.name])
                continue
            try:
                self._poll_source(source, result, log)
            except Exception as exc:  # e.g. an expired Lightroom token: report it, keep the other intakes going
                result.failed[f"source:{source.name}"] = f"{type(exc).__name__}: {exc}"
                log.error("source_failed", source=source.name, error=f"{type(exc).__name__}: {exc}")
        return result

    def _poll_source(self, source: PhotoSource, result: PollResult, log: Any) -> None:
        cursor, walk = self.cursors.begin(source.name, self._now())
        photos = iter(source.candidates(cursor))
        position, listed, failed = walk.resume, False, False
        # Every photo of a pass that starts and ends in this poll: the selection as it stands.
        seen: list[str] | None = [] if getattr(source, "lists_everything", False) and not walk.resume else None
        # Consecutive `SourceUnavailable` failures, counted once something shows the source works.
        unavailable: list[tuple[SourcePhoto, str]] = []

        def count_unavailable() -> None:
            for photo, reason in unavailable:
                self._count_failure(photo, reason, result)
            unavailable.clear()

        while True:
            try:
                photo = next(photos)
            except StopIteration:
                break
            except DeadlineReached as exc:  # a page the deadline left no time for
                self._stop(source.name, walk, position, failed, str(exc), result, log)
                return
            except Exception:
                # The listing failed part-way: keep the progress made, but not a saved position
                # that fails from the start (a later poll starts from the beginning instead).
                if listed or walk.resume:
                    self.cursors.save_progress(source.name, walk, position if listed else {}, failed, self._now())
                raise
            listed = True
            # Lightroom metadata and inbox sidecars are anyone's text: a lone surrogate would
            # fail this photo's event on every poll, and a megabyte title would ride every message.
            photo = replace(
                photo,
                asset_id=clean_text(photo.asset_id, MAX_ID),
                version=clean_text(photo.version, MAX_ID),
                metadata=clean_metadata(photo.metadata),
            )
            position = photo.position
            if seen is not None:
                seen.append(photo.asset_id)
            if deadline.current().expired(self.settings.photo_min_seconds):
                self._stop(source.name, walk, position, failed, "too little time left for another photo", result, log)
                return
            marker = keys.detection_key(source.name, photo.asset_id, photo.version)
            if self.store.get(marker) is not None:
                result.already_seen += 1
                continue
            assert self.parking is not None
            if self.parking.is_parked(photo):
                result.skipped_parked += 1
                continue
            try:
                correlation_id = self._detect(photo, marker)
            except DeadlineReached as exc:  # nothing of this photo was stored: it is fetched again
                self._stop(source.name, walk, position, failed, str(exc), result, log)
                return
            except PhotoNotReady as exc:
                failed = True
                count_unavailable()
                result.not_ready.append(photo.asset_id)
                log.info("photo_not_ready", asset_id=photo.asset_id, version=photo.version, reason=str(exc))
                if self.parking.not_ready(photo, _reason(exc)) is not None:
                    result.parked.append(photo.asset_id)
                continue
            except Exception as exc:  # one bad photo must not stop the others; retried next poll
                failed = True
                reason = _reason(exc)
                result.failed[photo.asset_id] = reason
                log.error("detect_failed", asset_id=photo.asset_id, version=photo.version, error=reason)
                if isinstance(exc, _INFRASTRUCTURE_ERRORS):
                    continue
                if isinstance(exc, SourceUnavailable):
                    unavailable.append((photo, reason))
                    if len(unavailable) >= OUTAGE_AFTER:
                        first = unavailable[0][0].position
                        self.cursors.save_progress(source.name, walk, first, failed, self._now())
                        raise SourceOutage(f"{len(unavailable)} photos in a row failed: {reason}") from None
                    continue
                count_unavailable()
                self._count_failure(photo, reason, result)
                continue
            count_unavailable()
            result.detected.append(photo.asset_id)
            log.info(
                "asset_detected",
                asset_id=photo.asset_id,
                version=photo.version,
                correlation_id=correlation_id,
                source=source.name,
            )
        count_unavailable()
        self.cursors.finish(source.name, walk, source.next_cursor(), failed, self._now())
        self._record_selection(source, walk, seen)

    def _record_selection(self, source: PhotoSource, walk: Pass, seen: list[str] | None) -> None:
        """Which photos left the selection, and when (`left`: asset id -> the pass that saw it
        go), for scheduled posts and unpublishing (scheduling/release.py). An album or inbox
        pass lists every selected photo: a photo the previous complete pass listed and this one
        does not has left (`asset_ids` keeps this pass's listing to compare the next with). A
        keyword pass lists the photos changed since the last one: one found without the
        keyword has left. A photo back in the selection is no longer `left`."""
        now = self._now()
        dropped = [] if seen is not None else list(getattr(source, "deselected", None) or [])
        if seen is None and not dropped:
            return
        current = set(seen) if seen is not None else set()

        def note(doc: dict[str, Any] | None) -> dict[str, Any]:
            doc = doc or {}
            left = {k: v for k, v in dict(doc.get("left") or {}).items() if k not in current}
            gone = set(doc.get("asset_ids") or ()) - current if seen is not None else set(dropped)
            left.update({asset: now for asset in gone if asset not in left})
            recent = dict(sorted(left.items(), key=lambda item: item[1])[-MAX_LEFT:])
            listing = {"asset_ids": sorted(current), "pass_started_at": walk.started_at} if seen is not None else {}
            return {**doc, "source": source.name, "finished_at": now, "left": recent, **listing}

        self.store.update(keys.selection_key(source.name), note)

    def _stop(
        self, source: str, walk: Pass, resume: dict[str, Any], failed: bool, why: str, result: PollResult, log: Any
    ) -> None:
        """Stop the pass before the deadline; the next poll resumes at `resume`."""
        saved = self.cursors.save_progress(source, walk, resume, failed, self._now())
        result.stopped[source] = why
        log.info(
            "poll_stopped_at_deadline",
            source=source,
            reason=why,
            resume=resume,
            saved=saved,
            remaining_seconds=round(deadline.current().remaining(), 1),
        )

    def _count_failure(self, photo: SourcePhoto, reason: str, result: PollResult) -> None:
        assert self.parking is not None
        if self.parking.failed(photo, reason) is not None:
            result.parked.append(photo.asset_id)

    def _now(self) -> str:
        return self.clock().isoformat()

    def _detect(self, photo: SourcePhoto, marker: str) -> str:
        data = photo.fetch()
        raw_key = keys.raw_key(photo.asset_id, photo.version)
        version_id = self.raw.put(
            raw_key, data, content_type="image/jpeg", metadata={"asset-id": photo.asset_id, "source": photo.source}
        )
        detected_at = self._now()
        raw: dict[str, Any] = {"bucket": self.raw.bucket, "key": raw_key, "version_id": version_id, "bytes": len(data)}

        def record_version(doc: dict[str, Any] | None) -> dict[str, Any]:
            doc = dict(doc or {"asset_id": photo.asset_id, "source": photo.source, "versions": {}})
            versions = dict(doc.get("versions", {}))
            versions[photo.version] = {**versions.get(photo.version, {}), "raw": raw, "detected_at": detected_at}
            return {**doc, "metadata": photo.metadata, "latest_version": photo.version, "versions": versions}

        self.store.update(keys.asset_key(photo.asset_id), record_version)
        event = new_event(
            "AssetDetected",
            asset_id=photo.asset_id,
            payload=AssetDetected(
                source=photo.source,
                version=photo.version,
                raw=RawRendition(**raw),
                metadata=PhotoMetadata.model_validate(photo.metadata),
                detected_at=detected_at,
            ),
        )
        message_id = self.sender.to_queue(self.images_queue_url, event)
        self.store.put(
            marker,
            {
                "asset_id": photo.asset_id,
                "version": photo.version,
                "event_id": event.event_id,
                "correlation_id": event.correlation_id,
                "message_id": message_id,
                "detected_at": detected_at,
            },
        )
        return event.correlation_id


def _reason(exc: BaseException) -> str:
    """An exception as a stored and logged reason: short, and with nothing secret in it."""
    return solog.redact(f"{type(exc).__name__}: {exc}")[:500]
