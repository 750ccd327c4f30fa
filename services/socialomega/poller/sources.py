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


class PhotoSource(Protocol):
    name: str

    def candidates(self, cursor: dict[str, Any]) -> Iterator[SourcePhoto]:
        """Photos selected for publishing, possibly including ones already seen."""

    def next_cursor(self) -> dict[str, Any]:
        """Cursor to persist after a complete pass."""


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
