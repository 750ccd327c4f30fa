"""Where photos come from. Each intake is a `PhotoSource`; the poller treats them alike."""

from __future__ import annotations

import functools
import hashlib
import json
import posixpath
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from socialomega.core.ports import Blobs


@dataclass
class SourcePhoto:
    source: str
    asset_id: str
    version: str  # changes whenever the photo is edited: (asset_id, version) is the idempotency key
    metadata: dict[str, Any]
    fetch: Callable[[], bytes] = field(repr=False)
    # Where a listing resumes to reach this photo again (e.g. its page): the cursor's `resume`
    # when a poll stops at its deadline before this photo. {}: from the start.
    position: dict[str, Any] = field(default_factory=dict)


class PhotoNotReady(Exception):
    """The photo cannot be fetched yet (its rendition is still being generated): it is tried
    again on the next poll, and this is not a failure that counts towards parking it."""


class SourceUnavailable(Exception):
    """The source answered "try later" (throttled, 5xx, unreachable) after its own retries.
    Several photos in a row failing so look like an outage of the source, not bad photos."""


class PhotoSource(Protocol):
    name: str

    def candidates(self, cursor: dict[str, Any]) -> Iterator[SourcePhoto]:
        """Photos selected for publishing, possibly including ones already seen. `cursor` is what
        the last complete pass saved (`next_cursor`), plus, while a pass spans several polls,
        `resume` (the position of the first photo not handled yet) and `pass_started_at`
        (ISO-8601 UTC, the poller's clock, when the pass began)."""

    def next_cursor(self) -> dict[str, Any]:
        """Cursor to persist after a complete pass. Its values are watermarks that only move
        forward (compared as strings, e.g. ISO-8601 UTC timestamps): the poller keeps the
        greater of the stored and the new value, so a slower concurrent poll never moves
        them back."""


class S3InboxSource:
    """Second intake: JPEGs dropped under `inbox/` of the raw bucket (for example by a
    Lightroom Classic publish service synced to S3). An optional `<name>.json` sidecar
    carries title, description and keywords."""

    name = "inbox"
    prefix = "inbox/"

    def __init__(self, blobs: Blobs) -> None:
        self.blobs = blobs

    def candidates(self, cursor: dict[str, Any]) -> Iterator[SourcePhoto]:
        for key, etag in self.blobs.listing(self.prefix):
            if not key.lower().endswith((".jpg", ".jpeg")):
                continue
            asset_id = "inbox-" + hashlib.sha256(key.encode()).hexdigest()[:24]
            yield SourcePhoto(
                source=self.name,
                asset_id=asset_id,
                version=etag,  # content hash: a re-upload with changes is a new version
                metadata=self._metadata(key),
                fetch=functools.partial(self.blobs.get, key),
            )

    def next_cursor(self) -> dict[str, Any]:
        return {}

    def _metadata(self, key: str) -> dict[str, Any]:
        stem, _ = posixpath.splitext(key)
        meta: dict[str, Any] = {
            "title": posixpath.basename(stem),
            "description": "",
            "keywords": [],
            "file_name": posixpath.basename(key),
            "inbox_key": key,
        }
        try:
            sidecar = json.loads(self.blobs.get(stem + ".json"))
        except Exception:
            return meta
        if isinstance(sidecar, dict):
            for name in ("title", "description"):
                if isinstance(sidecar.get(name), str):
                    meta[name] = sidecar[name]
            if isinstance(sidecar.get("keywords"), list):
                meta["keywords"] = [str(k) for k in sidecar["keywords"]]
        return meta
