"""Every publisher stops at the invocation's deadline (core/deadline.py) with its progress saved:
the wait loops (Instagram's container status, LinkedIn's image AVAILABLE, X's media processing)
stop instead of sleeping past it, a call is not sent without the time to answer, and the next
delivery polls the saved container, image or media id instead of creating another.

Each platform's fake is served over real HTTP; time is fake: the publishers' injected `sleep`
moves one clock that the deadline module reads as `time.monotonic` and the fakes as wall time.
"""

from __future__ import annotations

import time

import pytest

from socialomega.core import deadline
from socialomega.platforms.facebook import publisher as fbpub
from socialomega.platforms.instagram import publisher as ig
from socialomega.platforms.linkedin import publisher as li
from socialomega.platforms.rest.publisher import RestPublisher
from socialomega.platforms.rest.settings import RestEndpoint
from socialomega.platforms.x import publisher as xpub
from socialomega.publishers.platform import logger
from socialomega.sandbox import facebook as fbfake
from socialomega.sandbox import instagram as igfake
from socialomega.sandbox import linkedin as lifake
from socialomega.sandbox import x as xfake
from tests.unit import test_facebook_publisher as fb_tests
from tests.unit import test_instagram_publisher as ig_tests
from tests.unit import test_linkedin_publisher as li_tests
from tests.unit import test_x_publisher as x_tests
from tests.unit.fakes import MemoryCredentials, MemoryProgress
from tests.unit.test_rest_publisher import FakeSession, Images

MARGIN = deadline.DEFAULT_MARGIN_SECONDS


class FakeTime:
    """One clock for the deadline (`monotonic`), the fakes (`()`, wall seconds) and the
    publishers' injected `sleep`, which moves it and records what was slept."""

    def __init__(self) -> None:
        self.offset = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return 1000.0 + self.offset

    def __call__(self) -> float:
        return time.time() + self.offset

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.offset += seconds


@pytest.fixture
def clock(monkeypatch):
    fake = FakeTime()
    monkeypatch.setattr(deadline, "time", fake)
    return fake


def left(seconds: float):
    """Bind a deadline that leaves `seconds` after the margin (`deadline.current()` answers it)."""
    return deadline.bound(deadline.Deadline.in_seconds(seconds + MARGIN))


def is_deadline(outcome, retry_after: float) -> bool:
    return (outcome.kind, outcome.code, outcome.status, outcome.retry_after) == (
        "retryable",
        "deadline",
        None,
        retry_after,
    )


# --- Instagram: container status polling --------------------------------------------------------


@pytest.fixture
def ig_fake(clock):
    return igfake.InstagramFake(processing_polls=1, clock=clock, fetch_timeout=2.0)


def instagram(url, clock, **overrides):
    target = {
        **igfake.sandbox_target(url, "instagram-main"),
        "status_poll_attempts": 5,
        "status_poll_initial_delay": 2.0,
        "status_poll_max_delay": 16.0,
        **overrides,
    }
    return ig.build(target, MemoryCredentials(igfake.sandbox_secret()), sleep=clock.sleep)


def test_instagram_polling_stops_at_the_deadline_and_the_next_delivery_polls_the_same_container(
    ig_fake, mount, clock, served_images
):
    url = mount(ig_fake)
    served_images.add("processed/a1/v1/instagram.jpg", ig_tests.jpeg(1080, 1350))
    ig_fake.set_processing_polls(4)
    progress = MemoryProgress()
    with left(5.0):
        # status IN_PROGRESS, wait 2 s (3 s left), status IN_PROGRESS: 4 s more would pass the deadline
        first = instagram(url, clock).publish(ig_tests.make_request(), served_images, progress)
    assert is_deadline(first.outcome, 4.0), first.outcome
    assert clock.sleeps == [2.0] and "still IN_PROGRESS" in first.outcome.message
    container_id = progress.get("container")["id"]
    assert progress.final_marker is None and ig_fake.posts() == []

    clock.sleeps.clear()
    with left(60.0):
        second = instagram(url, clock).publish(ig_tests.make_request(), served_images, progress)
    assert second.outcome.ok, second.outcome
    assert clock.sleeps == [2.0, 4.0]  # two more IN_PROGRESS reads, then FINISHED
    containers = [r for r in ig_tests.api_calls(ig_fake, "POST") if r["path"].endswith(f"{igfake.IG_USER_ID}/media")]
    assert len(containers) == 1 and [p["container_id"] for p in ig_fake.posts()] == [container_id]


def test_instagram_sends_nothing_without_the_time_for_one_call(ig_fake, mount, clock, served_images):
    url = mount(ig_fake)
    served_images.add("processed/a1/v1/instagram.jpg", ig_tests.jpeg(1080, 1350))
    with left(0.5):
        result = instagram(url, clock).publish(ig_tests.make_request(), served_images, MemoryProgress())
    assert is_deadline(result.outcome, 1.0)
    assert ig_tests.api_calls(ig_fake) == [] and served_images.fetches == []


def test_instagram_media_publish_is_not_sent_at_the_deadline_and_nothing_is_unknown(
    ig_fake, mount, clock, served_images
):
    """A final call not sent is retryable, never unknown: the service then forgets its marker."""
    url = mount(ig_fake)
    served_images.add("processed/a1/v1/instagram.jpg", ig_tests.jpeg(1080, 1350))
    ig_fake.set_processing_polls(0)
    progress = MemoryProgress()

    def slow_mark_final(marker):  # the time runs out between the marker and media_publish
        MemoryProgress.mark_final(progress, marker)
        clock.offset += 9.5

    progress.mark_final = slow_mark_final
    with left(10.0):
        result = instagram(url, clock).publish(ig_tests.make_request(), served_images, progress)
    assert is_deadline(result.outcome, 1.0) and ig_fake.posts() == []
    assert ig_tests.api_calls(ig_fake, contains="media_publish") == []


# --- LinkedIn: image AVAILABLE wait -------------------------------------------------------------


@pytest.fixture
def li_fake(clock):
    return lifake.LinkedInFake(clock=clock)


def linkedin(url, clock, **overrides):
    target = {**lifake.sandbox_target(url, "li-main"), "image_wait_seconds": 30, "image_poll_seconds": 2.0, **overrides}
    publisher = li.build(target, MemoryCredentials(lifake.sandbox_secret()))
    publisher.sleep, publisher.clock = clock.sleep, clock
    return publisher


def test_linkedin_wait_stops_at_the_deadline_and_the_next_delivery_waits_for_the_same_image(
    li_fake, mount, clock, served_images
):
    url = mount(li_fake)
    li_fake.processing_delay = 60.0
    progress = MemoryProgress()
    with left(5.0):
        # PROCESSING, 2 s, PROCESSING, 2 s, PROCESSING: 1 s is left, too little for 2 s and a call
        first = linkedin(url, clock).publish(li_tests.make_request(served_images), served_images, progress)
    assert is_deadline(first.outcome, 2.0), first.outcome
    assert clock.sleeps == [2.0, 2.0] and len(li_tests.calls(li_fake, "GET", "/rest/images/")) == 3
    image_urn = progress.get("image")["urn"]
    assert progress.get("uploaded") is True and progress.final_marker is None and not li_fake.posts()

    clock.offset += 60.0  # processing finished meanwhile
    with left(60.0):
        second = linkedin(url, clock).publish(li_tests.make_request(served_images), served_images, progress)
    assert second.outcome.ok, second.outcome
    assert len(li_tests.calls(li_fake, "POST", "initializeUpload")) == 1 and len(li_tests.calls(li_fake, "PUT")) == 1
    assert li_fake.posts()[0]["image_urn"] == image_urn


def test_linkedin_upload_is_not_started_without_the_time_for_it(li_fake, mount, clock, served_images):
    url = mount(li_fake)
    progress = MemoryProgress()
    publisher = linkedin(url, clock)
    publisher._initialized_image(progress, logger("linkedin", "li-main"))  # an earlier delivery's step
    with left(0.5):
        result = publisher.publish(li_tests.make_request(served_images), served_images, progress)
    assert is_deadline(result.outcome, 1.0)
    assert li_tests.calls(li_fake, "PUT") == [] and progress.get("image") and not progress.get("uploaded")


# --- X: media processing ------------------------------------------------------------------------


@pytest.fixture
def x_fake(mount):
    fake = xfake.XFake()
    return fake, mount(fake)


def x_publisher(url, clock, creds=None, **overrides):
    target = {**xfake.sandbox_target(url, "x-main"), "chunked_threshold_bytes": 50_000, **overrides}
    return xpub.build(target, creds or MemoryCredentials(xfake.sandbox_secret()), sleep=clock.sleep)


def test_x_processing_wait_stops_at_the_deadline_and_the_next_delivery_asks_status_for_the_same_media(
    x_fake, clock, served_images
):
    fake, url = x_fake
    image = x_tests.jpeg(1200, 900, quality=95, noise=True)
    request = x_tests.make_request()
    served_images.add(request.image_key, image)
    fake.set_processing_polls(6)  # finalize: pending; STATUS: in_progress x5, then succeeded
    progress = MemoryProgress()
    with left(2.5):
        # finalize pending, wait check_after_secs 1 s, STATUS in_progress: 1.5 s left, too little
        first = x_publisher(url, clock).publish(request, served_images, progress)
    assert is_deadline(first.outcome, 1.0), first.outcome
    assert clock.sleeps == [1.0] and "still processing" in first.outcome.message
    upload = progress.get("upload")
    assert upload["processing"] is True and progress.get("media") is None and progress.final_marker is None

    clock.sleeps.clear()
    with left(60.0):
        second = x_publisher(url, clock).publish(request, served_images, progress)
    assert second.outcome.ok, second.outcome
    assert clock.sleeps == [1.0] * 4
    steps = x_tests.paths(fake)
    assert (
        steps.count("POST /2/media/upload/initialize") == 1 and steps.count("POST /2/media/upload/{id}/finalize") == 1
    )
    assert steps.count("GET /2/media/upload") == 1 + 5  # the first delivery's poll, the second's five
    assert progress.get("media")["id"] == upload["id"] and len(fake.posts()) == 1


def test_x_status_of_a_media_x_forgot_uploads_again_on_the_next_delivery(x_fake, clock, served_images):
    fake, url = x_fake
    request = x_tests.make_request()
    served_images.add(request.image_key, x_tests.jpeg(1200, 900, quality=95, noise=True))
    saved = {
        "id": "1999999999999999999",
        "media_key": "3_1999999999999999999",
        "expires_at": time.time() + 86400,
        "total_bytes": len(served_images.blobs[request.image_key]),
        "chunk_bytes": 1024 * 1024,
        "segments": 1,
        "processing": True,
    }
    progress = MemoryProgress({"upload": saved})
    first = x_publisher(url, clock).publish(request, served_images, progress)
    assert (first.outcome.kind, first.outcome.code) == ("retryable", "x:media_expired")
    assert progress.get("upload") is None
    assert x_publisher(url, clock).publish(request, served_images, progress).outcome.ok


def test_x_token_refresh_is_not_sent_at_the_deadline(x_fake, clock, served_images):
    fake, url = x_fake
    request = x_tests.make_request()
    media = {"id": "1", "media_key": "3_1", "expires_at": time.time() + 86400, "bytes": 10}
    progress = MemoryProgress({"media": media, "alt_text": {"media_id": "1"}})
    due = MemoryCredentials({**xfake.sandbox_secret(), "expires_at": int(time.time()) + 10})
    with left(0.5):
        result = x_publisher(url, clock, due).publish(request, served_images, progress)
    assert is_deadline(result.outcome, 1.0) and "token refresh" in result.outcome.message
    assert fake.request_log() == [] and progress.final_marker is None and due.writes == []


# --- one-call publishers: the final call is not sent without the time to answer ------------------


def test_facebook_post_is_not_sent_at_the_deadline(mount, clock, served_images):
    fake = fbfake.FacebookPageFake(fetch_timeout=(1.0, 2.0))
    url = mount(fake)
    request = fb_tests.make_request()
    served_images.add(request.image_key, fb_tests.jpeg())
    with left(0.5):
        result = fb_tests.publisher(url).publish(request, served_images, MemoryProgress())
    assert is_deadline(result.outcome, 1.0)
    assert fb_tests.api_calls(fake) == [] and fake.posts() == []


def test_facebook_read_timeout_is_cut_to_what_is_left(mount, clock, served_images):
    fake = fbfake.FacebookPageFake(fetch_timeout=(1.0, 2.0))
    url = mount(fake)
    request = fb_tests.make_request()
    served_images.add(request.image_key, fb_tests.jpeg())
    publisher = fbpub.build(fb_tests.target(url, timeout_seconds=60), MemoryCredentials(fbfake.sandbox_secret()))
    seen = []
    original = publisher.session.request

    def spy(method, url, **kwargs):
        seen.append(kwargs["timeout"])
        return original(method, url, **kwargs)

    publisher.session.request = spy
    with left(20.0):
        assert publisher.publish(request, served_images, MemoryProgress()).outcome.ok
    assert seen == [(5.0, 20.0)]


def test_rest_post_is_not_sent_at_the_deadline(clock):
    session = FakeSession((201, {"id": "r1"}))
    endpoint = RestEndpoint(url="https://api.example.com/v1/posts")
    with left(0.5):
        result = RestPublisher(endpoint, {}, session=session).publish(
            fb_tests.make_request(), Images(), MemoryProgress()
        )
    assert is_deadline(result.outcome, 1.0) and session.requests == []
