"""The poller within its budget: it stops before the invocation's deadline and the next poll
resumes from the saved cursor; the cursor is written with compare-and-swap; a photo that fails
on every poll is parked (and tried again once its version changes).

Time is a fake clock (the deadline module's and the poller's), moved by the photos' fetches:
no test depends on how fast this machine is."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from functools import partial

import pytest
from botocore.exceptions import ClientError

from socialomega.core import deadline as deadline_module
from socialomega.core import metrics
from socialomega.core import store as keys
from socialomega.core.config import ConfigError
from socialomega.core.deadline import Deadline, DeadlineReached
from socialomega.poller import bootstrap, handler
from socialomega.poller.cursor import Cursors, Pass
from socialomega.poller.parking import PARKED_PREFIX, Parking, failure_key, parked_key, parked_photos
from socialomega.poller.poll import Poller
from socialomega.poller.settings import PollerSettings
from socialomega.poller.sources import PhotoNotReady, SourcePhoto, SourceUnavailable
from tests.unit.fakes import FakeStore, MemoryBlobs, RecordingSender


class FakeClock:
    """The monotonic clock of core/deadline.py and the poller's UTC clock, moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.start = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds

    def utc(self) -> datetime:
        return self.start + timedelta(seconds=self.now - 1000.0)

    def deadline(self, seconds: float, margin: float = 3.0) -> Deadline:
        return Deadline(self.now + seconds, margin)


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(deadline_module, "time", fake)  # the deadline module's clock only
    return fake


class PagedSource:
    """Photos on pages; a photo's position is its page, as Lightroom's `captured_before`."""

    name = "paged"

    def __init__(self, pages, clock=None, cost=0.0, watermark="2026-12-01", faults=None) -> None:
        self.pages, self.clock, self.cost, self.watermark = pages, clock, cost, watermark
        self.faults = dict(faults or {})  # asset id -> exception raised by its fetch
        self.cursors: list[dict] = []
        self.fetched: list[str] = []

    def candidates(self, cursor):
        self.cursors.append(cursor)
        start = (cursor.get("resume") or {}).get("page", 0)
        for index, page in enumerate(self.pages[start:], start):
            for asset_id, version in page:
                yield SourcePhoto(
                    self.name,
                    asset_id,
                    version,
                    {"title": asset_id},
                    partial(self.fetch, asset_id),
                    position={"page": index} if index else {},
                )

    def fetch(self, asset_id: str) -> bytes:
        self.fetched.append(asset_id)
        if self.clock is not None:
            self.clock.now += self.cost
        fault = self.faults.get(asset_id)
        if fault is not None:
            raise fault
        return b"jpeg:" + asset_id.encode()

    def next_cursor(self):
        return {"updated_since": self.watermark}


def make(store=None, clock=None, **settings):
    store = store or FakeStore()
    sender = RecordingSender()
    poller = Poller(
        store,
        MemoryBlobs("raw"),
        sender,
        "images",
        settings=PollerSettings(**settings),
        clock=clock.utc if clock else lambda: datetime.now(UTC),
    )
    return poller, store, sender


def cursor(store, source="paged"):
    doc = store.get(keys.cursor_key(source))
    return doc.data if doc else None


# --- the deadline -------------------------------------------------------------------------------
def test_the_poll_stops_before_the_deadline_and_the_next_poll_resumes_from_the_saved_cursor(clock):
    poller, store, sender = make(clock=clock, photo_min_seconds=10)
    source = PagedSource([[("a", "1"), ("b", "1")], [("c", "1"), ("d", "1")], [("e", "1"), ("f", "1")]], clock, 10)
    with deadline_module.bound(clock.deadline(45)):  # 42 s usable: a, b, c, d take 10 s each
        first = poller.poll([source])
    assert first.detected == ["a", "b", "c", "d"] and first.failed == {}
    assert "paged" in first.stopped and first.as_dict()["stopped"] == first.stopped
    saved = cursor(store)
    assert saved["pass"]["resume"] == {"page": 2} and "updated_since" not in saved  # not a complete pass

    with deadline_module.bound(clock.deadline(120)):
        second = poller.poll([source])
    assert second.detected == ["e", "f"] and second.stopped == {}
    assert source.cursors[1]["resume"] == {"page": 2}  # resumed at e's page, not the first
    assert source.cursors[1]["pass_started_at"] == source.cursors[0]["pass_started_at"]  # the same pass
    assert source.fetched == ["a", "b", "c", "d", "e", "f"]  # each photo once
    assert [e.asset_id for _, e in sender.queue] == ["a", "b", "c", "d", "e", "f"]
    done = cursor(store)
    assert done["updated_since"] == "2026-12-01" and "pass" not in done and done["last_pass"]


def test_a_wait_cut_by_the_deadline_is_not_a_failure_and_the_photo_is_fetched_again(clock):
    poller, store, _ = make(clock=clock)
    reached = DeadlineReached("GET /renditions/2048 (429): no time to retry in 30.0 s", 5.0)
    source = PagedSource([[("a", "1")], [("b", "1"), ("c", "1")]], faults={"b": reached})
    result = poller.poll([source])
    assert result.detected == ["a"] and result.failed == {} and result.parked == []
    assert cursor(store)["pass"]["resume"] == {"page": 1}
    assert store.get(failure_key("paged", "b")) is None  # nothing counted towards parking
    del source.faults["b"]
    assert poller.poll([source]).detected == ["b", "c"]


def test_a_listing_cut_by_the_deadline_resumes_at_the_last_page_reached(clock):
    poller, store, _ = make(clock=clock)

    class Cut(PagedSource):
        def candidates(self, cursor):
            for photo in super().candidates(cursor):
                yield photo
                if photo.asset_id == "b":
                    raise DeadlineReached("GET /assets not sent", 0.5)

    source = Cut([[("a", "1")], [("b", "1")], [("c", "1")]])
    assert poller.poll([source]).stopped
    assert cursor(store)["pass"]["resume"] == {"page": 1}
    assert poller.poll([PagedSource(source.pages)]).detected == ["c"]


def test_sources_are_not_started_with_too_little_time_left(clock):
    poller, _, _ = make(clock=clock, photo_min_seconds=10)
    source = PagedSource([[("a", "1")]])
    with deadline_module.bound(clock.deadline(12)):  # 9 s usable
        result = poller.poll([source])
    assert result.detected == [] and "paged" in result.stopped and source.cursors == []


def test_a_listing_that_fails_part_way_keeps_its_progress_but_not_a_position_that_fails_at_once(clock):
    poller, store, _ = make(clock=clock)

    class Broken(PagedSource):
        def candidates(self, cursor):
            yield from super().candidates(cursor)
            raise ConnectionError("listing broke")

    result = poller.poll([Broken([[("a", "1")], [("b", "1")]])])
    assert result.detected == ["a", "b"] and "source:paged" in result.failed
    assert cursor(store)["pass"]["resume"] == {"page": 1}

    class Refused(PagedSource):
        def candidates(self, cursor):
            raise ValueError("captured_before: must be a valid dateTime")
            yield  # pragma: no cover

    poller.poll([Refused([])])
    assert cursor(store)["pass"]["resume"] == {}  # the next poll starts from the first page


def test_the_handler_binds_the_deadline_from_the_lambda_context(monkeypatch):
    seen: list[float] = []

    class Source(PagedSource):
        def candidates(self, cursor):
            seen.append(deadline_module.current().remaining())
            return super().candidates(cursor)

    class NoTokens:
        tokens = None

    class Context:
        def __init__(self, millis: int) -> None:
            self.millis = millis

        def get_remaining_time_in_millis(self) -> int:
            return self.millis

    poller, _, _ = make()
    source = Source([[("a", "1")]])
    monkeypatch.setattr(bootstrap, "build", lambda: bootstrap.PollerApp(poller, NoTokens(), [source]))
    assert handler.handler({}, Context(60_000))["detected"] == ["a"]
    assert 0 < seen[0] <= 57.0  # 60 s less the margin kept for saving progress
    assert deadline_module.current().remaining() == float("inf")  # unbound after the invocation
    result = handler.handler({}, Context(5_000))  # too little for a photo: stops, does not fail
    assert result["detected"] == [] and "paged" in result["stopped"]


# --- the cursor, compare-and-swap ---------------------------------------------------------------
def test_a_slower_concurrent_poll_never_moves_the_cursor_back_nor_loses_a_detection():
    store = FakeStore()
    fast_poller, _, fast_sender = make(store)
    slow_poller, _, slow_sender = make(store)
    fast = PagedSource([[("a", "1"), ("b", "2")]], watermark="2026-12-01T12:00")

    class Slow(PagedSource):
        def fetch(self, asset_id):
            if asset_id == "a":
                fast_poller.poll([fast])  # a second poll runs to its end in the middle of this one
            return super().fetch(asset_id)

    slow = Slow([[("a", "1"), ("b", "2")]], watermark="2026-12-01T11:00")  # it began earlier
    slow_poller.poll([slow])
    assert cursor(store)["updated_since"] == "2026-12-01T12:00"  # not moved back by the slower one
    for asset_id, version in (("a", "1"), ("b", "2")):
        assert store.get(keys.detection_key("paged", asset_id, version)) is not None
    announced = [e.asset_id for _, e in fast_sender.queue + slow_sender.queue]
    assert set(announced) == {"a", "b"} and len(announced) <= 4  # at least once, at most once per poll


class RacingStore(FakeStore):
    """Another writer changes the cursor between a poll's read and its write, once."""

    def __init__(self, other: dict) -> None:
        super().__init__()
        self.other, self.raced, self.replaces = other, False, 0

    def replace(self, doc, data):
        if doc.key == keys.cursor_key("paged") and "last_pass" in data:
            self.replaces += 1
            if not self.raced:
                self.raced = True
                self.put(doc.key, self.other)
        return super().replace(doc, data)


def test_the_cursor_write_is_a_compare_and_swap_that_keeps_a_concurrent_writers_change():
    store = RacingStore({"updated_since": "2026-12-09", "last_pass": "other", "polled_at": "x"})
    store.put(keys.cursor_key("paged"), {"updated_since": "2026-11-01"})
    poller, _, _ = make(store)
    poller.poll([PagedSource([[("a", "1")]], watermark="2026-12-01")])
    assert store.replaces == 2  # the first write lost the race (If-Match), the second re-read
    assert cursor(store)["updated_since"] == "2026-12-09"  # the newer watermark won
    poller.poll([PagedSource([[("a", "1")]], watermark="2026-12-10")])
    assert cursor(store)["updated_since"] == "2026-12-10"


def test_progress_is_saved_only_for_the_pass_a_poll_walks():
    store = FakeStore()
    cursors = Cursors(store)
    _, mine = cursors.begin("paged", "t0")
    assert cursors.save_progress("paged", mine, {"page": 3}, False, "t1")
    other = Pass("other-pass", "t0", {})
    assert not cursors.save_progress("paged", other, {"page": 1}, False, "t2")  # not over mine
    assert cursor(store)["pass"]["resume"] == {"page": 3}
    cursors.finish("paged", other, {"updated_since": "w1"}, False, "t3")  # completes its own
    assert cursor(store)["pass"]["id"] == mine.id  # my pass in progress stays
    cursors.finish("paged", mine, {"updated_since": "w0"}, False, "t4")
    assert "pass" not in cursor(store) and cursor(store)["updated_since"] == "w1"
    # a poll still walking the pass a concurrent poll completed does not bring it back
    assert not cursors.save_progress("paged", mine, {"page": 4}, False, "t5")
    assert "pass" not in cursor(store)


# --- parking ------------------------------------------------------------------------------------
class RecordingLog:
    def __init__(self) -> None:
        self.lines: list[tuple[str, str, dict]] = []

    def __getattr__(self, level: str):
        return lambda event, **fields: self.lines.append((level, event, fields))


def test_a_photo_failing_on_every_poll_is_parked_after_n_attempts_visibly_and_then_skipped():
    store, log, emitted = FakeStore(), RecordingLog(), io.StringIO()
    parking = Parking(store, 3, log=log, emit=partial(metrics.emit, stream=emitted))
    poller, _, sender = make(store, park_after=3)
    poller.parking = parking
    source = PagedSource([[("a", "1"), ("b", "1")]], faults={"a": OSError("rendition 404")})
    for attempt in (1, 2):
        result = poller.poll([source])
        assert result.parked == [] and "rendition 404" in result.failed["a"]
        assert store.get(failure_key("paged", "a")).data["attempts"] == attempt
        assert "updated_since" not in cursor(store)  # a failing photo holds the watermark
    assert emitted.getvalue() == "" and log.lines == []
    third = poller.poll([source])
    assert third.parked == ["a"] and third.as_dict()["parked"] == ["a"]
    parked = store.get(parked_key("paged", "a")).data
    assert {k: parked[k] for k in ("source", "asset_id", "version", "attempts", "status")} == {
        "source": "paged",
        "asset_id": "a",
        "version": "1",
        "attempts": 3,
        "status": "parked",
    }
    assert "rendition 404" in parked["reason"] and parked["parked_at"]
    [(level, event, fields)] = log.lines
    assert (level, event, fields["asset_id"], fields["attempts"]) == ("error", "photo_parked", "a", 3)
    assert "rendition 404" in fields["reason"]
    [metric] = [json.loads(line) for line in emitted.getvalue().splitlines()]
    assert metric["_aws"]["CloudWatchMetrics"] == [
        {
            "Namespace": "SocialOmega",
            "Dimensions": [["Service"]],
            "Metrics": [{"Name": "PhotosParked", "Unit": "Count"}],
        }
    ]
    assert metric["Service"] == "poller" and metric["PhotosParked"] == 1

    fetched = len(source.fetched)
    fourth = poller.poll([source])
    assert fourth.skipped_parked == 1 and fourth.failed == {} and len(source.fetched) == fetched  # not tried
    assert cursor(store)["updated_since"] == "2026-12-01"  # parked: the watermark moves on
    assert [p["asset_id"] for p in parked_photos(store)] == ["a"]
    assert [e.asset_id for _, e in sender.queue] == ["b"]


def test_a_parked_photo_whose_version_changes_is_tried_again():
    poller, store, _ = make(park_after=2)
    source = PagedSource([[("a", "1")]], faults={"a": OSError("download broke")})
    poller.poll([source])
    assert poller.poll([source]).parked == ["a"]
    # Edited in Lightroom: a new version, still failing, counts afresh (not parked at once).
    source.pages = [[("a", "2")]]
    assert poller.poll([source]).parked == []
    assert store.get(failure_key("paged", "a")).data["attempts"] == 1
    assert store.get(parked_key("paged", "a")).data["status"] == "unparked" and parked_photos(store) == []
    # Edited again, and this version fetches.
    source.pages, source.faults = [[("a", "3")]], {}
    assert poller.poll([source]).detected == ["a"]
    assert parked_photos(store) == []


def test_a_rendition_not_ready_is_not_a_failure_until_it_has_waited_ten_minutes(clock):
    poller, store, _ = make(clock=clock, park_after=2)
    source = PagedSource([[("a", "1"), ("b", "1")]], faults={"a": PhotoNotReady("fullsize being generated")})
    first = poller.poll([source])
    assert first.not_ready == ["a"] and first.failed == {} and first.detected == ["b"]
    record = store.get(failure_key("paged", "a")).data
    assert record["attempts"] == 0 and record["not_ready_since"]
    assert "updated_since" not in cursor(store)  # it still has to be fetched
    clock.now += 300
    assert poller.poll([source]).parked == [] and store.get(failure_key("paged", "a")).data["attempts"] == 0
    clock.now += 301  # not ready for over ten minutes: each poll now counts
    poller.poll([source])
    assert store.get(failure_key("paged", "a")).data["attempts"] == 1
    assert poller.poll([source]).parked == ["a"]
    assert "not ready after" in store.get(parked_key("paged", "a")).data["reason"]


def test_failures_of_our_own_aws_writes_do_not_count_towards_parking():
    poller, store, _ = make(park_after=1)

    def refuse(*args, **kwargs):
        raise ClientError({"Error": {"Code": "SlowDown", "Message": "reduce your request rate"}}, "PutObject")

    poller.raw.put = refuse
    result = poller.poll([PagedSource([[("a", "1")]])])
    assert "SlowDown" in result.failed["a"] and result.parked == []
    assert store.get(failure_key("paged", "a")) is None


def test_photos_failing_in_a_row_with_the_source_unavailable_are_an_outage_not_parked():
    poller, store, _ = make(park_after=1)
    down = SourceUnavailable("HTTP 503 after 4 attempts")
    source = PagedSource(
        [[("a", "1")], [("b", "1"), ("c", "1"), ("d", "1"), ("e", "1")]], faults={k: down for k in "bcde"}
    )
    result = poller.poll([source])
    assert result.detected == ["a"] and "SourceOutage: 3 photos in a row" in result.failed["source:paged"]
    assert result.parked == [] and store.list_keys(PARKED_PREFIX) == []
    assert all(store.get(failure_key("paged", k)) is None for k in "bcde")
    assert source.fetched == ["a", "b", "c", "d"]  # the pass stopped at the outage
    assert cursor(store)["pass"]["resume"] == {"page": 1}
    # One photo alone answered "unavailable" while the others fetch: that one counts.
    lone = PagedSource([[("x", "1"), ("y", "1")]], faults={"x": down})
    lone.name = "lone"
    assert poller.poll([lone]).parked == ["x"]


def test_settings_come_from_the_environment():
    assert PollerSettings.from_env({}) == PollerSettings(park_after=5, photo_min_seconds=10.0)
    assert PollerSettings.from_env({"SO_POLLER_PARK_AFTER": "2"}).park_after == 2
    for bad in ("two", "0", "-1"):
        with pytest.raises(ConfigError, match="SO_POLLER_PARK_AFTER"):
            PollerSettings.from_env({"SO_POLLER_PARK_AFTER": bad})


def test_the_parked_listing_shows_source_asset_version_attempts_reason_and_time():
    from socialomega.local.ops import parked_lines

    poller, store, _ = make(park_after=1)
    poller.poll([PagedSource([[("a", "1")]], faults={"a": OSError("rendition 404")})])
    rows = parked_photos(store)
    lines = parked_lines(rows)
    assert lines[0].split() == ["SOURCE", "ASSET", "VERSION", "ATTEMPTS", "PARKED_AT", "REASON"]
    assert lines[1].split()[:4] == ["paged", "a", "1", "1"] and "OSError: rendition 404" in lines[1]
    assert parked_lines([]) == ["no parked photos"]
