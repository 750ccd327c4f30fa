import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import get_args

import pytest

from socialomega.analytics import eventlog
from socialomega.analytics.aggregate import Aggregator
from socialomega.analytics.daily import SHARDS, post_engagement, read_day, shard_of
from socialomega.core.consumer import InvalidPayload, process_batch
from socialomega.core.envelope import Envelope, EventType, new_event
from socialomega.core.store import Document, daily_key, event_log_key, post_marker_key, status_key
from tests.unit.fakes import FakeStore, RecordedQueue

DAY = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def at(event: Envelope, when: datetime = DAY) -> Envelope:
    return event.model_copy(update={"occurred_at": when})


def succeeded(asset="a1", target="rest", when: datetime = DAY):
    return at(
        new_event(
            "PublishSucceeded",
            asset,
            {
                "target": target,
                "platform": "rest",
                "version": "v1",
                "remote_id": "r-1",
                "detected_at": "2026-11-24T10:00:00+00:00",
                "published_at": "2026-11-24T10:00:04.5+00:00",
                "attempts": 1,
            },
        ),
        when,
    )


def failed(asset="a2", target="rest", when: datetime = DAY):
    return at(
        new_event(
            "PublishFailed", asset, {"target": target, "status": "failed", "error": {"code": "400", "message": "bad"}}
        ),
        when,
    )


def liked(asset="a1", target="rest", n=0, when: datetime = DAY):
    payload = {"platform": "rest", "target": target, "remote_id": "r-1", "kind": "like", "delta": 1}
    return at(new_event("EngagementReceived", asset, {**payload, "engagement_key": f"k{n}"}), when)


def detected(asset="a1"):
    raw = {"bucket": "so-raw", "key": f"raw/{asset}/v1.jpg"}
    return at(new_event("AssetDetected", asset, {"source": "inbox", "version": "v1", "raw": raw}))


def breaker_opened():
    payload = {"target": "rest", "failures": 5, "opened_at": DAY.isoformat(), "cooldown_seconds": 60.0}
    return at(new_event("BreakerOpened", "target:rest", payload))


def analytics_docs(store: FakeStore) -> dict:
    return {key: data for key, (data, _) in store.docs.items() if key.startswith("analytics/")}


def log_records(store: FakeStore) -> dict:
    return {key: data for key, (data, _) in store.docs.items() if key.startswith("events/")}


class QuickStore(FakeStore):
    """FakeStore without its deep copies, for thousands of events: the aggregator never changes a
    document it read (its changes build new ones), so sharing them is safe here."""

    def get(self, key):
        if key not in self.docs:
            return None
        data, etag = self.docs[key]
        return Document(key, dict(data), etag)

    def put(self, key, data):
        etag = self._etag()
        self.docs[key] = (dict(data), etag)
        return etag


class Crash(Exception):
    """The process died here."""


class CrashingStore(FakeStore):
    """Once armed (`left = n`), dies on the n-th write (claim, compare-and-swap or put) of a key
    under `prefix`."""

    def __init__(self, prefix: str) -> None:
        super().__init__()
        self.prefix, self.left = prefix, 0

    def put(self, key, data):
        if key.startswith(self.prefix) and self.left:
            self.left -= 1
            if not self.left:
                raise Crash(key)
        return super().put(key, data)


# ---------------------------------------------------------------------------------------- counting


def test_status_and_daily_counts_are_recorded_once_per_event():
    store = FakeStore()
    aggregator = Aggregator(store)
    event = succeeded()
    assert aggregator.apply(event) == "applied"
    assert aggregator.apply(event) == "duplicate"  # redelivered
    aggregator.apply(failed())
    status = store.get(status_key("a1")).data["targets"]["rest"]
    assert status["status"] == "published" and status["remote_id"] == "r-1"
    assert status["seconds_to_publish"] == 4.5
    assert store.get(status_key("a2")).data["targets"]["rest"]["error"]["message"] == "bad"
    day = read_day(store, "2026-11-24")
    assert day["counts"] == {"rest": {"PublishSucceeded": 1, "PublishFailed": 1}} and day["events"] == 2
    assert len(log_records(store)) == 2


def test_the_event_log_keeps_each_event_once_by_type_and_day_with_its_source():
    store = FakeStore()
    aggregator = Aggregator(store, clock=lambda: DAY + timedelta(seconds=3))
    event = succeeded()
    aggregator.apply(event, source="socialomega.publisher")
    key = f"events/PublishSucceeded/2026/11/24/{event.event_id}.json"
    assert event_log_key(event) == key and list(log_records(store)) == [key]
    record = store.get(key).data
    assert record["event"] == json.loads(event.to_json()) and record["source"] == "socialomega.publisher"
    assert record["applied"] is True and record["logged_at"] == "2026-11-24T10:00:03+00:00"
    assert eventlog.read_record(record) == (event, "socialomega.publisher")


def test_the_log_day_is_the_events_utc_day_so_every_delivery_finds_the_same_record():
    late = succeeded(when=datetime(2026, 11, 24, 23, 30, tzinfo=UTC))
    # The same instant written in another zone, as a producer might: the same key.
    same = Envelope.model_validate({**json.loads(late.to_json()), "occurred_at": "2026-11-25T00:30:00+01:00"})
    assert event_log_key(same) == event_log_key(late) == f"events/PublishSucceeded/2026/11/24/{late.event_id}.json"


@pytest.mark.parametrize("make", [detected, breaker_opened], ids=["AssetDetected", "BreakerOpened"])
def test_types_analytics_does_not_count_are_logged_only(make):
    store = FakeStore()
    aggregator = Aggregator(store)
    event = make()
    assert aggregator.apply(event) == "logged"
    assert aggregator.apply(event) == "duplicate"
    [(key, record)] = log_records(store).items()
    assert key.startswith(f"events/{event.type}/2026/11/24/") and record["applied"] is True
    assert record["source"] == eventlog.PRODUCERS[event.type]
    assert analytics_docs(store) == {}


def test_every_event_type_is_logged_and_has_a_known_producer():
    assert set(eventlog.LOGGED_TYPES) == set(get_args(EventType)) == set(eventlog.PRODUCERS)
    assert all(source.startswith(eventlog.SOURCE_PREFIX) for source in eventlog.PRODUCERS.values())


def test_a_payload_that_does_not_fit_its_type_is_refused_before_it_is_logged():
    store = FakeStore()
    broken = at(new_event("PublishRequested", "a1", {"target": "rest"}))
    with pytest.raises(InvalidPayload):
        Aggregator(store).apply(broken)
    assert store.docs == {}


def eventbridge_record(event: Envelope, source: str, n: int = 0) -> dict:
    body = {"detail-type": event.type, "source": source, "detail": json.loads(event.to_json())}
    return {
        "messageId": f"m-{n}",
        "receiptHandle": "rh",
        "body": json.dumps(body),
        "eventSourceARN": "arn:aws:sqs:r:1:analytics",
        "attributes": {"ApproximateReceiveCount": "1"},
    }


def test_the_consumer_takes_every_type_and_logs_the_source_the_bus_delivered():
    # The analytics handler's wiring: every type expected, the EventBridge source noted.
    store, queue = FakeStore(), RecordedQueue()
    events = [
        (detected(), "socialomega.poller"),
        (succeeded(), "socialomega.publisher"),
        (liked(), "socialomega.tests"),
    ]
    answer = process_batch(
        {"Records": [eventbridge_record(e, source, n) for n, (e, source) in enumerate(events)]},
        Aggregator(store).apply,
        service="analytics",
        records=queue,
        expect=eventlog.LOGGED_TYPES,
        unwrap=eventlog.unwrap_with_source,
    )
    assert answer == {"batchItemFailures": []} and queue.dead == []
    assert {store.get(event_log_key(e)).data["source"] for e, _ in events} == {s for _, s in events}
    # A source outside socialomega's is not trusted for replay: the type's producer is recorded.
    other = succeeded()
    process_batch(
        {"Records": [eventbridge_record(other, "aws.partner")]},
        Aggregator(store).apply,
        service="analytics",
        records=queue,
        expect=eventlog.LOGGED_TYPES,
        unwrap=eventlog.unwrap_with_source,
    )
    assert store.get(event_log_key(other)).data["source"] == "socialomega.publisher"


# ---------------------------------------------------------------------------------------- exactness


def test_the_same_event_counts_once_even_when_its_log_record_says_not_applied():
    store = FakeStore()
    aggregator = Aggregator(store)
    event = liked()
    aggregator.apply(event)
    before = analytics_docs(store)
    # As if the first delivery had died before marking the record: the documents decide alone.
    data, _ = store.docs[event_log_key(event)]
    store.put(event_log_key(event), {**data, "applied": False})
    assert aggregator.apply(event) == "applied"
    assert analytics_docs(store) == before
    assert store.get(event_log_key(event)).data["applied"] is True


@pytest.mark.parametrize(
    ("prefix", "nth"),
    [("analytics/daily/", 1), ("events/", 2)],
    ids=["after-the-log-claim", "before-the-log-is-marked-applied"],
)
def test_a_crash_between_steps_loses_nothing_and_counts_nothing_twice(prefix, nth):
    store = CrashingStore(prefix)
    event, other = liked(n=1), succeeded()
    Aggregator(store).apply(other)  # an event the crash must not disturb
    store.left = nth
    with pytest.raises(Crash):
        Aggregator(store).apply(event)
    assert store.get(event_log_key(event)).data["applied"] is False  # logged, not yet applied
    assert Aggregator(store).apply(event) == "applied"  # the redelivery finishes the work
    assert Aggregator(store).apply(event) == "duplicate"
    assert post_engagement(store, ["2026-11-24"]) == {("rest", "r-1"): {"likes": 1}}
    day = read_day(store, "2026-11-24")
    assert day["engagement"] == {"rest": {"likes": 1}} and day["counts"] == {"rest": {"PublishSucceeded": 1}}
    assert day["events"] == 2 and all(r["applied"] for r in log_records(store).values())


@pytest.mark.parametrize(
    ("prefix", "nth"),
    [("analytics/status/", 1), ("analytics/daily/", 1), ("analytics/posts/", 1), ("events/", 2)],
    ids=["after-the-log-claim", "after-the-status-document", "after-the-daily-shard", "before-marked-applied"],
)
def test_a_crash_while_a_publish_result_is_applied_loses_nothing(prefix, nth):
    store = CrashingStore(prefix)
    event = succeeded()
    store.left = nth
    with pytest.raises(Crash):
        Aggregator(store).apply(event)
    assert Aggregator(store).apply(event) == "applied"
    assert Aggregator(store).apply(event) == "duplicate"
    marker = store.get(post_marker_key("2026-11-24", "rest", "r-1")).data
    assert (marker["asset_id"], marker["remote_id"], marker["seconds_to_publish"]) == ("a1", "r-1", 4.5)
    assert read_day(store, "2026-11-24")["counts"] == {"rest": {"PublishSucceeded": 1}}
    assert store.get(status_key("a1")).data["targets"]["rest"]["status"] == "published"


def test_engagement_never_touches_the_photo_s_status_document():
    """Engagement is the high-volume stream: it lands only in the day's shards, per post."""
    store = FakeStore()
    aggregator = Aggregator(store)
    aggregator.apply(succeeded())
    before = store.get(status_key("a1")).data
    for n in range(20):
        aggregator.apply(liked(n=n))
    assert store.get(status_key("a1")).data == before
    assert post_engagement(store, ["2026-11-24"]) == {("rest", "r-1"): {"likes": 20}}


def test_six_thousand_events_then_all_of_them_again_change_nothing():
    store = QuickStore()
    aggregator = Aggregator(store)
    # One busy post (5,200 likes: more than the 5,000 ids documents used to remember) and
    # 800 results over 100 photos and 2 targets, on two days.
    events = [liked(asset="busy", n=n) for n in range(5200)]
    events += [
        (succeeded if n % 4 else failed)(asset=f"a{n % 100}", target=f"t{n % 2}", when=DAY + timedelta(hours=n % 20))
        for n in range(800)
    ]
    for event in events:
        assert aggregator.apply(event) == "applied"
    counted = analytics_docs(store)
    assert status_key("busy") not in counted  # engagement only in the day's shards
    assert post_engagement(store, ["2026-11-24"])[("rest", "r-1")] == {"likes": 5200}
    days = {day: read_day(store, day) for day in ("2026-11-24", "2026-11-25")}
    assert sum(d["events"] for d in days.values()) == 6000
    assert days["2026-11-24"]["engagement"] == {"rest": {"likes": 5200}}
    assert sum(n for d in days.values() for per in d["counts"].values() for n in per.values()) == 800

    # A replay of everything: each event is found applied in the log.
    assert Counter(aggregator.apply(event) for event in events) == Counter({"duplicate": 6000})
    assert analytics_docs(store) == counted
    # Even with every log record unmarked (each delivery died before step 3), the documents'
    # own memories of every id keep the counts exact.
    for key, (data, _) in list(store.docs.items()):
        if key.startswith("events/"):
            store.put(key, {**data, "applied": False})
    assert Counter(aggregator.apply(event) for event in events) == Counter({"applied": 6000})
    assert analytics_docs(store) == counted


# ---------------------------------------------------------------------------------------- sharding


def test_the_shard_of_an_event_is_stable_across_processes():
    # A changed shard function would send a replayed event to a shard that never saw it.
    assert shard_of("00000000-0000-0000-0000-000000000000") == 2
    assert shard_of("6f1c2a0e-4a5b-4c3d-9e8f-0123456789ab") == 6


def test_a_day_is_spread_over_its_shards_and_read_as_their_sum():
    store = FakeStore()
    aggregator = Aggregator(store)
    events = [succeeded(asset=f"a{n}", target=("rest", "x")[n % 2]) for n in range(160)]
    for event in events:
        aggregator.apply(event)
    shards = {key: data for key, data in analytics_docs(store).items() if key.startswith("analytics/daily/")}
    assert set(shards) <= {daily_key("2026-11-24", n) for n in range(SHARDS)} and len(shards) >= 12
    for n in range(SHARDS):
        shard = shards.get(daily_key("2026-11-24", n))
        if shard:  # each shard holds exactly the events whose id hashes to it
            assert shard["shard"] == n and all(shard_of(i) == n for i in shard["applied"])
    assert sorted(i for s in shards.values() for i in s["applied"]) == sorted(e.event_id for e in events)
    assert read_day(store, "2026-11-24")["counts"] == {"rest": {"PublishSucceeded": 80}, "x": {"PublishSucceeded": 80}}
    assert read_day(store, "2026-11-23") == {"day": "2026-11-23", "counts": {}, "engagement": {}, "events": 0}
