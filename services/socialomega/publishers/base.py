"""What every publisher receives and returns, independent of the platform.

A publish is a sequence of steps (upload, container, status, final post). Each step's
result is saved in the publication record through `Progress` before the next step, so a
redelivered message resumes from the step reached instead of starting over. Before the
final, non-idempotent call a publisher calls `progress.mark_final(...)` with what it is
about to post; if that call's outcome is never learned (timeout, crash), the next delivery
asks the publisher's `find_post` whether the post exists before anything is sent again.

After publishing, an `Editor` (every platform publisher) changes or removes the post: what its
platform allows is its `edits` (`EditSupport`), and it answers what it does not allow with
`EDIT_NOT_SUPPORTED` instead of calling the platform. Per platform (sources in each publisher's
`EDITS`): Facebook Pages edit text and delete; LinkedIn edits text and deletes; Instagram and X
delete only; no platform replaces an image in place; the generic REST target deletes when its
`endpoint.delete_url` is set.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

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
    earlier_versions: tuple[str, ...] = ()  # the photo's versions seen before, newest first

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
            earlier_versions=tuple(payload.earlier_versions),
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


# --- edits and deletes (issue 14: "what an edit means") ---------------------------------------------
# Outcome codes an `Editor` answers besides its platform's own (`meta:100/33`, `linkedin:NOT_FOUND`, ...):
EDIT_NOT_SUPPORTED = "edit_not_supported"  # permanent: its `edits` says no; nothing was sent
POST_GONE = "post_gone"  # permanent: the platform has no such post (deleted, never there, not visible)
INVALID_REMOTE_ID = "invalid_remote_id"  # permanent: not an id of this platform's posts; nothing was sent


@dataclass(frozen=True)
class EditSupport:
    """What a platform lets an API client change about a post it published, from the platform's
    own documentation (the per-platform table and its sources are in each publisher's `EDITS`)."""

    text: bool = False  # the post's text (caption) can be changed in place
    image: bool = False  # its image can be replaced in place
    delete: bool = False  # it can be deleted
    source: str = ""  # where the platform documents this (URL or doc name), UNCONFIRMED noted


@runtime_checkable
class Editor(Protocol):
    """Optional, beside `Publisher`: a publisher that can change or remove a post it published.
    Every platform publisher is one (`isinstance(publisher, Editor)`); `edit_support` reads what
    any publisher allows.

    Calls go through the publisher's `ApiClient` (the one HTTP policy, bound to the deadline) and
    are safe to repeat: setting the same text twice or deleting a deleted post changes nothing,
    so a timeout is "retryable", never "unknown". Failures are the publisher's classified
    `Outcome`s (auth, throttles, permissions: "permanent" with the platform's code), plus:
    * `EDIT_NOT_SUPPORTED` when called for what `edits` says the platform does not allow
      (only call `update_text` when `edits.text`, `delete_post` when `edits.delete`); nothing
      is raised and nothing is sent;
    * `POST_GONE` when the platform says the post does not exist (deleted on the platform,
      or never there); the platform's own code is in the message;
    * `INVALID_REMOTE_ID` for a `remote_id` that cannot be one of the platform's posts.
    """

    edits: EditSupport

    def post_text(self, request: PublishRequest) -> str:
        """The text `publish` posts for this request: the same caption building (target options
        included), so `update_text(remote_id, request, post_text(request))` makes a published
        post read as this version would have been posted. For a target without one text (the
        generic REST target): its rendered body without the image URL."""
        ...

    def update_text(self, remote_id: str, request: PublishRequest, text: str) -> PublishResult:
        """Change the text of the published post `remote_id` (the `remote_id` of its
        PublishResult) to `text`, in place; `request` is the version the text belongs to. Ok:
        the result carries the post's id and URL after the edit (unchanged on every platform
        that edits in place)."""
        ...

    def delete_post(self, remote_id: str) -> Outcome:
        """Delete the published post `remote_id`. Ok: it is gone. `POST_GONE`: it was already
        gone (deleted earlier, on the platform or by us), which is what an unpublish wants
        too. LinkedIn answers a repeated delete ok (its deletes are idempotent)."""
        ...


NO_EDITS = EditSupport(source="the publisher implements no edits")


def edit_support(publisher: object) -> EditSupport:
    """What `publisher` lets be changed: its `edits` if it is an `Editor`, else nothing."""
    return publisher.edits if isinstance(publisher, Editor) else NO_EDITS


def not_supported(what: str, edits: EditSupport) -> Outcome:
    """The answer of an `Editor` asked for `what` its platform does not allow (nothing sent)."""
    reason = f"{what} is not supported on this platform"
    return Outcome("permanent", code=EDIT_NOT_SUPPORTED, message=f"{reason} ({edits.source})"[:300])


def invalid_remote_id(remote_id: str, expected: str) -> Outcome:
    return Outcome("permanent", code=INVALID_REMOTE_ID, message=f"{remote_id[:80]!r} is not {expected}")


def gone(outcome: Outcome) -> Outcome:
    """A platform's "no such post" answer as `POST_GONE`, its own code kept in the message."""
    return Outcome("permanent", outcome.status, POST_GONE, f"{outcome.code}: {outcome.message}"[:300])
