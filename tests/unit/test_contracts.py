"""Event contracts: the generated files are current, and every producer -> consumer pair
round-trips a message the producer really made (serialised as it travels, parsed and checked
by the consumer's `process_batch`, handled by the consumer).

Pairs: poller -> processor (AssetDetected), processor -> publisher (PublishRequested),
publisher -> analytics (PublishSucceeded, PublishFailed), webhooks -> analytics
(EngagementReceived)."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from PIL import Image

from socialomega.analytics.aggregate import Aggregator
from socialomega.analytics.daily import post_engagement
from socialomega.contracts import generate
from socialomega.contracts.payloads import MODELS
from socialomega.core.consumer import process_batch, unwrap_eventbridge
from socialomega.core.envelope import Envelope
from socialomega.core.http import Outcome
from socialomega.core.store import status_key
from socialomega.core.targets import Target
from socialomega.poller.poll import Poller
from socialomega.poller.sources import SourcePhoto
from socialomega.processor.service import ProcessorService
from socialomega.publishers.base import PublishResult
from socialomega.publishers.claims import Publications
from socialomega.publishers.service import PublishService
from socialomega.sandbox import webhooks as platform_side
from socialomega.webhooks.service import WebhookRequest, WebhookService
from socialomega.webhooks.signatures import WebhookKeys
from tests.unit.fakes import FakeStore, MemoryBlobs, RecordedQueue, RecordingSender

# --- generated files ------------------------------------------------------------------------------


def test_the_json_schemas_are_generated_from_the_models():
    for path, content in generate.schema_files().items():
        assert path.exists() and path.read_text() == content, f"{path.name} is stale: python -m socialomega.contracts"
    assert {p.name for p in generate.SCHEMAS.glob("*.schema.json")} == {f"{n}.schema.json" for n in MODELS}


def test_the_contracts_event_section_is_generated_from_the_models():
    current = generate.CONTRACTS.read_text()
    assert generate.contracts_text(current) == current, "CONTRACTS.md is stale: python -m socialomega.contracts"
    for name in MODELS:
        assert f"### {name}" in current


# --- the pipeline's producers and consumers -----------------------------------------------------


def photo_jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (1600, 1200), (120, 90, 60)).save(out, "JPEG", quality=85)
    return out.getvalue()


def consume(body: str, handle, *, expect, service: str, eventbridge: bool = False) -> dict[str, Any]:
    """Hand one message body to a consumer the way its event source mapping does."""
    if eventbridge:
        body = json.dumps(
            {"detail-type": json.loads(body)["type"], "source": "socialomega.test", "detail": json.loads(body)}
        )
    record = {
        "messageId": "m-1",
        "receiptHandle": "rh",
        "body": body,
        "attributes": {"ApproximateReceiveCount": "1"},
        "eventSourceARN": "arn:aws:sqs:eu-west-1:1:q",
    }
    return process_batch(
        {"Records": [record]},
        handle,
        service=service,
        expect=expect,
        records=records,
        **({"unwrap": unwrap_eventbridge} if eventbridge else {}),
    )


records = RecordedQueue()


@pytest.fixture
def no_dead_letters():
    records.dead.clear()
    yield records.dead
    assert records.dead == [], records.dead


@pytest.fixture
def pipeline(no_dead_letters):
    """One photo through poller, processor and publisher, with fakes of AWS and the platform;
    every message passes through its consumer's process_batch as JSON."""
    raw, variants, store, sender = MemoryBlobs("so-raw"), MemoryBlobs("so-processed"), FakeStore(), RecordingSender()
    poller = Poller(store=store, raw=raw, sender=sender, images_queue_url="images")
    photo = SourcePhoto(
        "lightroom",
        "asset-1",
        "2026-12-01T10:00:00Z",
        {
            "title": "Dune \ud800 at dawn",
            "description": "Sand",
            "keywords": ["dune", "dawn"],
            "camera": "X100V",
            "lens": "",
            "capture_date": "2026-11-30T06:12:00",
            "width": 1600,
        },
        fetch=photo_jpeg,
    )
    poller.poll(
        [
            type(
                "One",
                (),
                {"name": "lightroom", "candidates": lambda self, c: iter([photo]), "next_cursor": lambda self: {}},
            )()
        ]
    )
    [(_, detected)] = sender.queue

    processor = ProcessorService(raw, variants, store, sender, "topic", lambda: [Target(name="rest", platform="rest")])
    consume(detected.to_json(), processor.handle, expect="AssetDetected", service="processor")
    [(_, requested, _)] = sender.topic

    published: list[Any] = []

    class Platform:
        platform, retry_is_safe = "rest", True

        def publish(self, request, images, progress):
            published.append(request)
            return PublishResult(Outcome("ok", 201), remote_id="post-77", remote_url="https://example.com/p/77")

    publisher = PublishService(
        Publications(store),
        images=None,
        sender=sender,
        event_bus="bus",
        publisher_for=lambda name: (Platform(), {}),
        own_target="rest",
        variants_bucket="so-processed",
    )
    consume(requested.to_json(), publisher.handle, expect="PublishRequested", service="publisher")
    return {"store": store, "sender": sender, "detected": detected, "requested": requested, "published": published}


def test_poller_to_processor_carries_the_rendition_and_the_cleaned_metadata(pipeline):
    payload = pipeline["detected"].payload
    assert payload["raw"]["key"] == "raw/asset-1/2026-12-01T10_00_00Z.jpg" and payload["source"] == "lightroom"
    assert payload["metadata"]["title"] == "Dune \ufffd at dawn"  # a lone surrogate would fail every poll
    assert pipeline["requested"].payload["variant"]["key"] == "processed/asset-1/2026-12-01T10_00_00Z/rest.jpg"


def test_processor_to_publisher_carries_the_variant_and_metadata_the_platform_needs(pipeline):
    [request] = pipeline["published"]
    variant = pipeline["requested"].payload["variant"]
    assert (request.image_bucket, request.image_key, request.width, request.height) == (
        "so-processed",
        variant["key"],
        variant["width"],
        variant["height"],
    )
    assert max(request.width, request.height) <= 2048
    assert request.metadata["title"] == "Dune \ufffd at dawn" and request.metadata["keywords"] == ["dune", "dawn"]
    assert request.metadata["detected_at"] == pipeline["detected"].payload["detected_at"]


def test_publisher_to_analytics_records_every_field_it_announces(pipeline, no_dead_letters):
    [(_, succeeded, source)] = pipeline["sender"].bus
    assert source == "socialomega.publisher" and succeeded.type == "PublishSucceeded"
    aggregator = Aggregator(pipeline["store"])
    consume(
        succeeded.to_json(),
        aggregator.apply,
        service="analytics",
        eventbridge=True,
        expect=("PublishSucceeded", "PublishFailed", "EngagementReceived"),
    )
    row = pipeline["store"].get(status_key("asset-1")).data["targets"]["rest"]
    # Every field analytics keeps comes from the event: a renamed field would fail the contract,
    # not turn into None here.
    assert row["remote_id"] == "post-77" and row["remote_url"] == "https://example.com/p/77"
    assert row["status"] == "published" and row["attempts"] == 1 and row["platform"] == "rest"
    assert row["seconds_to_publish"] is not None and row["version"] == "2026-12-01T10:00:00Z"


def test_a_publish_failure_reaches_analytics_with_its_reason(no_dead_letters):
    store, sender = FakeStore(), RecordingSender()

    class Refusing:
        platform, retry_is_safe = "rest", True

        def publish(self, request, images, progress):
            return PublishResult(Outcome("permanent", 400, "x:invalid-request", "text too long"))

    from tests.unit.test_publish_service import request_event

    publisher = PublishService(Publications(store), None, sender, "bus", lambda name: (Refusing(), {}))
    consume(request_event().to_json(), publisher.handle, expect="PublishRequested", service="publisher")
    [(_, failed, _)] = sender.bus
    consume(
        failed.to_json(),
        Aggregator(store).apply,
        service="analytics",
        eventbridge=True,
        expect=("PublishSucceeded", "PublishFailed", "EngagementReceived"),
    )
    row = store.get(status_key("asset-1")).data["targets"]["rest"]
    assert row["status"] == "failed" and row["error"] == {
        "code": "x:invalid-request",
        "message": "text too long",
        "http_status": 400,
    }


def test_webhooks_to_analytics_counts_the_engagement(no_dead_letters):
    store, sender = FakeStore(), RecordingSender()
    store.put(
        "posts/x/1870000000000000002.json",
        {
            "platform": "x",
            "remote_id": "1870000000000000002",
            "target": "x-main",
            "asset_id": "asset-1",
            "version": "v1",
            "correlation_id": "corr-1",
            "published_at": "2026-12-01T10:00:05+00:00",
        },
    )
    keys = WebhookKeys.from_secret(platform_side.sandbox_secret())
    service = WebhookService(store, sender, "bus", lambda: keys)
    body = json.dumps(platform_side.notification("x", "like", "1870000000000000002")).encode()
    header, signature = platform_side.signature_header("x", body)
    answer = service.handle(WebhookRequest("POST", "x", {}, {header.lower(): signature}, body))
    assert answer.status == 200
    [(_, engaged, source)] = sender.bus
    assert source == "socialomega.webhooks" and isinstance(engaged, Envelope)
    consume(
        engaged.to_json(),
        Aggregator(store).apply,
        service="analytics",
        eventbridge=True,
        expect=("PublishSucceeded", "PublishFailed", "EngagementReceived"),
    )
    days = [f"{engaged.occurred_at:%Y-%m-%d}"]
    assert post_engagement(store, days) == {("x-main", "1870000000000000002"): {"likes": 1}}


def test_a_renamed_field_is_refused_by_its_consumer_with_the_field_named():
    from socialomega.core.envelope import new_event

    records.dead.clear()
    renamed = new_event("PublishSucceeded", "asset-1", {"target": "rest", "remoteId": "post-1"})
    consume(renamed.to_json(), lambda envelope, payload: None, expect="PublishSucceeded", service="analytics")
    assert records.dead and records.dead[0][2] == "invalid_payload" and "remoteId" in records.dead[0][1]
