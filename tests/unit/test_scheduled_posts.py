"""Scheduled posts end to end on a fake store (scheduling/service.py, queue.py, release.py's
core, operations.py, through publishers/service.py): a target with slots posts each photo in
its own slot, in order, none early, none twice, calling the platform only then; a photo's own
time; the daily maximum; an open breaker moves the passed slots on in order; an operator's
cancel and now."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from socialomega.core.envelope import Envelope, new_event
from socialomega.core.http import Outcome
from socialomega.core.store import publication_key
from socialomega.core.targets import Target
from socialomega.publishers.base import PublishResult
from socialomega.publishers.claims import Publications
from socialomega.publishers.service import PublishService
from socialomega.scheduling import operations
from socialomega.scheduling.clock import ScheduleClock
from socialomega.scheduling.queue import SlotQueue
from socialomega.scheduling.service import Scheduler
from tests.unit.fakes import FakeStore, RecordingSender

MONDAY = datetime(2026, 12, 7, 7, 0, tzinfo=UTC)  # a Monday, 07:00 UTC
TARGET = {"name": "rest", "platform": "rest", "schedule": {"slots": ["09:00", "18:00"], "max_per_day": 2}}


class Platform:
    platform = "rest"
    retry_is_safe = True

    def __init__(self, clock: list[datetime]) -> None:
        self.clock = clock
        self.posts: list[tuple[str, datetime]] = []

    def publish(self, request, images, progress):
        self.posts.append((request.asset_id, self.clock[0]))
        return PublishResult(Outcome("ok", 201), remote_id=f"post-{len(self.posts)}")

    def find_post(self, request, progress):  # pragma: no cover - retry_is_safe
        raise AssertionError


class World:
    def __init__(self, target: dict = TARGET) -> None:
        self.now = [MONDAY]
        self.clock = ScheduleClock(real_now=lambda: self.now[0])
        self.store, self.sender = FakeStore(), RecordingSender()
        self.platform = Platform(self.now)
        self.target = target
        self.scheduler = Scheduler(SlotQueue(self.store), self.clock)
        self.service = PublishService(
            Publications(self.store),
            images=None,
            sender=self.sender,
            event_bus="bus",
            publisher_for=lambda _: (self.platform, self.target),
            scheduler=self.scheduler,
        )
        self.queue: list[dict] = []  # what the release sent back to the publish queue

    def photo(self, asset: str, keywords: list[str] | None = None) -> str:
        event = new_event(
            "PublishRequested",
            asset,
            {
                "target": "rest",
                "platform": "rest",
                "version": "v1",
                "variant": {"bucket": "b", "key": "k", "width": 1080, "height": 1080},
                "metadata": {"title": asset, "keywords": keywords or []},
            },
        )
        return self.service.handle(event)

    def release(self, breaker_open: bool = False) -> dict:
        line = self.scheduler.release(
            self.target,
            self.queue.append,
            breaker_open=breaker_open,
            cancelled=lambda slot: None,
            settle=lambda slot, status, fields: None,
        )
        while self.queue:  # the publisher takes what was released
            self.service.handle(Envelope.model_validate(self.queue.pop(0)))
        return line

    def run_until(self, end: datetime, step: timedelta = timedelta(minutes=30)) -> None:
        while self.now[0] < end:
            self.now[0] += step
            self.release()

    def record(self, asset: str) -> dict:
        return self.store.get(publication_key(asset, "v1", "rest")).data


def test_each_photo_waits_for_its_own_slot_and_goes_out_in_order_without_calling_the_platform_early():
    world = World()
    for n in range(5):
        assert world.photo(f"p{n}") == "scheduled"
    assert world.platform.posts == []  # nothing went out at 07:00
    slots = [world.record(f"p{n}")["slot_at"] for n in range(5)]
    assert slots == sorted(slots) and len(set(slots)) == 5
    assert [s[:16] for s in slots[:3]] == ["2026-12-07T09:00", "2026-12-07T18:00", "2026-12-08T09:00"]
    world.run_until(MONDAY + timedelta(days=3))
    assert [asset for asset, _ in world.platform.posts] == [f"p{n}" for n in range(5)]  # in order, once each
    for (_, at), slot in zip(world.platform.posts, slots, strict=True):
        assert datetime.fromisoformat(slot) <= at < datetime.fromisoformat(slot) + timedelta(minutes=30)  # not early
    assert all(world.record(f"p{n}")["status"] == "published" for n in range(5))


def test_a_photo_with_its_own_time_goes_out_then_and_the_others_keep_their_slots():
    world = World()
    assert world.photo("own", ["so:at:2026-12-07 13:30"]) == "scheduled"
    assert world.photo("next") == "scheduled"
    assert world.record("own")["slot_at"].startswith("2026-12-07T13:30")
    assert world.record("next")["slot_at"].startswith("2026-12-07T09:00")
    world.run_until(MONDAY + timedelta(hours=8))
    assert [asset for asset, _ in world.platform.posts] == ["next", "own"]


def test_a_redelivered_message_before_its_time_waits_again_and_a_late_one_is_not_posted_twice():
    world = World()
    world.photo("p0")
    assert world.photo("p0") == "scheduled" and world.platform.posts == []
    world.run_until(MONDAY + timedelta(hours=3))
    assert world.photo("p0") == "published" and len(world.platform.posts) == 1  # the publication is final


def test_while_the_breaker_is_open_the_passed_slots_move_on_in_order():
    world = World()
    for n in range(3):
        world.photo(f"p{n}")
    world.now[0] = MONDAY + timedelta(hours=10)  # 09:00 passed while the platform was down
    line = world.release(breaker_open=True)
    assert line["moved"] == 3 and world.platform.posts == []
    waiting = operations.waiting(world.store, [Target.model_validate(TARGET)], world.clock)
    assert [(r["asset_id"], r["at"][:16]) for r in waiting] == [
        ("p0", "2026-12-07T18:00"),
        ("p1", "2026-12-08T09:00"),
        ("p2", "2026-12-08T18:00"),
    ]
    world.run_until(MONDAY + timedelta(days=2))
    assert [asset for asset, _ in world.platform.posts] == ["p0", "p1", "p2"]


def test_an_operator_cancels_one_photo_and_sends_another_now():
    world = World()
    for n in range(3):
        world.photo(f"p{n}")
    targets = [Target.model_validate(TARGET)]
    assert operations.cancel(world.store, targets, world.clock, "p0") == ["rest"]
    assert world.record("p0")["status"] == "cancelled"
    moved = operations.move(world.store, targets, world.clock, "p2", None)
    assert moved[0]["moved"] == "yes"
    world.release()
    assert [asset for asset, _ in world.platform.posts] == ["p2"]  # now, before p1's slot
    world.run_until(MONDAY + timedelta(days=2))
    assert [asset for asset, _ in world.platform.posts] == ["p2", "p1"]  # p0 never


def test_without_a_schedule_a_photo_goes_out_at_once():
    world = World({"name": "rest", "platform": "rest"})
    assert world.photo("p0") == "published" and world.store.list_keys("schedule/") == []


def test_a_photo_missing_from_a_later_complete_pass_is_cancelled_at_its_slot():
    from socialomega.core.store import asset_key, selection_key
    from socialomega.scheduling.release import Selections

    world = World()
    for n in range(2):
        world.store.put(asset_key(f"p{n}"), {"asset_id": f"p{n}", "source": "lightroom"})
        world.photo(f"p{n}")
    later = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()  # a pass that began after planning
    world.store.put(
        selection_key("lightroom"),
        {"source": "lightroom", "pass_started_at": later, "finished_at": later, "asset_ids": ["p1"]},
    )
    selections = Selections(world.store)
    world.now[0] = MONDAY + timedelta(hours=3)
    line = world.scheduler.release(
        world.target,
        world.queue.append,
        breaker_open=False,
        cancelled=selections.left,
        settle=lambda slot, status, fields: None,
    )
    assert (line["cancelled"], line["released"]) == (1, 0)  # p0's slot (09:00) came: it left the album
    left = next(s for s in world.scheduler.queue.slots("rest", MONDAY) if s.data["asset_id"] == "p0")
    assert left.state == "cancelled" and "left the album" in left.data["reason"]


def test_a_photo_that_lost_its_keyword_is_cancelled_and_one_tagged_again_is_not():
    from socialomega.core.store import asset_key, selection_key
    from socialomega.scheduling.release import Selections

    world = World()
    world.store.put(asset_key("p0"), {"asset_id": "p0", "source": "lightroom"})
    world.photo("p0")
    slot = world.scheduler.queue.slots("rest", MONDAY)[0]
    selections = Selections(world.store)
    assert selections.left(slot) is None  # nothing known about the selection yet
    later = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    world.store.put(selection_key("lightroom"), {"source": "lightroom", "left": {"p0": later}})
    assert "lost its publishing keyword" in (Selections(world.store).left(slot) or "")
    earlier = "2000-01-01T00:00:00+00:00"  # lost before this post was planned: a newer tag planned it
    world.store.put(selection_key("lightroom"), {"source": "lightroom", "left": {"p0": earlier}})
    assert Selections(world.store).left(slot) is None
