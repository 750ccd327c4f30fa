"""The reserve -> call -> record -> announce flow, with an in-memory store and a scripted platform."""

from datetime import UTC, datetime, timedelta

import pytest

from socialomega.core.consumer import Deferred, PermanentFailure, RetryLater
from socialomega.core.envelope import new_event
from socialomega.core.http import Outcome
from socialomega.core.store import post_index_key, publication_key
from socialomega.publishers.base import Lookup, PublishResult
from socialomega.publishers.claims import Publications
from socialomega.publishers.quota import DailyCaps
from socialomega.publishers.service import PublishService
from tests.unit.fakes import FakeStore, RecordingSender


class ScriptedPublisher:
    """Answers publish() from a script; like a real multi-step publisher it saves a step and
    marks the final call before answering; find_post answers from `lookups`."""

    platform = "rest"
    retry_is_safe = False

    def __init__(self, *results: PublishResult, lookups=()) -> None:
        self.results = list(results)
        self.lookups = list(lookups)
        self.calls = 0
        self.lookup_calls = 0
        self.resumed_from: list = []

    def publish(self, request, images, progress):
        self.calls += 1
        self.resumed_from.append(progress.get("upload"))
        progress.save("upload", {"media_id": "m-1"})
        progress.mark_final({"media_id": "m-1"})
        return self.results.pop(0)

    def find_post(self, request, progress):
        self.lookup_calls += 1
        assert progress.final_marker["media_id"] == "m-1" and progress.final_marker["sent_at"]
        return self.lookups.pop(0)


OK = PublishResult(Outcome("ok", 201), remote_id="post-1")


def request_event(target: str = "rest"):
    return new_event(
        "PublishRequested",
        "asset-1",
        {
            "target": target,
            "platform": "rest",
            "version": "v1",
            "variant": {"bucket": "b", "key": "k", "width": 1080, "height": 1350},
            "metadata": {"title": "t", "detected_at": "2026-11-24T10:00:00+00:00"},
        },
    )


def service(publisher, store=None, sender=None, lease=120):
    store = store or FakeStore()
    sender = sender or RecordingSender()
    svc = PublishService(
        Publications(store, lease_seconds=lease),
        images=None,
        sender=sender,
        event_bus="bus",
        publisher_for=lambda name: (publisher, {}) if name == "rest" else (_ for _ in ()).throw(KeyError(name)),
    )
    return svc, store, sender


def test_success_records_and_announces_once():
    publisher = ScriptedPublisher(OK)
    svc, store, sender = service(publisher)
    assert svc.handle(request_event()) == "published"
    doc = store.get(publication_key("asset-1", "v1", "rest")).data
    assert doc["status"] == "published" and doc["remote_id"] == "post-1" and doc["announced"] is True
    assert [e.type for _, e, _ in sender.bus] == ["PublishSucceeded"]
    assert sender.bus[0][1].payload["remote_id"] == "post-1"
    # The webhook endpoint finds the photo behind a post through this index.
    post = store.get(post_index_key("rest", "post-1")).data
    assert (post["asset_id"], post["version"], post["target"]) == ("asset-1", "v1", "rest")
    assert post["correlation_id"] == sender.bus[0][1].correlation_id


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
    ((_, event, source),) = sender.bus
    assert event.type == "PublishFailed" and source == "socialomega.publisher"
    assert event.payload["error"] == {"code": "400", "message": "caption too long", "http_status": 400}


TIMEOUT = PublishResult(Outcome("unknown", None, "timeout", "read timed out"))


def test_unknown_final_outcome_is_looked_up_and_a_found_post_is_not_posted_again():
    publisher = ScriptedPublisher(TIMEOUT, lookups=[Lookup.found("post-9", "https://p/9")])
    svc, store, sender = service(publisher)
    with pytest.raises(RetryLater):
        svc.handle(request_event())
    assert svc.handle(request_event()) == "published"
    assert publisher.calls == 1 and publisher.lookup_calls == 1
    doc = store.get(publication_key("asset-1", "v1", "rest")).data
    assert doc["remote_id"] == "post-9" and doc["event"]["payload"]["reconciled"] is True
    assert [e.type for _, e, _ in sender.bus] == ["PublishSucceeded"]


def test_unknown_final_outcome_absent_on_the_platform_posts_again_from_the_saved_step():
    publisher = ScriptedPublisher(TIMEOUT, OK, lookups=[Lookup.absent()])
    svc, store, _ = service(publisher)
    with pytest.raises(RetryLater):
        svc.handle(request_event())
    assert svc.handle(request_event()) == "published"
    assert publisher.calls == 2 and publisher.lookup_calls == 1
    assert publisher.resumed_from == [None, {"media_id": "m-1"}]  # the upload step was not redone


def test_unknown_final_outcome_that_the_lookup_cannot_decide_ends_unconfirmed():
    publisher = ScriptedPublisher(TIMEOUT, lookups=[Lookup.undecided("two posts match")])
    svc, store, sender = service(publisher)
    with pytest.raises(RetryLater):
        svc.handle(request_event())
    assert svc.handle(request_event()) == "unconfirmed"
    assert svc.handle(request_event()) == "unconfirmed"  # final: never reposted
    assert publisher.calls == 1
    ((_, event, _),) = sender.bus
    assert event.type == "PublishFailed" and event.payload["error"]["message"] == "two posts match"


def test_a_server_error_on_the_final_call_is_looked_up_but_a_429_is_not():
    server_error = PublishResult(Outcome("retryable", 503, "503", "backend failed"))
    throttled = PublishResult(Outcome("retryable", 429, "429", "slow down", retry_after=1))
    publisher = ScriptedPublisher(server_error, throttled, OK, lookups=[Lookup.absent()])
    svc, _, _ = service(publisher)
    with pytest.raises(RetryLater):
        svc.handle(request_event())  # 503: the platform may have posted before failing
    with pytest.raises(RetryLater):
        svc.handle(request_event())  # looked up (absent), posted again: 429, refused outright
    assert svc.handle(request_event()) == "published"  # no lookup after a 429
    assert publisher.calls == 3 and publisher.lookup_calls == 1


def test_a_lookup_that_fails_transiently_is_asked_again_not_settled():
    from socialomega.core.http import Outcome as O

    failing = Lookup.failed("listing failed", O("retryable", 500, "500", "boom", retry_after=7))
    assert failing.state == "unavailable"
    assert Lookup.failed("listing failed", O("permanent", 403, "403", "no permission")).state == "undecided"
    publisher = ScriptedPublisher(TIMEOUT, lookups=[failing, Lookup.found("post-3")])
    svc, store, _ = service(publisher)
    with pytest.raises(RetryLater):
        svc.handle(request_event())
    with pytest.raises(RetryLater, match="cannot look the post up yet") as err:
        svc.handle(request_event())
    assert err.value.delay_seconds == 7
    assert svc.handle(request_event()) == "published"
    assert publisher.calls == 1 and publisher.lookup_calls == 2


def test_retry_safe_targets_just_retry_an_unknown_outcome():
    publisher = ScriptedPublisher(TIMEOUT, OK)
    publisher.retry_is_safe = True
    svc, _, _ = service(publisher)
    with pytest.raises(RetryLater):
        svc.handle(request_event())
    assert svc.handle(request_event()) == "published"
    assert publisher.lookup_calls == 0


def test_a_platform_quota_defers_without_failing():
    publisher = ScriptedPublisher(PublishResult(Outcome("deferred", 400, "meta:9/2207042", "limit", 1800)), OK)
    svc, store, sender = service(publisher)
    with pytest.raises(Deferred) as err:
        svc.handle(request_event())
    assert err.value.delay_seconds == 1800
    assert store.get(publication_key("asset-1", "v1", "rest")).data["status"] == "deferred"
    assert sender.bus == []
    assert svc.handle(request_event()) == "published"


def test_rejected_credentials_dead_letter_for_an_operator_and_can_be_redriven():
    publisher = ScriptedPublisher(PublishResult(Outcome("auth", 401, "meta:190", "token expired")), OK)
    svc, store, sender = service(publisher)
    with pytest.raises(PermanentFailure, match="fix the target's secret") as err:
        svc.handle(request_event())
    assert err.value.code == "auth" and sender.bus == []
    assert svc.handle(request_event()) == "published"


def test_daily_cap_defers_the_photo_over_it_and_frees_slots_after_24h():
    clock = [datetime(2026, 11, 24, 12, tzinfo=UTC)]
    store, sender = FakeStore(), RecordingSender()
    publisher = ScriptedPublisher(OK, OK, OK)
    svc = PublishService(
        Publications(store),
        None,
        sender,
        "bus",
        lambda name: (publisher, {"daily_cap": 2}),
        caps=DailyCaps(store, now=lambda: clock[0]),
    )

    def event(asset):
        e = request_event()
        return e.model_copy(update={"asset_id": asset})

    assert svc.handle(event("a1")) == "published"
    assert svc.handle(event("a2")) == "published"
    with pytest.raises(Deferred) as err:
        svc.handle(event("a3"))
    assert err.value.delay_seconds == pytest.approx(24 * 3600)
    assert publisher.calls == 2
    clock[0] += timedelta(hours=24, seconds=1)
    assert svc.handle(event("a3")) == "published"


def test_a_permanent_failure_gives_its_daily_slot_back():
    store = FakeStore()
    publisher = ScriptedPublisher(PublishResult(Outcome("permanent", 400, "400", "bad")), OK)
    svc = PublishService(
        Publications(store),
        None,
        RecordingSender(),
        "bus",
        lambda name: (publisher, {"daily_cap": 1}),
        caps=DailyCaps(store),
    )
    assert svc.handle(request_event()) == "failed"
    other = request_event().model_copy(update={"asset_id": "asset-2"})
    assert svc.handle(other) == "published"


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
    from socialomega.platforms.rest.publisher import InvalidTargetConfig

    class Misconfigured:
        platform = "rest"
        retry_is_safe = True

        def publish(self, request, images, progress):
            raise InvalidTargetConfig("the target's secret has no 'api_key'")

    svc, store, _ = service(Misconfigured())
    with pytest.raises(PermanentFailure, match="api_key") as err:
        svc.handle(request_event())
    assert err.value.code == "config"
    assert store.get(publication_key("asset-1", "v1", "rest")).data["status"] == "retrying"
    fixed, _, _ = service(ScriptedPublisher(OK), store=store)
    assert fixed.handle(request_event()) == "published"


# -- the target's circuit breaker -------------------------------------------------------------
def breaker_service(publisher, threshold=2):
    from socialomega.core.breaker import Breaker
    from socialomega.core.config import Resilience
    from socialomega.publishers.service import breaker_announcer

    svc, store, sender = service(publisher)
    settings = Resilience(breaker_threshold=threshold, breaker_cooldown_seconds=60)
    svc.breaker_for = lambda target: Breaker(
        store, target, settings, on_transition=breaker_announcer(sender, "bus", target, "rest")
    )
    return svc, store, sender


def other_photo(asset: str):
    event = request_event()
    return event.model_copy(update={"asset_id": asset, "event_id": new_event("AssetDetected", asset, {}).event_id})


DOWN = PublishResult(Outcome("retryable", 503, "503", "Service Unavailable"))


def test_an_open_breaker_defers_messages_without_calling_the_platform():
    publisher = ScriptedPublisher(DOWN, DOWN)
    svc, store, sender = breaker_service(publisher, threshold=2)
    for asset in ("a1", "a2"):
        with pytest.raises(RetryLater):
            svc.handle(other_photo(asset))
    assert [e.type for _, e, _ in sender.bus] == ["BreakerOpened"]
    opened = sender.bus[0][1]
    assert opened.asset_id == "target:rest" and opened.payload["failures"] == 2
    assert "503" in opened.payload["reason"]
    with pytest.raises(Deferred) as deferred:  # a third photo waits: the platform is not called
        svc.handle(other_photo("a3"))
    assert publisher.calls == 2
    assert 60 <= deferred.value.delay_seconds <= 68
    doc = store.get(publication_key("a3", "v1", "rest")).data
    assert doc["status"] == "deferred" and doc["last_error"]["code"] == "breaker_open"


def test_the_probe_after_the_cool_down_closes_the_breaker_and_announces_it(monkeypatch):
    publisher = ScriptedPublisher(DOWN, DOWN, OK)
    svc, store, sender = breaker_service(publisher, threshold=2)
    for asset in ("a1", "a2"):
        with pytest.raises(RetryLater):
            svc.handle(other_photo(asset))
    doc = store.get("breakers/rest.json")
    store.put(doc.key, {**doc.data, "opened_at": doc.data["opened_at"] - 61})  # the cool-down is over
    assert svc.handle(other_photo("a3")) == "published"
    # The breaker is told after the outcome is recorded: a breaker write never fails a publish.
    assert [e.type for _, e, _ in sender.bus] == ["BreakerOpened", "PublishSucceeded", "BreakerClosed"]
    closed = sender.bus[2][1]
    assert closed.correlation_id == sender.bus[0][1].correlation_id  # one outage, one correlation id
    assert store.get("breakers/rest.json").data["state"] == "closed"


def test_a_refusal_shows_the_platform_is_up_and_a_deadline_counts_nothing():
    refused = PublishResult(Outcome("permanent", 400, "400", "caption too long"))
    out_of_time = PublishResult(Outcome("retryable", None, "deadline", "container still IN_PROGRESS", 1.0))
    publisher = ScriptedPublisher(DOWN, refused, DOWN, out_of_time, DOWN)
    svc, store, sender = breaker_service(publisher, threshold=2)
    from socialomega.core.deadline import DeadlineReached

    with pytest.raises(RetryLater):
        svc.handle(other_photo("a1"))
    assert svc.handle(other_photo("a2")) == "failed"  # a 400 resets the count
    with pytest.raises(RetryLater):
        svc.handle(other_photo("a3"))
    with pytest.raises(DeadlineReached):  # out of time: neither a failure nor a success
        svc.handle(other_photo("a4"))
    assert store.get("breakers/rest.json").data["failures"] == 1
    doc = store.get(publication_key("a4", "v1", "rest")).data
    assert doc["status"] == "retrying" and doc["last_error"]["code"] == "deadline"
    with pytest.raises(RetryLater):
        svc.handle(other_photo("a5"))
    assert [e.type for _, e, _ in sender.bus if e.type.startswith("Breaker")] == ["BreakerOpened"]


def test_a_breaker_that_cannot_be_written_never_fails_the_post_it_judges():
    publisher = ScriptedPublisher(OK)
    svc, store, sender = breaker_service(publisher)

    class Unwritable:
        target = "rest"

        def admit(self):
            from socialomega.core.breaker import Ticket

            return Ticket("closed")

        def succeeded(self, ticket):
            raise RuntimeError("S3 unavailable")

    svc.breaker_for = lambda target: Unwritable()
    assert svc.handle(other_photo("a1")) == "published"
    assert store.get(publication_key("a1", "v1", "rest")).data["status"] == "published"
    assert [e.type for _, e, _ in sender.bus] == ["PublishSucceeded"]
