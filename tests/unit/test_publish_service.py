"""The reserve -> call -> record -> announce flow, with an in-memory store and a scripted platform."""

import pytest

from socialomega.core.consumer import PermanentFailure, RetryLater
from socialomega.core.envelope import new_event
from socialomega.core.http import Outcome
from socialomega.core.store import publication_key
from socialomega.publishers.base import PublishResult
from socialomega.publishers.claims import Publications
from socialomega.publishers.service import PublishService
from tests.unit.fakes import FakeStore, RecordingSender


class ScriptedPublisher:
    platform = "rest"

    def __init__(self, *results: PublishResult) -> None:
        self.results = list(results)
        self.calls = 0

    def publish(self, request, images):
        self.calls += 1
        return self.results.pop(0)


OK = PublishResult(Outcome("ok", 201), remote_id="post-1")


def request_event(target: str = "rest"):
    return new_event("PublishRequested", "asset-1", {
        "target": target, "platform": "rest", "version": "v1",
        "variant": {"bucket": "b", "key": "k", "width": 1080, "height": 1350},
        "metadata": {"title": "t", "detected_at": "2026-11-24T10:00:00+00:00"},
    })


def service(publisher, store=None, sender=None, lease=120):
    store = store or FakeStore()
    sender = sender or RecordingSender()
    svc = PublishService(Publications(store, lease_seconds=lease), images=None, sender=sender, event_bus="bus",
                         publisher_for=lambda name: (publisher, {}) if name == "rest" else (_ for _ in ()).throw(KeyError(name)))
    return svc, store, sender


def test_success_records_and_announces_once():
    publisher = ScriptedPublisher(OK)
    svc, store, sender = service(publisher)
    assert svc.handle(request_event()) == "published"
    doc = store.get(publication_key("asset-1", "v1", "rest")).data
    assert doc["status"] == "published" and doc["remote_id"] == "post-1" and doc["announced"] is True
    assert [e.type for _, e, _ in sender.bus] == ["PublishSucceeded"]
    assert sender.bus[0][1].payload["remote_id"] == "post-1"


def test_redelivery_after_success_does_not_post_again():
    publisher = ScriptedPublisher(OK)
    svc, store, sender = service(publisher)
    event = request_event()
    svc.handle(event)
    assert svc.handle(event) == "published"
    assert svc.handle(request_event()) == "published"  # a second PublishRequested for the same version too
    assert publisher.calls == 1
    assert len(sender.bus) == 1


def test_retryable_failure_is_retried_then_succeeds():
    publisher = ScriptedPublisher(PublishResult(Outcome("retryable", 429, "429", "slow down", retry_after=30)), OK)
    svc, store, sender = service(publisher)
    with pytest.raises(RetryLater) as err:
        svc.handle(request_event())
    assert err.value.delay_seconds == 30
    assert store.get(publication_key("asset-1", "v1", "rest")).data["status"] == "retrying"
    assert svc.handle(request_event()) == "published"
    doc = store.get(publication_key("asset-1", "v1", "rest")).data
    assert doc["attempts"] == 2 and publisher.calls == 2


def test_permanent_failure_is_reported_not_retried():
    publisher = ScriptedPublisher(PublishResult(Outcome("permanent", 400, "400", "caption too long")))
    svc, store, sender = service(publisher)
    assert svc.handle(request_event()) == "failed"
    assert svc.handle(request_event()) == "failed"
    assert publisher.calls == 1
    (_, event, source), = sender.bus
    assert event.type == "PublishFailed" and source == "socialomega.publisher"
    assert event.payload["error"] == {"code": "400", "message": "caption too long", "http_status": 400}


def test_unknown_outcome_without_idempotent_target_ends_unconfirmed():
    publisher = ScriptedPublisher(PublishResult(Outcome("unknown", None, "timeout", "read timed out")))
    store, sender = FakeStore(), RecordingSender()
    svc = PublishService(Publications(store), None, sender, "bus",
                         lambda name: (publisher, {"idempotent_retries": False}))
    assert svc.handle(request_event()) == "unconfirmed"
    assert svc.handle(request_event()) == "unconfirmed"
    assert publisher.calls == 1


def test_a_live_claim_held_by_another_delivery_defers():
    store = FakeStore()
    Publications(store).reserve("asset-1", "v1", "rest", "other-event")
    svc, _, _ = service(ScriptedPublisher(OK), store=store)
    with pytest.raises(RetryLater, match="holds the claim"):
        svc.handle(request_event())


def test_an_expired_claim_is_taken_over():
    store = FakeStore()
    Publications(store, lease_seconds=-1).reserve("asset-1", "v1", "rest", "crashed-event")
    publisher = ScriptedPublisher(OK)
    svc, _, _ = service(publisher, store=store)
    assert svc.handle(request_event()) == "published"
    assert store.get(publication_key("asset-1", "v1", "rest")).data["attempts"] == 2


def test_a_lost_announcement_is_sent_on_redelivery():
    sender = RecordingSender()
    sender.fail_bus = 1
    publisher = ScriptedPublisher(OK)
    svc, store, _ = service(publisher, sender=sender)
    with pytest.raises(RuntimeError):
        svc.handle(request_event())
    assert store.get(publication_key("asset-1", "v1", "rest")).data["announced"] is False
    svc.handle(request_event())
    assert publisher.calls == 1
    assert [e.type for _, e, _ in sender.bus] == ["PublishSucceeded"]


def test_unknown_target_and_bad_payload_are_permanent():
    svc, _, _ = service(ScriptedPublisher(OK))
    with pytest.raises(PermanentFailure, match="no publisher configured"):
        svc.handle(request_event(target="nowhere"))
    bad = new_event("PublishRequested", "asset-1", {"target": "rest"})
    with pytest.raises(PermanentFailure, match="incomplete"):
        svc.handle(bad)


def test_a_config_error_dead_letters_without_posting_and_a_redrive_can_resume():
    from socialomega.publishers.rest import InvalidTargetConfig

    class Misconfigured:
        platform = "rest"

        def publish(self, request, images):
            raise InvalidTargetConfig("the target's secret has no 'api_key'")

    svc, store, _ = service(Misconfigured())
    with pytest.raises(PermanentFailure, match="api_key") as err:
        svc.handle(request_event())
    assert err.value.code == "config"
    assert store.get(publication_key("asset-1", "v1", "rest")).data["status"] == "retrying"
    fixed, _, _ = service(ScriptedPublisher(OK), store=store)
    assert fixed.handle(request_event()) == "published"
