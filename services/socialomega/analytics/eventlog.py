"""The event log's records: every domain event the bus carried, once, with where it came from.

`events/<type>/<yyyy>/<mm>/<dd>/<event_id>.json` (core/store.event_log_key; the day is the
envelope's UTC `occurred_at`, so a redelivery or a replay lands on the same key) holds:

    {"event": <the envelope>, "source": "socialomega.publisher", "logged_at": ..., "applied": bool}

`applied` turns true only once analytics holds the event in every document it feeds (at once
for the types it only logs): see aggregate.py. `source` is the EventBridge source the event
arrived with, so a replay puts it back on the bus exactly as its producer did.
"""

from __future__ import annotations

import json
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, get_args

from pydantic import ValidationError

from socialomega.core.consumer import unwrap_eventbridge
from socialomega.core.envelope import Envelope, EventType, InvalidMessage, problems

# Every type the envelope allows: all of them are logged, and analytics accepts them all.
LOGGED_TYPES: tuple[EventType, ...] = get_args(EventType)

# Who puts each type on the bus (DESIGN.md section 1, CONTRACTS.md): the source a record falls
# back to when the bus's own `source` was not seen (a direct call, as in tests).
PRODUCERS: dict[str, str] = {
    "AssetDetected": "socialomega.poller",
    "PublishRequested": "socialomega.processor",
    "PublishSucceeded": "socialomega.publisher",
    "PublishFailed": "socialomega.publisher",
    "EngagementReceived": "socialomega.webhooks",
    "BreakerOpened": "socialomega.publisher",
    "BreakerClosed": "socialomega.publisher",
}
SOURCE_PREFIX = "socialomega."

# (event id, source) of the record being handled in this thread: noted by `unwrap_with_source`
# just before core.consumer.process_batch parses the envelope and calls the aggregator.
_received_source: ContextVar[tuple[str, str] | None] = ContextVar("received_source", default=None)


def unwrap_with_source(record: dict[str, Any]) -> Any:
    """EventBridge's `detail` (as core.consumer.unwrap_eventbridge), noting the wrapper's
    `source` for the event log record of this event."""
    detail = unwrap_eventbridge(record)
    source = json.loads(record["body"]).get("source")  # a JSON object: unwrap_eventbridge checked
    event_id = detail.get("event_id")
    if isinstance(source, str) and source.startswith(SOURCE_PREFIX) and isinstance(event_id, str):
        _received_source.set((event_id, source))
    else:
        _received_source.set(None)
    return detail


def source_of(event: Envelope, given: str | None = None) -> str:
    """The source `event` arrived with: given, noted by `unwrap_with_source`, or its producer's."""
    if given:
        return given
    noted = _received_source.get()
    if noted is not None and noted[0] == event.event_id:
        return noted[1]
    return PRODUCERS.get(event.type, SOURCE_PREFIX + "unknown")


def new_record(event: Envelope, source: str, *, applied: bool, now: datetime | None = None) -> dict[str, Any]:
    return {
        "event": event.model_dump(mode="json"),
        "source": source,
        "logged_at": (now or datetime.now(UTC)).isoformat(),
        "applied": applied,
    }


def read_record(data: Any) -> tuple[Envelope, str]:
    """The envelope and source of a stored record; InvalidMessage when it is not one."""
    if not isinstance(data, dict) or not isinstance(data.get("event"), dict):
        raise InvalidMessage("not an event log record: no event object")
    try:
        event = Envelope.model_validate(data["event"])
    except ValidationError as exc:
        raise InvalidMessage(f"the logged event is not a valid envelope: {problems(exc)}") from None
    source = data.get("source")
    return event, source if isinstance(source, str) and source else PRODUCERS.get(event.type, "")
