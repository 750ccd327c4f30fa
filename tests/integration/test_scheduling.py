"""Posting slots on LocalStack with the schedule's clock compressed by configuration (issue 14):
the release run, the publishers and the planner are the code AWS runs; only the clock is faster
(SO_SCHEDULE_CLOCK_SCALE: a real second is a virtual hour here).

The photos are planned on real time; then the clock is compressed, meeting real time at that
moment, so the slots planned come in seconds. Two targets get slots and a daily maximum in SSM
(as `make deploy` would write them): X at
03:00, 09:00, 15:00, 21:00 UTC, at most 3 a day and its own daily cap of 3 (the platform quota
the planner respects); LinkedIn at 06:00, 12:00, 18:00, 23:00, at most 4 a day. Twelve new photos arrive
in the album; one is tagged for LinkedIn only, one carries its own time. The test then fires the
`release` schedule the way the minute schedule would and checks: every post leaves in its slot
and order, none early, none twice, at most the daily maximum a day; the LinkedIn-only photo
never reaches X; the photo with its own time goes out then; a photo taken out of the album
before its slots never posts, and its post on Facebook (which opts in to unpublishing) is
deleted; X is never asked to post more than its cap (no refused call: the
fake's request log has as many post calls as posts)."""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from socialomega.core import aws, config
from socialomega.core import store as keys
from socialomega.sandbox.photos import PUBLISH_ALBUM
from socialomega.scheduling.clock import EPOCH_VARIABLE, SCALE_VARIABLE

pytestmark = pytest.mark.integration
SCALE = 3600.0  # virtual seconds per real second: a virtual hour a second
SCHEDULES = {
    "x": {"schedule": {"slots": ["03:00", "09:00", "15:00", "21:00"], "max_per_day": 3}, "daily_cap": 3},
    "linkedin": {"schedule": {"slots": ["06:00", "12:00", "18:00", "23:00"], "max_per_day": 4}},
    "facebook": {"unpublish_on_leave": True},  # posts at once; deletes when a photo leaves
}


def virtual(real: datetime, epoch: datetime) -> datetime:
    return epoch + (real - epoch) * SCALE


@pytest.fixture(scope="module")
def scheduled(sandbox, stack, store, runtime, first_run) -> Iterator[dict[str, Any]]:  # noqa: ARG001
    ssm = aws.client("ssm")
    name = f"{stack['service_env']['SO_CONFIG_PREFIX']}/targets"
    original = ssm.get_parameter(Name=name)["Parameter"]["Value"]
    items = json.loads(original)
    items = items.get("targets", items) if isinstance(items, dict) else items
    ssm.put_parameter(
        Name=name, Value=json.dumps([{**t, **SCHEDULES.get(t["name"], {})} for t in items]), Overwrite=True
    )
    config.clear_caches()
    x_calls_before = len([r for r in sandbox.social["x"].request_log() if r.get("path") == "/2/tweets"])
    photos: list[Any] = []
    try:
        photos += [sandbox.add_photo(in_album=True) for _ in range(12)]
        only_linkedin = sandbox.edit_photo(photos[3].id, keywords=["so:only:linkedin"], develop=False)
        # Its own time: in 2 h 17 min (real time, as planning runs on it), not one of the slots.
        own = (datetime.now(UTC) + timedelta(hours=2, minutes=17)).replace(second=0, microsecond=0)
        own += timedelta(minutes=own.minute == 0)  # never a slot instant another photo may hold
        own_version = sandbox.edit_photo(photos[5].id, keywords=[f"so:at:{own:%Y-%m-%d %H:%M}"], develop=False)
        runtime.run_schedule("poller")
        assert runtime.wait_until_idle(timeout=180, quiet_seconds=1.0)
        versions = {p.id: p.version for p in sandbox.selected_photos() if p.id in {q.id for q in photos}}
        versions[photos[3].id], versions[photos[5].id] = only_linkedin, own_version
        # One photo leaves the album before its slots: the next poll's complete pass misses it.
        state = sandbox.lightroom.state
        state.album_remove(state.album_by_name(PUBLISH_ALBUM).id, [photos[7].id])
        runtime.run_schedule("poller")
        assert runtime.wait_until_idle(timeout=60, quiet_seconds=1.0)
        # Every post is planned (on real time). From here the schedule's clock runs fast: it
        # meets real time now, so the slots planned are reached in seconds.
        epoch = datetime.now(UTC)
        os.environ[SCALE_VARIABLE], os.environ[EPOCH_VARIABLE] = str(SCALE), epoch.isoformat()
        # The release, as the minute schedule fires it, until nothing waits (about 4 virtual days).
        limit = time.monotonic() + 240
        while time.monotonic() < limit:
            runtime.run_schedule("release")
            runtime.wait_until_idle(timeout=60, quiet_seconds=0.2)
            waiting = [
                k for t in SCHEDULES for k in store.list_keys(f"schedule/{t}/") if slot_state(store, k) == "waiting"
            ]
            if not waiting:
                break
            time.sleep(0.1)
        yield {"photos": photos, "versions": versions, "epoch": epoch, "own": own, "x_calls_before": x_calls_before}
    finally:
        os.environ.pop(SCALE_VARIABLE, None)
        os.environ.pop(EPOCH_VARIABLE, None)
        ssm.put_parameter(Name=name, Value=original, Overwrite=True)
        config.clear_caches()
        # The twelve photos (some with publishing keywords) leave the album: the suites that
        # follow work on the sandbox's own photos.
        if photos:
            state = sandbox.lightroom.state
            state.album_remove(state.album_by_name(PUBLISH_ALBUM).id, [p.id for p in photos])


def slot_state(store, key: str) -> str | None:
    doc = store.get(key)
    return None if doc is None else doc.data.get("state")


def records(store, scheduled, target: str) -> list[dict[str, Any]]:
    found = []
    for photo in scheduled["photos"]:
        doc = store.get(keys.publication_key(photo.id, scheduled["versions"][photo.id], target))
        if doc is not None:
            found.append(doc.data)
    return found


@pytest.mark.parametrize("target", ["x", "linkedin"])
def test_each_post_leaves_in_its_slot_and_order_none_early_none_twice(store, scheduled, target):
    left = scheduled["photos"][7].id
    posted = [r for r in records(store, scheduled, target) if r["asset_id"] != left]
    expected = 10 if target == "x" else 11  # the LinkedIn-only photo never reaches X; one left the album
    assert len(posted) == expected and all(r["status"] == "published" for r in posted), [r["status"] for r in posted]
    slots = [datetime.fromisoformat(r["slot_at"]) for r in posted]
    published = [virtual(datetime.fromisoformat(r["published_at"]), scheduled["epoch"]) for r in posted]
    assert len(set(slots)) == len(slots), "one post per slot"
    for slot, at in zip(slots, published, strict=True):
        assert at >= slot, f"posted at {at}, before its slot {slot}"
        assert at - slot < timedelta(hours=12), f"posted at {at}, long after its slot {slot}"
    order = sorted(range(len(posted)), key=lambda i: slots[i])
    assert [published[i] for i in order] == sorted(published), "the posts went out in slot order"
    own = scheduled["photos"][5].id
    # The daily maximum paces the posts the schedule places; the photo's own time is kept even
    # on a full day (planner.py), so it is not one of them.
    per_day = Counter(s.date() for r, s in zip(posted, slots, strict=True) if r["asset_id"] != own)
    assert max(per_day.values()) <= SCHEDULES[target]["schedule"]["max_per_day"], per_day
    allowed = {"x": {3, 9, 15, 21}, "linkedin": {6, 12, 18, 23}}[target]
    assert all(s.hour in allowed for r, s in zip(posted, slots, strict=True) if r["asset_id"] != own)


def test_the_photo_with_its_own_time_goes_out_then(store, scheduled):
    """LinkedIn: exactly then, even when the schedule has already filled that day (which it has
    or not depending on the hour the suite runs). X's rolling cap of 3, the platform's quota,
    may be full around it: then its next allowed slot after that time, never before."""
    own = scheduled["photos"][5].id
    times = {}
    for target in ("x", "linkedin"):
        record = next(r for r in records(store, scheduled, target) if r["asset_id"] == own)
        times[target] = datetime.fromisoformat(record["slot_at"])
        assert "its own time" in record.get("reason", ""), record
    assert times["linkedin"] == scheduled["own"]
    assert times["x"] >= scheduled["own"]


def test_x_is_never_asked_past_its_quota(sandbox, store, scheduled):
    posts = [r for r in records(store, scheduled, "x") if r["status"] == "published"]
    calls = len([r for r in sandbox.social["x"].request_log() if r.get("path") == "/2/tweets"])
    assert calls - scheduled["x_calls_before"] == len(posts), "every call to post was a post: none refused, none early"
    starts = sorted(datetime.fromisoformat(r["slot_at"]) for r in posts)
    for i, start in enumerate(starts):  # at most the cap (3) in any 24 h
        assert sum(1 for s in starts[i:] if s < start + timedelta(hours=24)) <= 3


def test_a_photo_that_left_the_album_before_its_slot_never_posts(sandbox, store, scheduled):
    left = scheduled["photos"][7].id
    for target in ("x", "linkedin"):
        [record] = [r for r in records(store, scheduled, target) if r["asset_id"] == left]
        assert record["status"] == "cancelled" and "left the selection" in record["reason"], record
    posted_ids = {r["remote_id"] for t in ("x", "linkedin") for r in records(store, scheduled, t) if r.get("remote_id")}
    assert len(posted_ids) == 21  # 10 on X and 11 on LinkedIn, none for the photo that left


def test_on_a_target_that_opts_in_the_post_of_a_photo_that_left_is_deleted(sandbox, store, scheduled):
    left = scheduled["photos"][7].id
    [record] = [r for r in records(store, scheduled, "facebook") if r["asset_id"] == left]
    assert record["status"] == "unpublished" and "left the selection" in record["reason"], record
    post = next(p for p in sandbox.social_posts("facebook") if p["post_id"] == record["remote_id"])
    assert post["deleted"] is True
    kept = [r for r in records(store, scheduled, "facebook") if r["asset_id"] != left]
    assert kept and all(r["status"] == "published" for r in kept)  # the others stay
