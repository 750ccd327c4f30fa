"""Where photos come from. Each intake is a `PhotoSource`; the poller treats them alike."""

from __future__ import annotations

import functools
import hashlib
import json
import math
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
    # Whether a pass lists every selected photo (an album, the inbox), so that a photo missing
    # from a complete pass has left the selection (a keyword listing since a watermark does not).
    lists_everything: bool

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
    carries title, description and keywords, and a `publish` object with the photographer's
    choices (only, skip, at, next, crop, captions: planning/keywords.py documents them), which
    becomes `metadata["publish"]`. That object rides every event of the photo, so it is taken
    only as JSON scalars, lists of scalars and objects of scalars, at most MAX_PUBLISH_BYTES
    as UTF-8 JSON; otherwise it is left out and `metadata["publish_problem"]` says why (the
    photo's plan reports it). Its values are checked by the plan, not here."""

    name = "inbox"
    prefix = "inbox/"
    lists_everything = True

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
            if sidecar.get("publish") is not None:
                meta.update(_sidecar_publish(sidecar["publish"]))
        return meta


# Far above what the choices need (a handful of names, a time, a few captions of at most 2,200
# characters), far below SQS's 256 KB message size.
MAX_PUBLISH_BYTES = 32 * 1024


def _sidecar_publish(value: Any) -> dict[str, Any]:
    """{"publish": value} when the sidecar's `publish` may travel, else {"publish_problem": why}."""
    if not isinstance(value, dict):
        return {"publish_problem": f"must be a JSON object, not {_json_kind(value)}"}
    for name, field_value in value.items():
        inner = field_value.values() if isinstance(field_value, dict) else field_value
        if isinstance(field_value, dict | list) and all(_scalar(v) for v in inner):
            continue
        if not _scalar(field_value):
            kinds = "a text, number or true/false, or a list or object of those"
            return {"publish_problem": f"{str(name)[:64]!r} must be {kinds}"}
    size = len(json.dumps(value, ensure_ascii=False).encode())
    if size > MAX_PUBLISH_BYTES:
        return {"publish_problem": f"is {size:,} bytes of JSON; at most {MAX_PUBLISH_BYTES:,} are read"}
    return {"publish": value}


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | bool | int) or (isinstance(value, float) and math.isfinite(value))


def _json_kind(value: Any) -> str:
    return "a list" if isinstance(value, list) else "a text, number or true/false"
