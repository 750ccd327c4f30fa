"""One poll: for every selected photo not seen at this version, store the raw rendition
and the metadata document, then announce it with `AssetDetected`.

Idempotent on (source, asset id, version): a detection marker is written after the
message is sent, so a crash in between re-sends at worst (downstream is idempotent) and
never skips a photo.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from socialomega.contracts.payloads import (
    MAX_ID,
    AssetDetected,
    PhotoMetadata,
    RawRendition,
    clean_metadata,
    clean_text,
)
from socialomega.core import logging as solog
from socialomega.core import store as keys
from socialomega.core.envelope import new_event
from socialomega.core.ports import Blobs, Documents, Events
from socialomega.poller.sources import PhotoSource, SourcePhoto


@dataclass
class PollResult:
    detected: list[str] = field(default_factory=list)
    already_seen: int = 0
    failed: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"detected": self.detected, "already_seen": self.already_seen, "failed": self.failed}

    def source_failures(self) -> dict[str, str]:
        """Intakes that failed as a whole (credentials, an outage), not single photos."""
        return {k: v for k, v in self.failed.items() if k.startswith("source:")}


class SourceFailed(Exception):
    """A whole intake failed. The scheduled invocation fails with this (after the other
    intakes ran), so Lambda retries it and then dead-letters the schedule event, with this
    message, to the poller's schedule DLQ, whose alarm tells an operator. ``result`` is the
    poll's result (what the other intakes detected)."""

    def __init__(self, message: str, result: dict[str, Any]) -> None:
        super().__init__(message)
        self.result = result


@dataclass
class Poller:
    store: Documents
    raw: Blobs  # the raw bucket: renditions go under raw/
    sender: Events
    images_queue_url: str

    def poll(self, sources: list[PhotoSource]) -> PollResult:
        result = PollResult()
        log = solog.get_logger(service="poller")
        for source in sources:
            try:
                self._poll_source(source, result, log)
            except Exception as exc:  # e.g. an expired Lightroom token: report it, keep the other intakes going
                result.failed[f"source:{source.name}"] = f"{type(exc).__name__}: {exc}"
                log.error("source_failed", source=source.name, error=f"{type(exc).__name__}: {exc}")
        return result

    def _poll_source(self, source: PhotoSource, result: PollResult, log: Any) -> None:
        cursor_doc = self.store.get(keys.cursor_key(source.name))
        cursor = cursor_doc.data if cursor_doc else {}
        complete = True
        for photo in source.candidates(cursor):
            # Lightroom metadata and inbox sidecars are anyone's text: a lone surrogate would
            # fail this photo's event on every poll, and a megabyte title would ride every message.
            photo = replace(
                photo,
                asset_id=clean_text(photo.asset_id, MAX_ID),
                version=clean_text(photo.version, MAX_ID),
                metadata=clean_metadata(photo.metadata),
            )
            marker = keys.detection_key(source.name, photo.asset_id, photo.version)
            if self.store.get(marker) is not None:
                result.already_seen += 1
                continue
            try:
                correlation_id = self._detect(photo, marker)
            except Exception as exc:  # one bad photo must not stop the others; retried next poll
                complete = False
                result.failed[photo.asset_id] = f"{type(exc).__name__}: {exc}"
                log.error("detect_failed", asset_id=photo.asset_id, version=photo.version, error=str(exc))
                continue
            result.detected.append(photo.asset_id)
            log.info(
                "asset_detected",
                asset_id=photo.asset_id,
                version=photo.version,
                correlation_id=correlation_id,
                source=source.name,
            )
        if complete:
            self.store.put(keys.cursor_key(source.name), {**source.next_cursor(), "polled_at": _now()})

    def _detect(self, photo: SourcePhoto, marker: str) -> str:
        data = photo.fetch()
        raw_key = keys.raw_key(photo.asset_id, photo.version)
        version_id = self.raw.put(
            raw_key, data, content_type="image/jpeg", metadata={"asset-id": photo.asset_id, "source": photo.source}
        )
        detected_at = _now()
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


def _now() -> str:
    return datetime.now(UTC).isoformat()
