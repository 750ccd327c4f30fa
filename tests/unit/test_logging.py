import io
import json

from socialomega.core import logging as solog
from socialomega.core.envelope import new_event


def capture(**fields) -> dict:
    stream = io.StringIO()
    solog.configure(stream=stream)
    solog.get_logger().info("something", **fields)
    return json.loads(stream.getvalue().splitlines()[-1])


def test_secret_keys_and_values_never_reach_the_log():
    line = capture(
        access_token="abc123",
        headers={"Authorization": "Bearer abc123", "Accept": "json"},
        url="https://host/x?access_token=abc123&x=1",
        note="sent Bearer abc123 to host",
        client_secret="s3cr3t",
    )
    text = json.dumps(line)
    assert "abc123" not in text and "s3cr3t" not in text
    assert line["headers"]["Accept"] == "json"
    assert line["url"] == "https://host/x?access_token=[REDACTED]&x=1"


def test_bound_event_fields_are_on_every_line():
    stream = io.StringIO()
    solog.configure(stream=stream)
    event = new_event("AssetDetected", "asset-9", {}, correlation_id="corr-9")
    solog.bind_event(event, "processor")
    try:
        solog.get_logger().info("one")
        solog.get_logger().warning("two")
    finally:
        solog.clear()
    lines = [json.loads(x) for x in stream.getvalue().splitlines()]
    assert [(x["correlation_id"], x["asset_id"], x["event_type"], x["service"]) for x in lines] == [
        ("corr-9", "asset-9", "AssetDetected", "processor")
    ] * 2
