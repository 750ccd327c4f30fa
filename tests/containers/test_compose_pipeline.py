"""The pipeline with every service in its own container (docker-compose.yml), against the
project's images: the native integration test's assertions, plus the poller container's own
schedule picking up an edit.

Each service container runs only its own consumer(s), so a photo crossing poller ->
processor -> publishers -> analytics proves the images hold each service's code and
dependencies (libvips only in the processor image) and that the containers cooperate only
through LocalStack's queues, topics and buckets.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from socialomega.analytics.daily import post_engagement
from socialomega.core import store as keys
from socialomega.sandbox import webhooks as platform_side
from tests.containers.conftest import (
    POLL_EVERY,
    SERVICES,
    WEBHOOK_PORT,
    pending_messages,
    running_services,
    wait_until,
)

# The same assertions as the native integration test, run against the containers' results.
from tests.integration.test_pipeline import (  # noqa: F401 (collected here)
    first_run_posts,
    selected,
    test_publication_and_analytics_records_are_present,
    test_raw_and_processed_objects_are_right_and_carry_no_private_metadata,
    test_the_corrupt_photo_is_dead_lettered_with_its_reason_and_nothing_else_is,
)

pytestmark = pytest.mark.containers
TARGETS = ("rest", "gallery")


def test_every_service_runs_in_its_own_container(stack, first_run):
    assert set(SERVICES) <= running_services()


def test_every_selected_photo_reaches_every_target_exactly_once(sandbox, store, first_run):
    photos = selected(sandbox)
    assert len(photos) >= 5
    counts = first_run_posts(sandbox, store)  # the first poll's versions: other tests post edits
    assert counts == Counter({(target, p.id): 1 for p in photos for target in TARGETS})


def test_every_selected_photo_reaches_every_social_platform_exactly_once(sandbox, store, first_run):
    photos = selected(sandbox)
    # Every version of each photo the pipeline saw (another test may have posted an edit).
    versions = [(p.id, v) for p in photos for v in store.get(keys.asset_key(p.id)).data["versions"]]
    for platform, id_field in (("instagram", "id"), ("x", "id"), ("facebook", "post_id"), ("linkedin", "id")):
        posted = sorted(post[id_field] for post in sandbox.social_posts(platform))
        records = [store.get(keys.publication_key(asset, version, platform)) for asset, version in versions]
        current = [store.get(keys.publication_key(p.id, p.version, platform)) for p in photos]
        assert all(r and r.data.get("remote_id") for r in current), (platform, "a current version is not posted")
        assert posted == sorted(r.data["remote_id"] for r in records if r and r.data.get("remote_id")), platform


def test_the_poller_container_schedule_picks_up_an_edit_and_posts_it_once(sandbox, store, stack, first_run):
    photo = selected(sandbox)[1]
    new_version = sandbox.edit_photo(photo.id, title="Edited in the container test")

    def posted() -> bool:
        return (
            len([p for p in sandbox.rest_posts() if p["version"] == new_version]) >= len(TARGETS)
            and pending_messages(stack) == 0
        )

    wait_until(posted, timeout=120, what="the edited photo posted to every target")

    # At least one more scheduled poll must find nothing new. The poller stamps its cursor at the
    # end of each complete pass, after sending what it detected; the pass that detected the edit
    # stamped long before the edit was processed and posted. So a new stamp is a later pass: wait
    # for it, and for the queues to stay empty after it (what it sent would be in them).
    def polled_at() -> str | None:
        cursor = store.get(keys.cursor_key("lightroom"))
        return cursor.data.get("polled_at") if cursor else None

    stamp = polled_at()
    wait_until(
        lambda: polled_at() != stamp and pending_messages(stack) == 0,
        timeout=3 * POLL_EVERY + 30,
        what="one more scheduled poll by the poller container, its queues quiet after it",
    )
    posts = [p for p in sandbox.rest_posts() if p["asset_id"] == photo.id and p["version"] == new_version]
    assert Counter(p["target"] for p in posts) == Counter({t: 1 for t in TARGETS})
    assert {p["target"]: (p.get("json") or p.get("form"))["title"] for p in posts} == {
        t: "Edited in the container test" for t in TARGETS
    }
    for target in TARGETS:
        assert store.get(keys.publication_key(photo.id, new_version, target)).data["status"] == "published"


def test_the_webhooks_container_records_signed_engagement_once(store, stack, first_run):
    post = store.get(store.list_keys("posts/facebook/")[0]).data
    url = f"http://127.0.0.1:{WEBHOOK_PORT}"
    assert platform_side.verify_endpoint(url, "facebook")
    like = platform_side.notification("facebook", "like", post["remote_id"])
    for _ in range(2):  # Meta retries: counted once
        assert platform_side.deliver(url, "facebook", like).json()["recorded"] == 1
    assert platform_side.deliver(url, "facebook", like, tamper=True).status_code == 401

    def recorded() -> bool:
        now = datetime.now(UTC)  # the like's day (the notification's time): the shards it lands in
        days = [f"{now + timedelta(days=d):%Y-%m-%d}" for d in (-1, 0, 1)]
        likes = post_engagement(store, days).get((post["target"], post["remote_id"]), {}).get("likes")
        return likes == 1 and pending_messages(stack) == 0

    wait_until(recorded, timeout=60, what="the like counted by the analytics container")
