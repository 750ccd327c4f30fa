"""The payload of every event type: one model each, the only definition of what travels.

Producers build these models; `core.consumer.process_batch` checks each message's payload
against the model of its type and hands the handler the typed payload. A payload that does
not fit is a permanent failure at once, with the validation error as the reason (retrying a
malformed message cannot help). Top-level fields are closed (`extra="forbid"`): a field a
producer renames fails loudly at its consumer instead of being read as None. Photo metadata
is open: it comes from Lightroom and inbox sidecars, and only the fields named here are read.

JSON Schemas (`services/schemas/`) and the event section of `services/CONTRACTS.md` are
generated from these models: `python -m socialomega.contracts` (a unit test fails when either
is stale).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

# Bounds on what arrives from outside (Lightroom metadata, inbox sidecars) and travels in every
# message: far above any platform's caption limit, far below SQS's 256 KB message size.
MAX_TEXT = 64 * 1024
MAX_KEYWORDS = 500
MAX_KEYWORD = 256
MAX_ID = 1024


class Payload(BaseModel):
    """An event payload: closed, strictly typed, immutable."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class PhotoMetadata(BaseModel):
    """What a source knows about the photo (open: sources add fields; these are the read ones)."""

    model_config = ConfigDict(extra="allow", strict=True, frozen=True)
    title: str | None = Field(None, max_length=MAX_TEXT, description="Lightroom dc:title or the sidecar's title")
    description: str | None = Field(None, max_length=MAX_TEXT, description="the caption text")
    keywords: list[str] = Field(default_factory=list, max_length=MAX_KEYWORDS, description="keywords, in order")
    capture_date: str | None = Field(None, max_length=64, description="when the photo was taken (ISO 8601)")
    camera: str | None = Field(None, max_length=MAX_KEYWORD, description="camera make and model")
    lens: str | None = Field(None, max_length=MAX_KEYWORD)
    file_name: str | None = Field(None, max_length=MAX_ID)
    detected_at: str | None = Field(None, description="when the poller saw this version (set on PublishRequested)")


class ObjectRef(Payload):
    bucket: str = Field(min_length=1, max_length=63)
    key: str = Field(min_length=1, max_length=MAX_ID)
    version_id: str | None = Field(None, max_length=MAX_ID, description="the S3 object version")


class RawRendition(ObjectRef):
    bytes: int | None = Field(None, ge=0)


class Variant(ObjectRef):
    width: int = Field(ge=1, le=100_000)
    height: int = Field(ge=1, le=100_000)
    bytes: int | None = Field(None, ge=0)
    content_type: str = "image/jpeg"


class PublishError(Payload):
    code: str = Field(max_length=256, description="the platform's code, e.g. meta:190, x:usage-capped, 429")
    message: str = Field("", max_length=MAX_TEXT, description="the reason, redacted")
    http_status: int | None = None


class AssetDetected(Payload):
    """poller -> processor (SQS images): a new photo or a new version of one."""

    source: str = Field(max_length=64, description="the intake: lightroom or inbox")
    version: str = Field(min_length=1, max_length=MAX_ID, description="changes with every edit")
    raw: RawRendition = Field(description="the stored rendition, under raw/ of the raw bucket")
    metadata: PhotoMetadata = Field(default_factory=PhotoMetadata)
    detected_at: str | None = Field(None, description="UTC ISO-8601")


class PublishRequested(Payload):
    """processor -> the target's publisher (SNS, filtered by target, then SQS)."""

    target: str = Field(pattern=r"^[a-z0-9-]{1,40}$")
    platform: str = Field(max_length=32)
    version: str = Field(min_length=1, max_length=MAX_ID)
    variant: Variant = Field(description="the target's own variant, under processed/ of the variants bucket")
    metadata: PhotoMetadata = Field(default_factory=PhotoMetadata)
    earlier_versions: list[Annotated[str, Field(min_length=1, max_length=MAX_ID)]] = Field(
        default_factory=list,
        max_length=20,
        description="the photo's versions seen before this one, newest first (the target's on_edit decides)",
    )


class PublishSucceeded(Payload):
    """publisher -> analytics (EventBridge, source socialomega.publisher)."""

    target: str = Field(max_length=64)
    platform: str | None = Field(None, max_length=32)
    version: str | None = Field(None, max_length=MAX_ID)
    remote_id: str | None = Field(None, max_length=MAX_ID, description="the platform's id of the post")
    remote_url: str | None = Field(None, max_length=MAX_ID, description="its permalink")
    published_at: str | None = None
    detected_at: str | None = None
    attempts: int | None = Field(None, ge=0)
    reconciled: bool = Field(False, description="found by a lookup after an unknown outcome")


class PublishFailed(Payload):
    """publisher -> analytics (EventBridge, source socialomega.publisher)."""

    target: str = Field(max_length=64)
    platform: str | None = Field(None, max_length=32)
    version: str | None = Field(None, max_length=MAX_ID)
    status: Literal["failed", "unconfirmed"] = Field("failed", description="unconfirmed: posted or not, unknown")
    error: PublishError | None = None
    failed_at: str | None = None
    detected_at: str | None = None
    attempts: int | None = Field(None, ge=0)


class EngagementReceived(Payload):
    """webhook handler -> analytics (EventBridge, source socialomega.webhooks). The event id is
    derived from the platform's notification: a retried notification is the same event."""

    platform: str = Field(max_length=32)
    target: str = Field(max_length=64)
    version: str | None = Field(None, max_length=MAX_ID)
    remote_id: str = Field(min_length=1, max_length=MAX_ID, description="the post, as its publisher recorded it")
    kind: Literal["like", "comment", "share"]
    # One notification is one action taken or taken back: nothing else is counted.
    delta: int = Field(ge=-1, le=1, description="+1, or -1 when taken back")
    engagement_key: str | None = Field(
        None, max_length=MAX_ID, description="the platform's identity of the notification"
    )
    engaged_at: str | None = None

    @field_validator("delta")
    @classmethod
    def _one_action(cls, value: int) -> int:
        if value == 0:
            raise ValueError("delta must be +1 or -1")
        return value


class BreakerOpened(Payload):
    """publisher -> bus (source socialomega.publisher): a target's circuit breaker opened after
    `failures` consecutive retryable failures; its messages wait without calling the platform.
    The envelope's asset_id is `target:<name>`, its correlation id follows this one opening."""

    target: str = Field(max_length=64)
    platform: str | None = Field(None, max_length=32)
    failures: int = Field(ge=1)
    reason: str = Field("", max_length=1000, description="the last failure, redacted")
    opened_at: str
    cooldown_seconds: float = Field(ge=0)


class BreakerClosed(Payload):
    """publisher -> bus (source socialomega.publisher): a probe succeeded and the target's breaker
    closed again; `open_seconds` is how long it was open."""

    target: str = Field(max_length=64)
    platform: str | None = Field(None, max_length=32)
    closed_at: str
    open_seconds: float | None = Field(None, ge=0)


MODELS: dict[str, type[Payload]] = {
    "AssetDetected": AssetDetected,
    "PublishRequested": PublishRequested,
    "PublishSucceeded": PublishSucceeded,
    "PublishFailed": PublishFailed,
    "EngagementReceived": EngagementReceived,
    "BreakerOpened": BreakerOpened,
    "BreakerClosed": BreakerClosed,
}

_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


def clean_text(value: Any, limit: int = MAX_TEXT) -> str:
    """Text from outside, fit to travel: lone surrogates (which no JSON encoder will write as
    UTF-8) become U+FFFD, and the length is capped."""
    return _LONE_SURROGATE.sub("\ufffd", str(value))[:limit]


def clean_metadata(metadata: dict[str, Any]) -> dict[str, Any]:
    """Photo metadata from Lightroom or an inbox sidecar, made to fit `PhotoMetadata`: texts
    cleaned and capped, at most MAX_KEYWORDS keywords of at most MAX_KEYWORD characters. A photo
    is never failed for its metadata; the caps are far above what any platform shows."""

    def clean(value: Any, limit: int = MAX_TEXT) -> Any:
        if isinstance(value, str):
            return clean_text(value, limit)
        if isinstance(value, dict):
            return {clean_text(k, MAX_KEYWORD): clean(v) for k, v in value.items()}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value

    cleaned: dict[str, Any] = clean(metadata)
    for name, limit in (
        ("title", MAX_TEXT),
        ("description", MAX_TEXT),
        ("capture_date", 64),
        ("camera", MAX_KEYWORD),
        ("lens", MAX_KEYWORD),
        ("file_name", MAX_ID),
    ):
        if cleaned.get(name) is not None and not isinstance(cleaned[name], str):
            cleaned[name] = clean_text(cleaned[name])
        if isinstance(cleaned.get(name), str):
            cleaned[name] = cleaned[name][:limit]
    keywords = cleaned.get("keywords")
    cleaned["keywords"] = (
        [clean_text(k, MAX_KEYWORD) for k in keywords[:MAX_KEYWORDS]] if isinstance(keywords, list) else []
    )
    return cleaned
