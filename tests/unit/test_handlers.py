"""The Lambda handlers over their services, with every adapter a fake: each handler parses its
event, calls the service its bootstrap built and maps the result to Lambda's answer. And the
processor's service on its failure paths."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image

from socialomega.analytics import handler as analytics_handler
from socialomega.analytics.aggregate import Aggregator
from socialomega.core.consumer import PermanentFailure
from socialomega.core.envelope import new_event
from socialomega.core.store import asset_key, status_key
from socialomega.core.targets import Target
from socialomega.poller import bootstrap as poller_bootstrap
from socialomega.poller import handler as poller_handler
from socialomega.poller.poll import Poller, SourceFailed
from socialomega.poller.sources import S3InboxSource
from socialomega.processor import handler as processor_handler
from socialomega.processor.service import ProcessorService
from tests.unit.fakes import FakeStore, MemoryBlobs, RecordedQueue, RecordingSender


def jpeg(width: int = 1200, height: int = 800) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (90, 120, 150)).save(out, "JPEG", quality=85)
    return out.getvalue()


def sqs_event(*envelopes, eventbridge: bool = False) -> dict:
    records = []
    for n, envelope in enumerate(envelopes):
        body = envelope.to_json() if not isinstance(envelope, str) else envelope
        if eventbridge and not isinstance(envelope, str):
            body = json.dumps(
                {"detail-type": envelope.type, "source": "socialomega.publisher", "detail": json.loads(body)}
            )
        records.append(
            {
                "messageId": f"m-{n}",
                "receiptHandle": "rh",
                "body": body,
                "eventSourceARN": "arn:aws:sqs:r:1:q",
                "attributes": {"ApproximateReceiveCount": "1"},
            }
        )
    return {"Records": records}


def detected(key: str = "raw/a1/v1.jpg", asset: str = "a1"):
    return new_event(
        "AssetDetected",
        asset,
        {"source": "inbox", "version": "v1", "metadata": {"title": "Dune"}, "raw": {"bucket": "so-raw", "key": key}},
    )


@pytest.fixture
def processor(monkeypatch):
    raw, variants = (
        MemoryBlobs("so-raw", {"raw/a1/v1.jpg": jpeg(), "raw/bad/v1.jpg": b"\xff\xd8 not a jpeg"}),
        MemoryBlobs("so-processed"),
    )
    store, sender, queue = FakeStore(), RecordingSender(), RecordedQueue()
    targets = [Target(name="rest", platform="rest"), Target(name="tiny", platform="rest", spec={"max_width": 64})]
    service = ProcessorService(raw, variants, store, sender, "topic", lambda: targets)
    monkeypatch.setattr(processor_handler, "_built", lambda: (service, queue))
    return {"variants": variants, "store": store, "sender": sender, "queue": queue}


def test_the_processor_handler_makes_a_variant_per_target_and_acknowledges(processor):
    answer = processor_handler.handler(sqs_event(detected()), None)
    assert answer == {"batchItemFailures": []}
    assert sorted(key for key in processor["variants"].objects) == [
        "processed/a1/v1/rest.jpg",
        "processed/a1/v1/tiny.jpg",
    ]
    assert sorted(platform for _, _, platform in processor["sender"].topic) == ["rest", "tiny"]
    version = processor["store"].get(asset_key("a1")).data["versions"]["v1"]
    assert version["processing"]["status"] == "processed" and set(version["variants"]) == {"rest", "tiny"}


def test_the_processor_handler_dead_letters_a_corrupt_image_with_the_reason(processor):
    answer = processor_handler.handler(sqs_event(detected("raw/bad/v1.jpg", "bad"), detected()), None)
    assert answer == {"batchItemFailures": []}
    [(message, reason, code)] = processor["queue"].dead
    assert (message, code) == ("m-0", "image_rejected") and "image rejected" in reason
    assert processor["store"].get(asset_key("bad")).data["versions"]["v1"]["processing"]["status"] == "rejected"
    assert len(processor["sender"].topic) == 2  # the good photo in the same batch still went on


def test_the_processor_refuses_a_broken_spec_configuration():
    service = ProcessorService(
        MemoryBlobs("so-raw", {"raw/a1/v1.jpg": jpeg()}),
        MemoryBlobs("so-processed"),
        FakeStore(),
        RecordingSender(),
        "topic",
        lambda: [Target(name="rest", platform="rest", spec={"max_width": "wide"})],
    )
    with pytest.raises(PermanentFailure) as exc:
        service.handle(detected())
    assert exc.value.code == "config"


def test_a_photo_too_small_for_one_target_still_goes_to_the_others():
    targets = [
        Target(name="rest", platform="rest"),
        Target(name="big", platform="rest", spec={"min_width": 3000, "max_width": 4000}),
    ]
    sender = RecordingSender()
    store = FakeStore()
    ProcessorService(
        MemoryBlobs("so-raw", {"raw/a1/v1.jpg": jpeg()}),
        MemoryBlobs("so-processed"),
        store,
        sender,
        "topic",
        lambda: targets,
    ).handle(detected())
    assert [platform for _, _, platform in sender.topic] == ["rest"]
    failures = store.get(asset_key("a1")).data["versions"]["v1"]["processing"]["failures"]
    assert set(failures) == {"big"}


def test_the_analytics_handler_applies_each_event_once(monkeypatch):
    store, queue = FakeStore(), RecordedQueue()
    monkeypatch.setattr(analytics_handler, "_built", lambda: (Aggregator(store), queue))
    event = new_event(
        "PublishSucceeded",
        "a1",
        {"target": "rest", "platform": "rest", "version": "v1", "remote_id": "p-1", "attempts": 1},
    )
    assert analytics_handler.handler(sqs_event(event, event, eventbridge=True), None) == {"batchItemFailures": []}
    assert store.get(status_key("a1")).data["targets"]["rest"]["remote_id"] == "p-1"
    assert len(store.get(status_key("a1")).data["applied"]) == 1 and queue.dead == []


def test_the_poller_handler_polls_every_source_and_fails_when_one_fails_as_a_whole(monkeypatch):
    raw = MemoryBlobs(
        "so-raw", {"inbox/dune.jpg": jpeg(), "inbox/dune.json": b'{"title": "Dune", "keywords": ["sand"]}'}
    )
    sender = RecordingSender()
    poller = Poller(FakeStore(), raw, sender, "images")

    class Down:
        name = "lightroom"

        def candidates(self, cursor):
            raise PermissionError("Adobe IMS refused the refresh token")

        def next_cursor(self):
            return {}

    class NoTokens:
        tokens = None

    monkeypatch.setattr(
        poller_bootstrap, "build", lambda: poller_bootstrap.PollerApp(poller, NoTokens(), [Down(), S3InboxSource(raw)])
    )
    with pytest.raises(SourceFailed, match="source:lightroom: PermissionError") as exc:
        poller_handler.handler({}, None)
    assert len(exc.value.result["detected"]) == 1  # the inbox photo went on regardless
    [(_, event)] = sender.queue
    assert event.payload["metadata"]["title"] == "Dune" and event.payload["metadata"]["keywords"] == ["sand"]
    monkeypatch.setattr(
        poller_bootstrap, "build", lambda: poller_bootstrap.PollerApp(poller, NoTokens(), [S3InboxSource(raw)])
    )
    assert poller_handler.handler({}, None) == {"detected": [], "already_seen": 1, "failed": {}}


# --- the composition roots ----------------------------------------------------------------------

SETTINGS = dict(
    env="t",
    raw_bucket="so-raw",
    processed_bucket="so-processed",
    store_bucket="so-store",
    images_queue_url="images",
    publish_topic_arn="topic",
    event_bus="bus",
    config_prefix="/socialomega/t",
    secret_prefix="socialomega/t",
)


class FakeSsm:
    class exceptions:  # noqa: N801 (boto3's shape)
        ParameterNotFound = KeyError

    def __init__(self, values):
        self.values, self.reads = values, []

    def get_parameter(self, Name):
        self.reads.append(Name)
        return {"Parameter": {"Value": json.dumps(self.values[Name])}}


class FakeSecrets:
    class exceptions:  # noqa: N801
        ResourceNotFoundException = KeyError

    def __init__(self, values):
        self.values, self.writes = values, []

    def get_secret_value(self, SecretId):
        return {"SecretString": json.dumps(self.values[SecretId])}

    def put_secret_value(self, SecretId, SecretString):
        self.values[SecretId] = json.loads(SecretString)
        self.writes.append(SecretId)


def test_the_bootstraps_wire_the_settings_buckets_and_clients():
    from socialomega.analytics import bootstrap as analytics_bootstrap
    from socialomega.core import config
    from socialomega.core.aws import Clients
    from socialomega.processor import bootstrap as processor_bootstrap

    config.clear_caches()
    settings = config.Settings(**SETTINGS)
    clients = Clients(s3=object(), sqs=object(), sns=object(), events=object())
    configuration = config.Configuration(
        settings, FakeSsm({"/socialomega/t/targets": [{"name": "rest", "platform": "rest"}]}), None
    )
    service, records = processor_bootstrap.build(settings, clients, configuration)
    assert (service.originals.bucket, service.variants.bucket, service.store.bucket) == (
        "so-raw",
        "so-processed",
        "so-store",
    )
    assert service.originals.s3 is clients.s3 and service.sender.sns is clients.sns and records.sqs is clients.sqs
    assert [t.name for t in service.targets()] == ["rest"]
    aggregator, records = analytics_bootstrap.build(settings, clients)
    assert aggregator.store.bucket == "so-store" and records.sqs is clients.sqs

    ssm = FakeSsm({"/socialomega/t/lightroom": {"base_url": "https://lr.adobe.io", "album": "Publish"}})
    secrets = FakeSecrets({"socialomega/t/lightroom": {"client_id": "key-123456", "access_token": "tok-123456"}})
    app = poller_bootstrap.build(settings, clients, config.Configuration(settings, ssm, secrets))
    assert app.poller.raw.bucket == "so-raw" and app.poller.sender.sqs is clients.sqs
    assert [s.name for s in app.sources] == ["lightroom", "inbox"] and app.lightroom.base_url == "https://lr.adobe.io/"
    config.clear_caches()


def test_configuration_reads_caches_and_writes_back_secrets():
    from socialomega.core import config

    config.clear_caches()
    settings = config.Settings(**SETTINGS)
    secrets = FakeSecrets({"socialomega/t/x": {"access_token": "tok-abcdef"}})
    configuration = config.Configuration(settings, FakeSsm({}), secrets)
    credentials = configuration.credentials("x")
    assert credentials.current() == {"access_token": "tok-abcdef"}
    credentials.replace({"access_token": "tok-rotated"})
    assert credentials.current() == {"access_token": "tok-rotated"} and secrets.writes == ["socialomega/t/x"]
    with pytest.raises(config.ConfigError, match="socialomega/t/missing does not exist"):
        configuration.secret("missing")
    with pytest.raises(config.ConfigError, match="does not exist"):
        configuration.parameter("targets")
    config.clear_caches()


def test_the_publisher_handler_publishes_for_its_own_target_only(monkeypatch):
    from socialomega.core import config
    from socialomega.core.http import Outcome
    from socialomega.publishers import handler as publisher_handler
    from socialomega.publishers.base import PublishResult
    from socialomega.publishers.claims import Publications
    from socialomega.publishers.service import PublishService

    class Platform:
        platform, retry_is_safe = "rest", True

        def publish(self, request, images, progress):
            return PublishResult(Outcome("ok", 201), remote_id="p-9")

    sender, queue = RecordingSender(), RecordedQueue()
    built = []

    def build(target):
        built.append(target)
        return PublishService(
            Publications(FakeStore()),
            None,
            sender,
            "bus",
            lambda name: (Platform(), {}),
            own_target=target,
            variants_bucket="so-processed",
        ), queue

    monkeypatch.setattr(publisher_handler, "_built", build)
    mine = new_event(
        "PublishRequested",
        "a1",
        {
            "target": "rest",
            "platform": "rest",
            "version": "v1",
            "variant": {"bucket": "so-processed", "key": "processed/a1/v1/rest.jpg", "width": 10, "height": 10},
        },
    )
    other = new_event(
        "PublishRequested",
        "a1",
        {
            "target": "x",
            "platform": "x",
            "version": "v1",
            "variant": {"bucket": "so-processed", "key": "processed/a1/v1/x.jpg", "width": 10, "height": 10},
        },
    )
    with config.function_environment({"SO_PUBLISHER_TARGET": "rest"}):
        assert publisher_handler.handler(sqs_event(mine, other), None) == {"batchItemFailures": []}
    assert built == ["rest"] and [e.type for _, e, _ in sender.bus] == ["PublishSucceeded"]
    assert [(m, code) for m, _, code in queue.dead] == [("m-1", "wrong_target")]
    monkeypatch.delenv("SO_PUBLISHER_TARGET", raising=False)
    with pytest.raises(config.ConfigError, match="SO_PUBLISHER_TARGET is not set"):
        publisher_handler.handler(sqs_event(mine), None)


def test_the_publisher_bootstrap_builds_the_target_s_own_publisher():
    from socialomega.core import config
    from socialomega.core.aws import Clients
    from socialomega.publishers import bootstrap as publisher_bootstrap

    config.clear_caches()
    settings = config.Settings(**SETTINGS)
    targets = [
        {
            "name": "rest",
            "platform": "rest",
            "endpoint": {"url": "https://api.example.com/v1/posts", "auth": {"type": "api_key"}},
        },
        {"name": "ig", "platform": "instagram", "ig_user_id": "17841400000000"},
    ]
    configuration = config.Configuration(
        settings,
        FakeSsm({"/socialomega/t/targets": targets}),
        FakeSecrets({"socialomega/t/rest": {"api_key": "key-123456"}}),
    )
    clients = Clients(s3=object(), sqs=object(), sns=object(), events=object())
    service, records = publisher_bootstrap.build("rest", settings, clients, configuration)
    assert service.own_target == "rest" and service.images.variants.bucket == "so-processed"
    publisher, entry = service.publisher_for("rest")
    assert publisher.platform == "rest" and entry["name"] == "rest" and records.sqs is clients.sqs
    # Every platform's model is closed: the entry reaches it exactly as configured (no key added).
    instagram, entry = service.publisher_for("ig")
    assert instagram.platform == "instagram" and entry == targets[1]
    config.clear_caches()
