"""The one event envelope carried by every SQS, SNS and EventBridge message.

Messages are validated on the way in: anything that does not parse raises
`InvalidMessage`, which consumers treat as a permanent failure (dead-lettered
with its reason, never silently dropped).
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

SCHEMA_VERSION = 1

EventType = Literal[
    "AssetDetected",
    "PublishRequested",
    "PublishSucceeded",
    "PublishFailed",
    "EngagementReceived",
    "BreakerOpened",
    "BreakerClosed",
]


class InvalidMessage(ValueError):
    """A message body that is not a valid envelope, or whose payload does not fit its event
    type (permanent: never retried)."""

    def __init__(self, reason: str, code: str = "invalid_message") -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


def utc_now() -> datetime:
    return datetime.now(UTC)


class Envelope(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    type: EventType
    schema_version: int = SCHEMA_VERSION
    occurred_at: datetime = Field(default_factory=utc_now)
    correlation_id: str = Field(min_length=1, max_length=128)
    asset_id: str = Field(min_length=1, max_length=256)
    payload: dict[str, Any] = Field(default_factory=dict)

    @field_validator("event_id")
    @classmethod
    def _uuid(cls, value: str) -> str:
        uuid.UUID(value)
        return value

    @field_validator("schema_version")
    @classmethod
    def _known_version(cls, value: int) -> int:
        if value != SCHEMA_VERSION:
            raise ValueError(f"unsupported schema_version {value} (this code reads {SCHEMA_VERSION})")
        return value

    @field_validator("occurred_at")
    @classmethod
    def _aware_utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("occurred_at must carry a timezone (UTC)")
        return value.astimezone(UTC)

    def to_json(self) -> str:
        return self.model_dump_json()

    def follow(self, type: EventType, payload: dict[str, Any] | BaseModel) -> Envelope:
        """A new event caused by this one: same asset and correlation id."""
        return Envelope(
            type=type, correlation_id=self.correlation_id, asset_id=self.asset_id, payload=_dumped(type, payload)
        )


def new_event(
    type: EventType, asset_id: str, payload: dict[str, Any] | BaseModel, correlation_id: str | None = None
) -> Envelope:
    return Envelope(
        type=type,
        asset_id=asset_id,
        payload=_dumped(type, payload),
        correlation_id=correlation_id or str(uuid.uuid4()),
    )


def _dumped(type: EventType, payload: dict[str, Any] | BaseModel) -> dict[str, Any]:
    """A payload model (contracts.payloads) as the JSON object that travels; it must be the
    model of `type`."""
    if isinstance(payload, BaseModel):
        if payload.__class__.__name__ != type:
            raise TypeError(f"a {payload.__class__.__name__} payload cannot travel as {type}")
        return payload.model_dump(mode="json")
    return payload


def parse(body: str | bytes | dict[str, Any], expect: EventType | tuple[EventType, ...] | None = None) -> Envelope:
    """Parse and validate a message body; raise InvalidMessage with a readable reason."""
    try:
        data = json.loads(body) if isinstance(body, str | bytes) else body
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidMessage(f"body is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise InvalidMessage("body is not a JSON object")
    try:
        envelope = Envelope.model_validate(data)
    except ValidationError as exc:
        raise InvalidMessage(f"not a valid envelope: {problems(exc)}") from None
    if expect is not None:
        wanted = (expect,) if isinstance(expect, str) else expect
        if envelope.type not in wanted:
            raise InvalidMessage(f"unexpected event type {envelope.type!r}, expected {', '.join(wanted)}")
    return envelope


def problems(exc: ValidationError) -> str:
    """A validation error on one line; never the offending values (they may be long or private)."""
    return "; ".join(f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}" for err in exc.errors())
