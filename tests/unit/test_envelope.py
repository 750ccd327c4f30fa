import json
import uuid
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from socialomega.core.envelope import Envelope, InvalidMessage, new_event, parse


def valid() -> dict:
    return new_event("AssetDetected", "a1", {"version": "v1"}).model_dump(mode="json")


def test_round_trip_keeps_every_field():
    event = new_event("PublishRequested", "asset-1", {"target": "rest"}, correlation_id="corr-1")
    back = parse(event.to_json())
    assert back == event
    assert back.schema_version == 1
    assert back.occurred_at.tzinfo is not None
    uuid.UUID(back.event_id)


def test_follow_keeps_correlation_and_asset():
    first = new_event("AssetDetected", "asset-1", {})
    second = first.follow("PublishRequested", {"target": "rest"})
    assert (second.correlation_id, second.asset_id) == (first.correlation_id, first.asset_id)
    assert second.event_id != first.event_id


@pytest.mark.parametrize(
    "body, reason",
    [
        ("not json", "body is not JSON"),
        ("[1, 2]", "not a JSON object"),
        (json.dumps({**valid(), "type": "Bogus"}), "type"),
        (json.dumps({**valid(), "event_id": "nope"}), "event_id"),
        (json.dumps({**valid(), "schema_version": 2}), "unsupported schema_version 2"),
        (json.dumps({**valid(), "occurred_at": "2026-01-01T00:00:00"}), "timezone"),
        (json.dumps({k: v for k, v in valid().items() if k != "correlation_id"}), "correlation_id"),
        (json.dumps({**valid(), "extra": 1}), "extra"),
        (json.dumps({**valid(), "payload": []}), "payload"),
    ],
)
def test_invalid_messages_are_rejected_with_a_reason(body, reason):
    with pytest.raises(InvalidMessage) as err:
        parse(body)
    assert reason in str(err.value)


def test_expected_type_is_enforced():
    with pytest.raises(InvalidMessage, match="unexpected event type 'AssetDetected'"):
        parse(json.dumps(valid()), expect="PublishRequested")
    assert parse(json.dumps(valid()), expect=("PublishRequested", "AssetDetected")).type == "AssetDetected"


def test_occurred_at_is_normalised_to_utc():
    data = {**valid(), "occurred_at": "2026-05-01T12:00:00+02:00"}
    assert parse(data).occurred_at == datetime(2026, 5, 1, 10, 0, tzinfo=UTC)


def test_envelope_is_immutable():
    event = Envelope(type="AssetDetected", correlation_id="c", asset_id="a")
    with pytest.raises(ValidationError):
        event.asset_id = "b"  # type: ignore[misc]
