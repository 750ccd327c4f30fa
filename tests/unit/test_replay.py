from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from socialomega.analytics.aggregate import Aggregator
from socialomega.analytics.eventlog import LOGGED_TYPES
from socialomega.core.envelope import Envelope, new_event
from socialomega.core.store import event_log_key
from socialomega.replay import __main__ as cli
from socialomega.replay import replayer
from socialomega.replay.replayer import Destinations, Replayer, Selection, parse_bound
from tests.unit.fakes import FakeStore, RecordingSender

T0 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
DESTINATIONS = Destinations("https://sqs/images", "arn:aws:sns:r:1:publish", "so-bus")


def at(event: Envelope, when: datetime) -> Envelope:
    return event.model_copy(update={"occurred_at": when})


def detected(asset: str, when: datetime = T0) -> Envelope:
    raw = {"bucket": "so-raw", "key": f"raw/{asset}/v1.jpg"}
    return at(new_event("AssetDetected", asset, {"source": "inbox", "version": "v1", "raw": raw}), when)


def requested(asset: str, target: str, when: datetime = T0) -> Envelope:
    variant = {"bucket": "so-processed", "key": f"processed/{asset}/v1/{target}.jpg", "width": 10, "height": 10}
    payload = {"target": target, "platform": "rest", "version": "v1", "variant": variant}
    return at(new_event("PublishRequested", asset, payload), when)


def succeeded(asset: str, target: str, when: datetime = T0) -> Envelope:
    payload = {"target": target, "platform": "rest", "version": "v1", "remote_id": f"{asset}-{target}"}
    return at(new_event("PublishSucceeded", asset, payload), when)


def liked(asset: str, target: str, when: datetime = T0) -> Envelope:
    payload = {"platform": "x", "target": target, "remote_id": f"{asset}-{target}", "kind": "like", "delta": 1}
    return at(new_event("EngagementReceived", asset, payload), when)


def breaker_closed(target: str, when: datetime = T0) -> Envelope:
    return at(new_event("BreakerClosed", f"target:{target}", {"target": target, "closed_at": when.isoformat()}), when)


def logged(events: list[tuple[Envelope, str]]) -> FakeStore:
    """A store whose event log holds `events`, written as the aggregator writes them."""
    store = FakeStore()
    aggregator = Aggregator(store)
    for event, source in events:
        aggregator.apply(event, source=source)
    return store


def pipeline_day() -> list[tuple[Envelope, str]]:
    """Two photos through two targets, and a breaker closing, on 24 November; a third photo the next day."""
    events: list[tuple[Envelope, str]] = []
    for n, asset in enumerate(("a1", "a2")):
        t = T0 + timedelta(minutes=10 * n)
        events.append((detected(asset, t), "socialomega.poller"))
        for target in ("rest", "x-main"):
            events.append((requested(asset, target, t + timedelta(seconds=1)), "socialomega.processor"))
            events.append((succeeded(asset, target, t + timedelta(seconds=5)), "socialomega.publisher"))
        events.append((liked(asset, "x-main", t + timedelta(minutes=1)), "socialomega.webhooks"))
    events.append((breaker_closed("x-main", T0 + timedelta(hours=1)), "socialomega.publisher"))
    events.append((detected("a3", T0 + timedelta(days=1)), "socialomega.poller"))
    return events


def selected(store: FakeStore, selection: Selection) -> list[Envelope]:
    events, unreadable = Replayer(store, RecordingSender(), DESTINATIONS).select(selection)
    assert unreadable == []
    return [item.event for item in events]


# ---------------------------------------------------------------------------------------- the range


def test_a_date_means_its_whole_day_and_a_time_is_included():
    assert parse_bound("2026-11-24", end=False) == datetime(2026, 11, 24, tzinfo=UTC)
    assert parse_bound("2026-11-24", end=True) == datetime(2026, 11, 25, tzinfo=UTC)
    assert parse_bound("2026-11-24T10:00", end=False) == T0  # naive: UTC
    assert parse_bound("2026-11-24T11:00:00+01:00", end=False) == T0
    assert parse_bound("2026-11-24T10:00:00Z", end=True) == T0 + timedelta(microseconds=1)
    with pytest.raises(ValueError, match="empty time range"):
        Selection.parse("2026-11-25", "2026-11-24")
    with pytest.raises(ValueError, match="unknown event type"):
        Selection.parse("2026-11-24", "2026-11-24", ["Published"])


def test_only_the_log_folders_of_the_selected_types_and_days_are_listed():
    selection = Selection.parse("2026-11-24T23:00", "2026-11-25T01:00", ["PublishRequested", "AssetDetected"])
    assert selection.prefixes() == [
        "events/PublishRequested/2026/11/24/",
        "events/PublishRequested/2026/11/25/",
        "events/AssetDetected/2026/11/24/",
        "events/AssetDetected/2026/11/25/",
    ]
    assert len(Selection.parse("2026-11-24", "2026-11-24").prefixes()) == len(LOGGED_TYPES)


def test_selection_by_time_keeps_the_order_events_occurred_in():
    store = logged(pipeline_day())
    whole_day = selected(store, Selection.parse("2026-11-24", "2026-11-24"))
    assert len(whole_day) == 13 and [e.occurred_at for e in whole_day] == sorted(e.occurred_at for e in whole_day)
    assert [e.asset_id for e in selected(store, Selection.parse("2026-11-25", "2026-11-25"))] == ["a3"]
    # Both ends included: the first photo's request (10:00:01) up to its results (10:00:05).
    window = selected(store, Selection.parse("2026-11-24T10:00:01", "2026-11-24T10:00:05"))
    assert Counter(e.type for e in window) == Counter({"PublishRequested": 2, "PublishSucceeded": 2})
    everything = selected(store, Selection.parse("2026-11-23", "2026-11-26"))
    assert len(everything) == 14


def test_selection_by_type_asset_and_target():
    store = logged(pipeline_day())
    day = ("2026-11-24", "2026-11-24")
    assert Counter(e.type for e in selected(store, Selection.parse(*day, ["PublishSucceeded", "BreakerClosed"]))) == (
        Counter({"PublishSucceeded": 4, "BreakerClosed": 1})
    )
    a2 = selected(store, Selection.parse(*day, asset_id="a2"))
    assert {e.asset_id for e in a2} == {"a2"} and len(a2) == 6
    x_main = selected(store, Selection.parse(*day, target="x-main"))
    # AssetDetected names no target (the processor fans it out to all): left out.
    assert Counter(e.type for e in x_main) == Counter(
        {"PublishRequested": 2, "PublishSucceeded": 2, "EngagementReceived": 2, "BreakerClosed": 1}
    )
    assert {e.payload["target"] for e in x_main} == {"x-main"}
    both = selected(store, Selection.parse(*day, ["PublishRequested"], asset_id="a1", target="rest"))
    assert [(e.type, e.asset_id, e.payload["target"]) for e in both] == [("PublishRequested", "a1", "rest")]


# ---------------------------------------------------------------------------------------- sending


class BatchSender(RecordingSender):
    def __init__(self) -> None:
        super().__init__()
        self.batches: list[tuple[str, int]] = []

    def to_bus_many(self, bus, envelopes, source):
        self.batches.append((source, len(envelopes)))
        super().to_bus_many(bus, envelopes, source)


def test_each_event_goes_back_where_its_producer_sent_it_unchanged():
    events = pipeline_day()
    sender = BatchSender()
    report = Replayer(logged(events), sender, DESTINATIONS).replay(Selection.parse("2026-11-24", "2026-11-24"))
    assert report.ok
    originals = {e.event_id: e for e, _ in events}
    assert [(url, e.asset_id) for url, e in sender.queue] == [
        ("https://sqs/images", "a1"),
        ("https://sqs/images", "a2"),
    ]
    assert sorted((arn, e.asset_id, platform) for arn, e, platform in sender.topic) == [
        ("arn:aws:sns:r:1:publish", "a1", "rest"),
        ("arn:aws:sns:r:1:publish", "a1", "x-main"),
        ("arn:aws:sns:r:1:publish", "a2", "rest"),
        ("arn:aws:sns:r:1:publish", "a2", "x-main"),
    ]
    by_type = Counter((e.type, source) for _, e, source in sender.bus)
    assert by_type == Counter(
        {
            ("PublishSucceeded", "socialomega.publisher"): 4,
            ("BreakerClosed", "socialomega.publisher"): 1,
            ("EngagementReceived", "socialomega.webhooks"): 2,
        }
    )
    sent = [e for _, e in sender.queue] + [e for _, e, _ in sender.topic] + [e for _, e, _ in sender.bus]
    assert all(e == originals[e.event_id] for e in sent) and len(sent) == 13  # same ids, same content
    assert {bus for bus, _, _ in sender.bus} == {"so-bus"}
    assert report.sent == Counter(
        {
            "AssetDetected": 2,
            "PublishRequested": 4,
            "PublishSucceeded": 4,
            "EngagementReceived": 2,
            "BreakerClosed": 1,
        }
    )
    text = "\n".join(report.lines())
    assert "PublishRequested     re-sent      4 of      4 selected -> publish topic" in text
    assert "total: re-sent 13 of 13" in text


def test_bus_events_keep_their_logged_source_and_go_in_batches_of_ten():
    events = [(succeeded(f"a{n}", "rest", T0 + timedelta(seconds=n)), "socialomega.publisher") for n in range(23)]
    events.append((liked("a1", "rest"), "socialomega.webhooks-eu"))  # whatever source it came with
    sender = BatchSender()
    Replayer(logged(events), sender, DESTINATIONS).replay(Selection.parse("2026-11-24", "2026-11-24"))
    assert sorted(sender.batches) == sorted(
        [("socialomega.publisher", 10), ("socialomega.publisher", 10), ("socialomega.publisher", 3)]
        + [("socialomega.webhooks-eu", 1)]
    )


def test_a_dry_run_counts_and_sends_nothing():
    sender = RecordingSender()
    report = Replayer(logged(pipeline_day()), sender, DESTINATIONS).replay(
        Selection.parse("2026-11-24", "2026-11-24"), dry_run=True
    )
    assert (sender.queue, sender.topic, sender.bus) == ([], [], [])
    assert sum(report.selected.values()) == 13 and sum(report.sent.values()) == 0
    assert "total: would re-send (dry run) 13 of 13" in "\n".join(report.lines())


def test_an_unreadable_record_is_reported_and_the_rest_still_replayed():
    store = logged([(succeeded("a1", "rest"), "socialomega.publisher")])
    store.put("events/PublishSucceeded/2026/11/24/broken.json", {"event": {"type": "PublishSucceeded"}})
    sender = RecordingSender()
    report = Replayer(store, sender, DESTINATIONS).replay(Selection.parse("2026-11-24", "2026-11-24"))
    assert len(sender.bus) == 1 and not report.ok
    [(key, reason)] = report.unreadable
    assert key.endswith("broken.json") and "not a valid envelope" in reason
    assert "UNREADABLE events/PublishSucceeded/2026/11/24/broken.json" in "\n".join(report.lines())


class SecondBatchRefused(BatchSender):
    def to_bus_many(self, bus, envelopes, source):
        if len(self.batches) == 1:
            raise RuntimeError("EventBridge refused 5 event(s)")
        super().to_bus_many(bus, envelopes, source)


def test_a_failed_send_stops_the_replay_and_says_how_far_it_got():
    events = [(succeeded(f"a{n}", "rest"), "socialomega.publisher") for n in range(15)]
    sender = SecondBatchRefused()
    report = Replayer(logged(events), sender, DESTINATIONS).replay(Selection.parse("2026-11-24", "2026-11-24"))
    assert len(sender.bus) == 10 and report.sent == Counter({"PublishSucceeded": 10})
    assert report.error and not report.ok
    assert "STOPPED: RuntimeError: EventBridge refused 5 event(s)" in "\n".join(report.lines())


# ---------------------------------------------------------------------------------------- end to end


def test_a_replay_through_the_aggregator_changes_no_analytics():
    events = pipeline_day()
    store = logged(events)
    analytics = {k: v for k, (v, _) in store.docs.items() if k.startswith("analytics/")}
    log = {k: v for k, (v, _) in store.docs.items() if k.startswith("events/")}
    sender = RecordingSender()
    Replayer(store, sender, DESTINATIONS).replay(Selection.parse("2026-11-20", "2026-11-30"))
    aggregator = Aggregator(store)
    # What the bus delivers back to analytics, and what the poller's and processor's history
    # puts on the bus again: every one is known, nothing is counted again.
    results = [aggregator.apply(e, source=s) for _, e, s in sender.bus]
    results += [aggregator.apply(e) for _, e in sender.queue] + [aggregator.apply(e) for _, e, _ in sender.topic]
    assert set(results) == {"duplicate"} and len(results) == len(events)
    assert {k: v for k, (v, _) in store.docs.items() if k.startswith("analytics/")} == analytics
    assert {k: v for k, (v, _) in store.docs.items() if k.startswith("events/")} == log
    assert all(store.get(event_log_key(e)) for e, _ in events)


# ---------------------------------------------------------------------------------------- the command


class FakeClients:
    s3 = sqs = sns = events = object()


def test_the_command_reads_the_services_configuration_and_prints_what_it_sent(monkeypatch, capsys):
    store = logged(pipeline_day())
    sender = RecordingSender()
    for name, value in {
        "SO_ENV": "t",
        "SO_RAW_BUCKET": "so-raw",
        "SO_PROCESSED_BUCKET": "so-processed",
        "SO_STORE_BUCKET": "so-store",
        "SO_IMAGES_QUEUE_URL": "https://sqs/images",
        "SO_PUBLISH_TOPIC_ARN": "arn:aws:sns:r:1:publish",
        "SO_EVENT_BUS": "so-bus",
        "SO_CONFIG_PREFIX": "/socialomega/t",
        "SO_SECRET_PREFIX": "socialomega/t",
    }.items():
        monkeypatch.setenv(name, value)
    buckets = []
    monkeypatch.setattr(cli.Clients, "default", classmethod(lambda cls: FakeClients()))
    monkeypatch.setattr(replayer, "MetadataStore", lambda s3, bucket: buckets.append(bucket) or store)
    monkeypatch.setattr(replayer, "EventSender", lambda **clients: sender)
    assert cli.main(["--from", "2026-11-24", "--to", "2026-11-24", "--target", "rest", "--asset", "a1"]) == 0
    assert buckets == ["so-store"]
    assert [(arn, e.asset_id, p) for arn, e, p in sender.topic] == [("arn:aws:sns:r:1:publish", "a1", "rest")]
    assert [(bus, e.type) for bus, e, _ in sender.bus] == [("so-bus", "PublishSucceeded")]
    out = capsys.readouterr().out
    assert "asset a1, target rest" in out and "total: re-sent 2 of 2" in out


def test_the_command_refuses_a_bad_range_or_type(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--from", "2026-11-25", "--to", "2026-11-24"])
    assert exit_.value.code == 2 and "empty time range" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--from", "2026-11-24", "--to", "2026-11-24", "--type", "Published"])
    assert exit_.value.code == 2
