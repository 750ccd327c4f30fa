"""Each function acts only within its own configuration: a publisher for its own target and its
own variants, the processor on originals under raw/; a missing store key reads as absent
under prefix-scoped listing; the local runtime gives each function its own environment; DLQ
reasons and log lines never carry a secret."""

from __future__ import annotations

import io
import json
import threading

import pytest
from botocore.exceptions import ClientError

from socialomega.core import config, consumer
from socialomega.core import logging as solog
from socialomega.core.consumer import PermanentFailure
from socialomega.core.envelope import new_event
from socialomega.core.store import MetadataStore
from socialomega.processor.service import ProcessorService
from socialomega.publishers.claims import Publications
from socialomega.publishers.service import PublishService
from tests.unit.fakes import FakeStore, MemoryBlobs, RecordingSender


def publish_request(target="rest", bucket="so-processed", key="processed/asset-1/v1/rest.jpg"):
    return new_event(
        "PublishRequested",
        "asset-1",
        {
            "target": target,
            "platform": "rest",
            "version": "v1",
            "metadata": {"title": "t"},
            "variant": {"bucket": bucket, "key": key, "width": 1080, "height": 1080},
        },
    )


def scoped_service(calls):
    return PublishService(
        Publications(FakeStore()),
        images=None,
        sender=RecordingSender(),
        event_bus="bus",
        publisher_for=lambda name: calls.append(name) or (_ for _ in ()).throw(KeyError(name)),
        own_target="rest",
        variants_bucket="so-processed",
    )


@pytest.mark.parametrize(
    "event, code",
    [
        (publish_request(target="gallery", key="processed/asset-1/v1/gallery.jpg"), "wrong_target"),
        (publish_request(key="processed/asset-1/v1/gallery.jpg"), "foreign_variant"),
        (publish_request(bucket="so-raw", key="raw/asset-1/v1.jpg"), "foreign_variant"),
        (publish_request(key="processed/asset-1/v2/rest.jpg"), "foreign_variant"),
    ],
)
def test_a_publisher_refuses_other_targets_and_other_objects_before_anything(event, code):
    calls: list[str] = []
    with pytest.raises(PermanentFailure) as exc:
        scoped_service(calls).handle(event)
    assert exc.value.code == code and calls == []


def test_a_publisher_takes_its_own_target_and_variant():
    calls: list[str] = []
    with pytest.raises(PermanentFailure, match="no publisher configured"):  # got as far as the lookup
        scoped_service(calls).handle(publish_request())
    assert calls == ["rest"]


def test_the_processor_reads_originals_only_under_raw():
    class NoBlobs(MemoryBlobs):
        def get(self, key, version_id=None):
            raise AssertionError("must not read")

    service = ProcessorService(
        NoBlobs("so-raw"), MemoryBlobs("so-processed"), FakeStore(), RecordingSender(), "topic", lambda: []
    )
    for bucket, key in (
        ("so-store", "raw/a/v.jpg"),
        ("so-raw", "inbox/a.jpg"),
        ("so-processed", "processed/a/v/x.jpg"),
    ):
        event = new_event(
            "AssetDetected", "a", {"source": "lightroom", "version": "v", "raw": {"bucket": bucket, "key": key}}
        )
        with pytest.raises(PermanentFailure) as exc:
            service.handle(event)
        assert exc.value.code == "foreign_original"


class PrefixScopedS3:
    """S3 as a role with GetObject and a prefix-conditioned ListBucket sees it: a missing key
    is AccessDenied; an explicit listing of the key's own name is allowed."""

    def __init__(self, keys):
        self.keys = set(keys)
        self.listed: list[str] = []

    def get_object(self, Bucket, Key):
        raise ClientError({"Error": {"Code": "AccessDenied"}}, "GetObject")

    def list_objects_v2(self, Bucket, Prefix, MaxKeys):
        self.listed.append(Prefix)
        return {"Contents": [{"Key": k} for k in sorted(self.keys) if k.startswith(Prefix)][:MaxKeys]}


def test_a_missing_key_under_prefix_scoped_listing_reads_as_absent():
    s3 = PrefixScopedS3({"publications/a/v/rest.json.bak"})
    assert MetadataStore(s3, "b").get("publications/a/v/rest.json") is None
    assert s3.listed == ["publications/a/v/rest.json"]


def test_a_denied_key_that_exists_is_still_an_error():
    with pytest.raises(ClientError):
        MetadataStore(PrefixScopedS3({"quotas/rest.json"}), "b").get("quotas/rest.json")


def test_each_locally_run_function_sees_its_own_environment(monkeypatch):
    monkeypatch.setenv("SO_SHARED", "1")
    seen: dict[str, str | None] = {}

    def function(name):
        with config.function_environment({"SO_PUBLISHER_TARGET": name}):
            threading.Event().wait(0.01)
            seen[name] = config.environ().get("SO_PUBLISHER_TARGET")
            assert config.environ()["SO_SHARED"] == "1"

    threads = [threading.Thread(target=function, args=(name,)) for name in ("rest", "gallery", "x")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == {"rest": "rest", "gallery": "gallery", "x": "x"}
    assert "SO_PUBLISHER_TARGET" not in config.environ()


def test_a_dead_letter_reason_is_redacted():
    sent = []

    class Sqs:
        def send_message(self, **kwargs):
            sent.append(kwargs)

    records = consumer.QueueRecords(Sqs())
    records._known["arn:aws:sqs:r:1:q"] = consumer.Redrive("dlq-url", 5)
    record = {"messageId": "1", "body": "{}", "eventSourceARN": "arn:aws:sqs:r:1:q"}
    records.dead_letter(
        record,
        'HTTP 400 {"access_token": "tok-123456", "client_secret": "cs-987654"} '
        "Authorization: Token abcdef123 url?api_key=k-555555",
        "x",
        "publisher",
    )
    reason = sent[0]["MessageAttributes"]["so_failure_reason"]["StringValue"]
    for secret in ("tok-123456", "cs-987654", "abcdef123", "k-555555"):
        assert secret not in reason


@pytest.mark.parametrize(
    "text, secret",
    [
        ("client_secret=s3cr3t-value&grant_type=refresh_token", "s3cr3t-value"),
        ("password=hunter2hunter2", "hunter2hunter2"),
        ('{"access_token": "at-value-1", "expires_in": 3600}', "at-value-1"),
        ("{'X-Api-Key': 'key-value-2', 'Accept': 'json'}", "key-value-2"),
        ("X-Api-Key: key-value-3", "key-value-3"),
        ("Authorization: Token tok-value-4", "tok-value-4"),
        ("'Authorization': 'OAuth oauth-value-5'", "oauth-value-5"),
        ("sent Bearer bearer-value-6 to host", "bearer-value-6"),
    ],
)
def test_the_redactor_masks_every_spelling_of_a_credential(text, secret):
    stream = io.StringIO()
    solog.configure(stream=stream)
    solog.get_logger().info("something", note=text)
    assert secret not in stream.getvalue() and secret not in solog.redact(text)


def test_a_loaded_secret_value_is_masked_wherever_it_appears():
    solog.register_secret_values({"webhook_key": "wh-unusual-format-77", "short": "abc"})
    assert solog.redact("signature of wh-unusual-format-77 failed") == "signature of [REDACTED] failed"
    assert solog.redact("abc stays") == "abc stays"  # too short to mask without masking words
    line = json.dumps({"x": solog.redact("the secret wh-unusual-format-77")})
    assert "wh-unusual" not in line
