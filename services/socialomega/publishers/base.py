"""What every publisher receives and returns, independent of the platform.

A publish is a sequence of steps (upload, container, status, final post). Each step's
result is saved in the publication record through `Progress` before the next step, so a
redelivered message resumes from the step reached instead of starting over. Before the
final, non-idempotent call a publisher calls `progress.mark_final(...)` with what it is
about to post; if that call's outcome is never learned (timeout, crash), the next delivery
asks the publisher's `find_post` whether the post exists before anything is sent again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from socialomega.contracts.payloads import PublishRequested
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
    def from_payload(cls, asset_id: str, correlation_id: str, payload: PublishRequested) -> PublishRequest:
        variant = payload.variant
        return cls(
            asset_id=asset_id,
            version=payload.version,
            target=payload.target,
            platform=payload.platform,
            correlation_id=correlation_id,
            image_bucket=variant.bucket,
            image_key=variant.key,
            image_version_id=variant.version_id,
            width=variant.width,
            height=variant.height,
            content_type=variant.content_type,
            metadata=payload.metadata.model_dump(mode="json", exclude_none=True),
        )


@dataclass(frozen=True)
class PublishResult:
    """`outcome.ok` with `remote_id`, or the classified failure."""

    outcome: Outcome
    remote_id: str | None = None
    remote_url: str | None = None


@dataclass(frozen=True)
class Lookup:
    """What `find_post` learned about a post whose final call had an unknown outcome."""

    state: str  # "found" | "absent" | "undecided" | "unavailable" (ask again later)
    remote_id: str | None = None
    remote_url: str | None = None
    reason: str = ""
    retry_after: float | None = None

    @classmethod
    def found(cls, remote_id: str, remote_url: str | None = None) -> Lookup:
        return cls("found", remote_id, remote_url)

    @classmethod
    def absent(cls, reason: str = "") -> Lookup:
        return cls("absent", reason=reason)

    @classmethod
    def undecided(cls, reason: str) -> Lookup:
        return cls("undecided", reason=reason)

    @classmethod
    def failed(cls, what: str, outcome: Outcome) -> Lookup:
        """The lookup call itself failed: a transient failure means "ask again later" (the
        publication must not be settled on a 500 from the listing); anything else cannot decide."""
        reason = f"{what}: {outcome.code} {outcome.message}".strip()
        if outcome.kind in ("retryable", "unknown", "deferred"):
            return cls("unavailable", reason=reason, retry_after=outcome.retry_after)
        return cls.undecided(reason)


class Progress(Protocol):
    """Durable per-publication step results (saved in the publication record)."""

    def get(self, step: str, default: Any = None) -> Any: ...

    def save(self, step: str, value: Any) -> None:
        """Persist one step's result now (before the next platform call)."""

    def forget(self, *steps: str) -> None:
        """Drop saved steps (e.g. an expired container) so they are redone."""

    def mark_final(self, marker: dict[str, Any]) -> None:
        """Persist what the final call is about to post (text, media ids, time) before sending it."""

    @property
    def final_marker(self) -> dict[str, Any] | None: ...


class Credentials(Protocol):
    """A target's secret (`socialomega.core.config.Credentials` in AWS, a dict-backed fake in tests)."""

    def current(self, *, fresh: bool = False) -> dict[str, Any]: ...

    def replace(self, value: dict[str, Any]) -> None:
        """Write rotated tokens back (X's refresh tokens are single-use)."""


class ImageAccess(Protocol):
    def url(self, request: PublishRequest, expires_seconds: int) -> str: ...

    def read(self, request: PublishRequest) -> bytes: ...


class Publisher(Protocol):
    platform: str
    # True when repeating the final call cannot create a second post (e.g. an endpoint that
    # honours Idempotency-Key): then an unknown outcome is simply retried.
    retry_is_safe: bool

    def publish(self, request: PublishRequest, images: ImageAccess, progress: Progress) -> PublishResult: ...

    def find_post(self, request: PublishRequest, progress: Progress) -> Lookup:
        """After an unknown final outcome: does the post exist on the platform? Match it by the
        marker saved with `progress.mark_final` (a media id, an image URN, the exact text)."""
        ...
