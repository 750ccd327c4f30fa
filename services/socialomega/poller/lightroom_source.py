"""The Lightroom intake: photos in the configured album and/or with the configured keyword.

Selection lives in SSM (`/socialomega/<env>/lightroom`): `{"album": "Publish",
"keyword": "publish", "rendition": "2048"}`; either or both may be set. `page_size` (optional,
1-500) is the listing's `limit` (Lightroom's default: 100).

The cursor's watermark `updated_since` lets keyword-only polling ask Lightroom only for assets
changed since the last complete pass. It is the time that pass began (the poller's clock) less
`WATERMARK_SLACK`, not the newest `updated` it saw: Lightroom lists by capture date, so a photo
edited after its page was read can be older than a photo read later, and a pass may span
several polls. This assumes the poller's clock is within `WATERMARK_SLACK` of Adobe's; a photo
listed twice costs one marker read.

A poll stopped part-way (its deadline) resumes at the page of the first photo it did not
handle: each photo's `position` is the `captured_before` of its page.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from socialomega.core.config import ConfigError
from socialomega.poller.lightroom import LightroomAsset, LightroomClient, timestamp
from socialomega.poller.sources import SourcePhoto

WATERMARK_SLACK = timedelta(minutes=5)
# The longest one poll waits for a `fullsize`/`2560` rendition being generated, so one slow
# photo does not use up the poll: the photo is "not ready" and tried again next poll.
RENDITION_WAIT_SECONDS = 30.0


class LightroomSource:
    name = "lightroom"

    def __init__(self, client: LightroomClient, selection: dict[str, Any]) -> None:
        self.client = client
        self.album = selection.get("album") or None
        self.keyword = (selection.get("keyword") or "").strip().lower() or None
        self.rendition = str(selection.get("rendition") or "2048")
        self.page_size = int(selection["page_size"]) if selection.get("page_size") else None
        if not self.album and not self.keyword:
            raise ConfigError("lightroom selection needs an album and/or a keyword")
        # An album is listed whole every pass; a keyword alone only since the last pass, where a
        # photo listed without the keyword has lost it (`deselected`, for its scheduled posts).
        self.lists_everything = self.album is not None
        self.deselected: list[str] = []
        self._pass_started_at: str | None = None

    def candidates(self, cursor: dict[str, Any]) -> Iterator[SourcePhoto]:
        self._pass_started_at = cursor.get("pass_started_at")
        resume = cursor.get("resume") or {}
        before = resume.get("captured_before") if isinstance(resume.get("captured_before"), str) else None
        if self.album:
            pages = self.client.album_asset_pages(
                self._album_id(self.album), captured_before=before, limit=self.page_size
            )
        else:
            pages = self.client.asset_pages(
                updated_since=cursor.get("updated_since"), captured_before=before, limit=self.page_size
            )
        self.deselected = []
        for page in pages:
            position = {"captured_before": page.captured_before} if page.captured_before else {}
            for asset in page.assets:
                if self.keyword and self.keyword not in {k.lower() for k in asset.keywords}:
                    if not self.album:  # changed since the last pass and no longer tagged
                        self.deselected.append(asset.id)
                    continue
                yield SourcePhoto(
                    source=self.name,
                    asset_id=asset.id,
                    version=asset.version,
                    metadata=_metadata(asset),
                    fetch=functools.partial(
                        self.client.rendition, asset.id, self.rendition, wait_timeout=RENDITION_WAIT_SECONDS
                    ),
                    position=position,
                )

    def next_cursor(self) -> dict[str, Any]:
        if not self._pass_started_at:
            return {}
        started = datetime.fromisoformat(self._pass_started_at)
        return {"updated_since": timestamp(started - WATERMARK_SLACK)}

    def _album_id(self, name: str) -> str:
        album = self.client.find_album(name)
        if album is None:
            raise ConfigError(f"Lightroom album {name!r} does not exist in the catalog")
        album_id: str = album["id"]
        return album_id


def _metadata(asset: LightroomAsset) -> dict[str, Any]:
    camera = " ".join(part for part in (asset.camera_make, asset.camera_model) if part)
    return {
        "title": asset.title or "",
        "description": asset.description or "",
        "keywords": list(asset.keywords),
        "camera": camera,
        "lens": asset.lens or "",
        "capture_date": asset.capture_date or "",
        "file_name": asset.file_name or "",
        "width": asset.width,
        "height": asset.height,
    }
