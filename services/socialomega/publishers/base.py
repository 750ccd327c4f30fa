"""What every publisher receives and returns, independent of the platform."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from socialomega.core.http import Outcome


@dataclass(frozen=True)
class PublishRequest:
    asset_id: str
    version: str
    target: str
    platform: str
    correlation_id: str
    image_bucket: str
    image_key: str
    image_version_id: str | None
    width: int
    height: int
    content_type: str
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def idempotency_key(self) -> str:
        """Same for every delivery of the same (asset, version, target)."""
        return f"socialomega:{self.asset_id}:{self.version}:{self.target}"

    @classmethod
    def from_payload(cls, asset_id: str, correlation_id: str, payload: dict[str, Any]) -> PublishRequest:
        variant = payload["variant"]
        return cls(
            asset_id=asset_id,
            version=str(payload["version"]),
            target=payload["target"],
            platform=payload["platform"],
            correlation_id=correlation_id,
            image_bucket=variant["bucket"],
            image_key=variant["key"],
            image_version_id=variant.get("version_id"),
            width=int(variant["width"]),
            height=int(variant["height"]),
            content_type=variant.get("content_type", "image/jpeg"),
            metadata=payload.get("metadata") or {},
        )


@dataclass(frozen=True)
class PublishResult:
    """`outcome.ok` with `remote_id`, or the classified failure."""

    outcome: Outcome
    remote_id: str | None = None
    remote_url: str | None = None


class ImageAccess(Protocol):
    def url(self, request: PublishRequest, expires_seconds: int) -> str: ...

    def read(self, request: PublishRequest) -> bytes: ...


class Publisher(Protocol):
    platform: str

    def publish(self, request: PublishRequest, images: ImageAccess) -> PublishResult: ...
