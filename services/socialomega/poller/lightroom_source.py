"""The Lightroom intake: photos in the configured album and/or with the configured keyword.

Selection lives in SSM (`/socialomega/<env>/lightroom`): `{"album": "Publish",
"keyword": "publish", "rendition": "2048"}`; either or both may be set. The cursor keeps
the newest `updated` timestamp seen, so keyword-only polling asks Lightroom only for
assets changed since the last complete pass (`updated_since`).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

from socialomega.core.config import ConfigError
from socialomega.poller.lightroom import LightroomAsset, LightroomClient
from socialomega.poller.sources import SourcePhoto


class LightroomSource:
    name = "lightroom"

    def __init__(self, client: LightroomClient, selection: dict[str, Any]) -> None:
        self.client = client
        self.album = selection.get("album") or None
        self.keyword = (selection.get("keyword") or "").strip().lower() or None
        self.rendition = str(selection.get("rendition") or "2048")
        if not self.album and not self.keyword:
            raise ConfigError("lightroom selection needs an album and/or a keyword")
        self._newest: str | None = None

    def candidates(self, cursor: dict[str, Any]) -> Iterator[SourcePhoto]:
        self._newest = cursor.get("updated_since")
        if self.album:
            assets = self.client.album_assets(self._album_id(self.album))
        else:
            assets = self.client.assets(updated_since=cursor.get("updated_since"))
        for asset in assets:
            if self.keyword and self.keyword not in {k.lower() for k in asset.keywords}:
                continue
            if self._newest is None or asset.version > self._newest:
                self._newest = asset.version
            yield SourcePhoto(
                source=self.name,
                asset_id=asset.id,
                version=asset.version,
                metadata=_metadata(asset),
                fetch=functools.partial(self.client.rendition, asset.id, self.rendition),
            )

    def next_cursor(self) -> dict[str, Any]:
        return {"updated_since": self._newest} if self._newest else {}

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
