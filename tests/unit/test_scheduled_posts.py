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


def test_a_photos_own_time_is_kept_on_a_full_day_and_while_the_breaker_moves_the_others():
    world = World()
    world.photo("p0")  # 09:00
    world.photo("p1")  # 18:00: Monday is full (max_per_day 2)
    assert world.photo("own", ["so:at:2026-12-07 13:30"]) == "scheduled"
    assert world.record("own")["slot_at"].startswith("2026-12-07T13:30")  # kept on the full day
    assert world.photo("p2") == "scheduled" and world.record("p2")["slot_at"].startswith("2026-12-08T09:00")
    world.now[0] = MONDAY + timedelta(hours=3)  # 10:00: 09:00 passed while the platform was down
    world.release(breaker_open=True)
    waiting = operations.waiting(world.store, [Target.model_validate(TARGET)], world.clock)
    assert [(r["asset_id"], r["at"][:16]) for r in waiting] == [
        ("own", "2026-12-07T13:30"),  # the photographer's time is not pushed away by a delayed post
        ("p0", "2026-12-07T18:00"),
        ("p1", "2026-12-08T09:00"),
        ("p2", "2026-12-08T18:00"),
    ]
    world.run_until(MONDAY + timedelta(days=2))
    assert [asset for asset, _ in world.platform.posts] == ["own", "p0", "p1", "p2"]


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


def test_a_photo_that_left_the_album_after_it_was_planned_is_cancelled_at_its_slot():
    from socialomega.core.store import asset_key, selection_key
    from socialomega.scheduling.release import Selections

    world = World()
    for n in range(2):
        world.store.put(asset_key(f"p{n}"), {"asset_id": f"p{n}", "source": "lightroom"})
        world.photo(f"p{n}")
    later = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()  # a pass that began after planning
    world.store.put(
        selection_key("lightroom"),
        {"source": "lightroom", "finished_at": later, "asset_ids": ["p1"], "left": {"p0": later}},
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
    assert left.state == "cancelled" and "left the selection" in left.data["reason"]


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
    assert "left the selection" in (Selections(world.store).left(slot) or "")
    earlier = "2000-01-01T00:00:00+00:00"  # lost before this post was planned: a newer tag planned it
    world.store.put(selection_key("lightroom"), {"source": "lightroom", "left": {"p0": earlier}})
    assert Selections(world.store).left(slot) is None


class Deleter:
    platform = "rest"

    def __init__(self, delete: bool = True, answer: Outcome | None = None) -> None:
        from socialomega.publishers.base import EditSupport

        self.edits = EditSupport(delete=delete)
        self.answer = answer or Outcome("ok", 204)
        self.deleted: list[str] = []

    def delete_post(self, remote_id):
        self.deleted.append(remote_id)
        return self.answer

    def post_text(self, request):  # pragma: no cover - an Editor has them; unpublishing does not call them
        raise AssertionError

    def update_text(self, remote_id, request, text):  # pragma: no cover
        raise AssertionError


class Targets:
    def __init__(self, targets):
        self.targets = targets

    def parameter(self, name):
        return self.targets


def posted_photo(store: FakeStore, asset: str, versions: dict[str, tuple[str, str]]) -> None:
    """An asset whose versions were posted on target rest: version -> (status, remote id)."""
    from socialomega.core.store import asset_key

    store.put(asset_key(asset), {"asset_id": asset, "source": "lightroom", "versions": {v: {} for v in versions}})
    for version, (status, remote_id) in versions.items():
        store.put(publication_key(asset, version, "rest"), {"status": status, "remote_id": remote_id})


def test_a_photo_that_left_is_unpublished_on_targets_that_opt_in_only():
    from socialomega.scheduling.unpublish import unpublish_departed

    store = FakeStore()
    posted_photo(
        store, "a1", {"v1": ("published", "post-1"), "v2": ("edit_ignored", "post-1"), "v3": ("published", "post-3")}
    )
    deleter = Deleter()
    targets = [{"name": "rest", "platform": "rest", "unpublish_on_leave": True}]
    lines = unpublish_departed(Targets(targets), store, {"a1": "2026-12-07T10:00:00+00:00"}, lambda c, n: (deleter, {}))
    assert sorted(deleter.deleted) == ["post-1", "post-3"]  # each post once, the edit's record too
    assert {store.get(publication_key("a1", v, "rest")).data["status"] for v in ("v1", "v2", "v3")} == {"unpublished"}
    assert all(line["result"] == "deleted" for line in lines) and len(lines) == 3
    # Again: nothing left to delete.
    assert (
        unpublish_departed(Targets(targets), store, {"a1": "2026-12-07T10:00:00+00:00"}, lambda c, n: (deleter, {}))
        == []
    )
    # A target that did not opt in keeps its posts.
    store2 = FakeStore()
    posted_photo(store2, "a1", {"v1": ("published", "post-1")})
    quiet = [{"name": "rest", "platform": "rest"}]
    assert unpublish_departed(Targets(quiet), store2, {"a1": "x"}, lambda c, n: (deleter, {})) == []


def test_a_platform_that_cannot_delete_is_recorded_once_and_a_failed_delete_is_tried_again():
    from socialomega.scheduling.unpublish import unpublish_departed

    targets = [{"name": "rest", "platform": "rest", "unpublish_on_leave": True}]
    store = FakeStore()
    posted_photo(store, "a1", {"v1": ("published", "post-1")})
    cannot = Deleter(delete=False)
    [line] = unpublish_departed(Targets(targets), store, {"a1": "t"}, lambda c, n: (cannot, {}))
    assert "cannot delete" in line["result"] and cannot.deleted == []
    assert unpublish_departed(Targets(targets), store, {"a1": "t"}, lambda c, n: (cannot, {})) == []  # asked once
    store = FakeStore()
    posted_photo(store, "a1", {"v1": ("published", "post-1")})
    busy = Deleter(answer=Outcome("retryable", 503, "http_503", "busy"))
    [line] = unpublish_departed(Targets(targets), store, {"a1": "t"}, lambda c, n: (busy, {}))
    assert (
        line["result"].startswith("http_503")
        and store.get(publication_key("a1", "v1", "rest")).data["status"] == "published"
    )
    assert len(unpublish_departed(Targets(targets), store, {"a1": "t"}, lambda c, n: (busy, {}))) == 1  # again


def test_an_edit_before_the_slot_takes_the_waiting_versions_place_and_posts_once():
    world = World()
    world.photo("p0")
    world.photo("p1")
    edited = new_event(
        "PublishRequested",
        "p0",
        {
            "target": "rest",
            "platform": "rest",
            "version": "v2",
            "variant": {"bucket": "b", "key": "k", "width": 1080, "height": 1080},
            "metadata": {"title": "p0, warmer"},
            "earlier_versions": ["v1"],
        },
    )
    assert world.service.handle(edited) == "scheduled"
    first = world.store.get(publication_key("p0", "v1", "rest")).data
    second = world.store.get(publication_key("p0", "v2", "rest")).data
    assert first["status"] == "cancelled" and "replaced by version v2" in first["reason"]
    assert second["slot_at"] == first["slot_at"]  # the same slot, ahead of p1
    world.run_until(MONDAY + timedelta(days=1))
    assert [asset for asset, _ in world.platform.posts] == ["p0", "p1"]  # p0 once, as v2
    assert world.store.get(publication_key("p0", "v2", "rest")).data["status"] == "published"
    assert world.store.get(publication_key("p0", "v1", "rest")).data["status"] == "cancelled"
