"""The poller over the sandbox's Lightroom (real HTTP, the real client and source, in-memory
AWS): it resumes at the page where its deadline stopped it, parks a photo whose renditions stay
404 until the photo is edited, fetches a stream cut mid-body again, and leaves a rendition still
being generated for the next poll."""

from __future__ import annotations

import pytest
import requests

from socialomega.core import deadline as deadline_module
from socialomega.core import store as keys
from socialomega.core.deadline import Deadline
from socialomega.poller.lightroom import LightroomClient
from socialomega.poller.lightroom_source import LightroomSource
from socialomega.poller.parking import failure_key, parked_key, parked_photos
from socialomega.poller.poll import Poller
from socialomega.poller.settings import PollerSettings
from tests.unit.fakes import FakeStore, MemoryBlobs, RecordingSender

SANDBOX_SEED = 7


class FakeClock:
    """The deadline module's clock: every rendition download costs `cost` seconds of it."""

    def __init__(self, cost: float = 0.0) -> None:
        self.now, self.cost = 1000.0, cost

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class TimedSession:
    """The client's session, with the fake clock moving by `clock.cost` per rendition GET."""

    def __init__(self, session, clock: FakeClock) -> None:
        self.session, self.clock = session, clock

    def request(self, method, url, **kwargs):
        if method == "GET" and "/renditions/" in url:
            self.clock.now += self.clock.cost
        return self.session.request(method, url, **kwargs)

    def close(self) -> None:
        self.session.close()


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(deadline_module, "time", fake)
    return fake


def client(sandbox, clock: FakeClock | None = None) -> LightroomClient:
    creds = sandbox.credentials
    made = LightroomClient(
        sandbox.lightroom_url,
        creds["lightroom_api_key"],
        creds["lightroom_token"],
        sleep=clock.sleep if clock else (lambda seconds: None),
        allow_private_network=True,
    )
    if clock is not None:
        made.session = TimedSession(made.session, clock)  # type: ignore[assignment]
    return made


def poller(store=None, **settings):
    store = store or FakeStore()
    sender = RecordingSender()
    return Poller(store, MemoryBlobs("raw"), sender, "images", settings=PollerSettings(**settings)), store, sender


def selected(lr) -> list[str]:
    album = next(a for a in lr.albums.values() if a.name == "Publish")
    return list(album.asset_ids)


def album_requests(lr) -> list[str]:
    with lr.lock:
        return [r["query"] for r in lr.requests if r["path"].endswith("/assets") and "/albums/" in r["path"]]


def test_a_poll_stopped_by_its_deadline_resumes_at_its_page_and_detects_each_photo_once(sandbox, lr, clock):
    clock.cost = 10.0
    source = LightroomSource(client(sandbox, clock), {"album": "Publish", "page_size": 2})
    run, store, sender = poller(photo_min_seconds=10)
    with deadline_module.bound(Deadline(clock.now + 60)):  # 57 s usable: five photos of 10 s
        first = run.poll([source])
    assert len(first.detected) == 5 and first.failed == {} and "lightroom" in first.stopped
    resume = store.get(keys.cursor_key("lightroom")).data["pass"]["resume"]
    assert set(resume) == {"captured_before"}  # the third page, not the first
    lr.requests.clear()
    with deadline_module.bound(Deadline(clock.now + 600)):
        second = run.poll([source])
    assert second.stopped == {} and not set(first.detected) & set(second.detected)
    assert sorted(first.detected + second.detected) == sorted(selected(lr))
    assert f"captured_before={resume['captured_before']}".replace(":", "%3A") in album_requests(lr)[0]
    assert len(sender.queue) == len(selected(lr))
    assert "pass" not in store.get(keys.cursor_key("lightroom")).data


def test_a_photo_whose_renditions_stay_404_is_parked_then_tried_again_once_edited(sandbox, lr):
    photo = selected(lr)[0]
    control = f"{sandbox.lightroom_url}/_sandbox/assets/{photo}/renditions"
    requests.post(control, json={"missing": True}, timeout=5).raise_for_status()
    source = LightroomSource(client(sandbox), {"album": "Publish"})
    run, store, _ = poller(park_after=3)
    for _ in range(2):
        result = run.poll([source])
        assert "LightroomNotFound" in result.failed[photo] and result.parked == []
    assert run.poll([source]).parked == [photo]
    parked = store.get(parked_key("lightroom", photo)).data
    assert parked["attempts"] == 3 and "HTTP 404" in parked["reason"] and "rendition" in parked["reason"]
    lr.requests.clear()
    fourth = run.poll([source])
    assert fourth.skipped_parked == 1 and fourth.failed == {}
    assert not [r for r in lr.requests if f"/assets/{photo}/renditions" in r["path"]]  # not even asked
    assert store.get(keys.cursor_key("lightroom")).data.get("updated_since")  # the pass is clean again

    version = sandbox.edit_photo(photo, title="Re-rendered")  # a new version: renditions exist again
    fifth = run.poll([source])
    assert fifth.detected == [photo] and parked_photos(store) == []
    assert store.get(keys.detection_key("lightroom", photo, version)) is not None


def test_a_rendition_cut_mid_stream_during_a_poll_is_fetched_again(sandbox, lr):
    photo = selected(lr)[1]
    version = sandbox.edit_photo(photo, title="Cut once")
    requests.post(
        f"{sandbox.lightroom_url}/_sandbox/faults",
        json={"kind": "cut_chunked", "path_contains": f"/assets/{photo}/renditions/"},
        timeout=5,
    ).raise_for_status()
    run, store, _ = poller()
    result = run.poll([LightroomSource(client(sandbox), {"album": "Publish"})])
    assert photo in result.detected and result.failed == {}
    assert store.get(failure_key("lightroom", photo)) is None
    assert store.get(keys.detection_key("lightroom", photo, version)) is not None


def test_a_rendition_still_being_generated_is_left_for_the_next_poll(sandbox, lr):
    photo = selected(lr)[2]
    lr.rendition_generation_delay = 10_000
    source = LightroomSource(client(sandbox), {"album": "Publish", "rendition": "fullsize"})
    run, store, _ = poller(park_after=1)
    try:
        first = run.poll([source])
        assert photo in first.not_ready and photo not in first.failed and first.parked == []
        assert store.get(failure_key("lightroom", photo)).data["attempts"] == 0
        assert "updated_since" not in store.get(keys.cursor_key("lightroom")).data
        with lr.lock:  # Lightroom finished meanwhile
            for asset in lr.assets.values():
                asset.generated = {t: (updated, 0.0) for t, (updated, _) in asset.generated.items()}
        second = run.poll([source])
        assert photo in second.detected and second.not_ready == []
    finally:
        for asset in lr.assets.values():
            asset.generated.clear()
