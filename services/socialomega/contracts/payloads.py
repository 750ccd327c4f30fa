"""What each event's payload must hold, checked when a message is parsed (core/envelope.py).

A payload that does not fit is a permanent failure with the validation error as its reason:
retrying a malformed message five times cannot help. The models name the fields and types
the consumers rely on; other fields pass through (`extra="allow"`) until every producer and
consumer works on these models directly.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

# Bounds on what arrives from outside (Lightroom metadata, inbox sidecars) and travels in every
# message: far above any platform's caption limit, far below SQS's 256 KB message size.
MAX_TEXT = 64 * 1024
MAX_KEYWORDS = 500
MAX_KEYWORD = 256
MAX_ID = 1024


class _Payload(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)


class PhotoMetadata(_Payload):
    title: str | None = Field(None, max_length=MAX_TEXT)
    description: str | None = Field(None, max_length=MAX_TEXT)
    keywords: list[str] = Field(default_factory=list, max_length=MAX_KEYWORDS)
    capture_date: str | None = Field(None, max_length=64)


class ObjectRef(_Payload):
    bucket: str = Field(min_length=1, max_length=63)
    key: str = Field(min_length=1, max_length=MAX_ID)
    version_id: str | None = Field(None, max_length=MAX_ID)


class AssetDetected(_Payload):
    source: str = Field(max_length=64)
    version: str = Field(min_length=1, max_length=MAX_ID)
    raw: ObjectRef
    metadata: PhotoMetadata = Field(default_factory=PhotoMetadata)
    detected_at: str | None = None


class Variant(ObjectRef):
    width: int = Field(ge=1, le=100_000)
    height: int = Field(ge=1, le=100_000)
    content_type: str = "image/jpeg"


class PublishRequested(_Payload):
    target: str = Field(pattern=r"^[a-z0-9-]{1,40}$")
    platform: str = Field(max_length=32)
    version: str = Field(min_length=1, max_length=MAX_ID)
    variant: Variant
    metadata: PhotoMetadata = Field(default_factory=PhotoMetadata)


class PublishSucceeded(_Payload):
    target: str = Field(max_length=64)
    platform: str | None = Field(None, max_length=32)
    version: str | None = Field(None, max_length=MAX_ID)
    remote_id: str | None = Field(None, max_length=MAX_ID)
    attempts: int | None = None


class PublishFailed(_Payload):
    target: str = Field(max_length=64)
    platform: str | None = Field(None, max_length=32)
    version: str | None = Field(None, max_length=MAX_ID)
    status: str = Field("failed", max_length=32)
    error: dict[str, Any] | None = None
    attempts: int | None = None


class EngagementReceived(_Payload):
    platform: str = Field(max_length=32)
    target: str = Field(max_length=64)
    remote_id: str = Field(min_length=1, max_length=MAX_ID)
    kind: str = Field(pattern=r"^(like|comment|share)$")
    # One notification is one action taken or taken back: nothing else is counted.
    delta: int = Field(ge=-1, le=1)


MODELS: dict[str, type[_Payload]] = {
    "AssetDetected": AssetDetected,
    "PublishRequested": PublishRequested,
    "PublishSucceeded": PublishSucceeded,
    "PublishFailed": PublishFailed,
    "EngagementReceived": EngagementReceived,
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

    cleaned = clean(metadata)
    for name in ("title", "description", "capture_date"):
        if cleaned.get(name) is not None and not isinstance(cleaned[name], str):
            cleaned[name] = clean_text(cleaned[name])
    keywords = cleaned.get("keywords")
    cleaned["keywords"] = [clean_text(k, MAX_KEYWORD) for k in keywords[:MAX_KEYWORDS]] \
        if isinstance(keywords, list) else []
    return cleaned
