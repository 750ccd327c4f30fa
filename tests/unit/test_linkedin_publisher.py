"""Contract tests: the LinkedIn publisher against the LinkedIn fake, over real HTTP."""

from __future__ import annotations

import io
import json
import time
from datetime import UTC, datetime
from urllib.parse import quote

import pytest
import requests
from PIL import Image

from socialomega.core.config import ConfigError
from socialomega.platforms.linkedin import publisher as li
from socialomega.publishers.base import PublishRequest
from socialomega.publishers.captions import build_caption
from socialomega.sandbox import linkedin as fake_mod
from socialomega.sandbox.linkedin import ACCESS_TOKEN, MEMBER_URN, ORG_URN, LinkedInFake, sandbox_secret, sandbox_target
from tests.unit.fakes import MemoryCredentials, MemoryProgress

# A real socket timeout, kept short: the publisher gives up after TIMEOUT seconds, while the fake
# answers the faulted call only after FAULT_DELAY (a `slow_accept` acts first, a `timeout` never
# acts). Every other call of these flows answers in a few milliseconds, far under TIMEOUT.
TIMEOUT, FAULT_DELAY = 0.4, 1.2

METADATA = {
    "title": "Harbour at dawn",
    "description": "Fishing boats in the harbour of Volendam as the sun comes up.",
    "keywords": ["harbour", "boats", "golden hour"],
}


class Clock:
    """Wall time shared by the fake and the publisher; the publisher's sleep advances it."""

    def __init__(self) -> None:
        self.now = time.time()
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class RotatedCredentials(MemoryCredentials):
    """A cached stale token; the fresh read (Secrets Manager) has the rotated one."""

    def __init__(self, stale: str, fresh: str) -> None:
        super().__init__({"access_token": stale})
        self.fresh_value = {"access_token": fresh}
        self.fresh_reads = 0

    def current(self, *, fresh: bool = False) -> dict:
        if fresh:
            self.fresh_reads += 1
            return dict(self.fresh_value)
        return dict(self.value)


def jpeg(width: int = 640, height: int = 480, gps: bool = False) -> bytes:
    exif = Image.Exif()
    if gps:
        ifd = exif.get_ifd(0x8825)
        ifd[1], ifd[2] = "N", (52.0, 29.0, 44.5)
    buf = io.BytesIO()
    Image.new("RGB", (width, height), (40, 90, 160)).save(buf, "JPEG", quality=85, exif=exif)
    return buf.getvalue()


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def fake(clock):
    return LinkedInFake(clock=clock)


@pytest.fixture
def base_url(fake, mount):
    return mount(fake)


def make_request(served_images, data: bytes | None = None, key: str = "a1/linkedin.jpg", **meta) -> PublishRequest:
    data = data if data is not None else jpeg()
    served_images.add(key, data)
    with Image.open(io.BytesIO(data)) as img:
        width, height = img.size
    return PublishRequest(
        asset_id="a1",
        version="v1",
        target="li-main",
        platform="linkedin",
        correlation_id="c1",
        image_bucket="processed",
        image_key=key,
        image_version_id=None,
        width=width,
        height=height,
        content_type="image/jpeg",
        metadata={**METADATA, **meta},
    )


def make_publisher(base_url, clock, credentials=None, **overrides):
    target = {**sandbox_target(base_url, "li-main"), **overrides}
    publisher = li.build(target, credentials or MemoryCredentials(sandbox_secret()))
    publisher.sleep, publisher.clock = clock.sleep, clock
    return publisher


def calls(fake, method=None, contains=""):
    return [
        r
        for r in fake.request_log()
        if (method is None or r["method"] == method) and contains in r["path"] + "?" + r["query"]
    ]


def api_headers(**extra):
    return {
        "Authorization": f"Bearer {ACCESS_TOKEN}",
        "Linkedin-Version": fake_mod.sandbox_version(),
        "X-Restli-Protocol-Version": "2.0.0",
        **extra,
    }


# --- happy path ---------------------------------------------------------------------------------
def test_publishes_an_image_post_with_caption_alt_text_and_the_exact_image(fake, base_url, clock, served_images):
    data = jpeg(800, 600, gps=True)
    request = make_request(served_images, data)
    progress = MemoryProgress()
    result = make_publisher(base_url, clock).publish(request, served_images, progress)

    assert result.outcome.ok, result.outcome
    [post] = fake.posts()
    caption = build_caption("linkedin", request.metadata, sandbox_target(base_url, "li-main"))
    assert post["commentary"] == caption.text and "#harbour #boats #GoldenHour" in post["commentary"]
    assert post["alt_text"] == METADATA["description"]
    assert post["image"] == {"width": 800, "height": 600, "bytes": len(data), "format": "JPEG", "has_exif_gps": True}
    assert post["author"] == MEMBER_URN and post["visibility"] == "PUBLIC" and post["lifecycle_state"] == "PUBLISHED"
    assert result.remote_id == post["id"] and result.remote_id.startswith("urn:li:share:")
    assert result.remote_url == f"https://www.linkedin.com/feed/update/{post['id']}/"
    # Steps saved in order, the marker (the image URN) before the post was sent.
    assert progress.saves == ["image", "uploaded", "final"]
    assert progress.final_marker == {"image_urn": post["image_urn"], "author": MEMBER_URN}
    assert [(r["method"], r["status"]) for r in fake.request_log()] == [
        ("POST", 200),
        ("PUT", 201),
        ("GET", 200),
        ("POST", 201),
    ]


def test_posts_as_an_organization_the_member_administers(fake, base_url, clock, served_images):
    result = make_publisher(base_url, clock, author=ORG_URN).publish(
        make_request(served_images), served_images, MemoryProgress()
    )
    assert result.outcome.ok
    assert fake.posts()[0]["author"] == ORG_URN


def test_waits_for_the_image_to_become_available_with_the_injected_sleep(fake, base_url, clock, served_images):
    fake.processing_delay = 1.0
    result = make_publisher(base_url, clock).publish(make_request(served_images), served_images, MemoryProgress())
    assert result.outcome.ok
    assert len(calls(fake, "GET", "/rest/images/")) == 6 and clock.sleeps == [0.2] * 5


def test_an_image_that_stays_processing_is_retryable_after_a_bounded_wait_and_resumes(
    fake, base_url, clock, served_images
):
    fake.processing_delay = 60.0
    progress = MemoryProgress()
    publisher = make_publisher(base_url, clock)
    result = publisher.publish(make_request(served_images), served_images, progress)
    assert (result.outcome.kind, result.outcome.code) == ("retryable", "linkedin:IMAGE_NOT_AVAILABLE")
    assert sum(clock.sleeps) <= 5.2 and not fake.posts()
    clock.now += 60  # processing finished meanwhile
    assert publisher.publish(make_request(served_images), served_images, progress).outcome.ok
    assert len(calls(fake, "POST", "initializeUpload")) == 1 and len(calls(fake, "PUT")) == 1


def test_an_image_linkedin_cannot_process_is_permanent(fake, base_url, clock, served_images):
    buf = io.BytesIO()
    Image.new("RGB", (64, 64)).save(buf, "TIFF")
    result = make_publisher(base_url, clock).publish(
        make_request(served_images, buf.getvalue()), served_images, MemoryProgress()
    )
    assert (result.outcome.kind, result.outcome.code) == ("permanent", "linkedin:PROCESSING_FAILED")
    assert not fake.posts()


# --- error classes ------------------------------------------------------------------------------
def test_server_error_on_the_post_is_retryable(fake, base_url, clock, served_images):
    fake.fail_next("500", path_contains="/rest/posts")
    result = make_publisher(base_url, clock).publish(make_request(served_images), served_images, MemoryProgress())
    assert (result.outcome.kind, result.outcome.status, result.outcome.code) == (
        "retryable",
        500,
        "linkedin:INTERNAL_SERVER_ERROR",
    )


def test_throttle_is_retryable_without_retry_after_because_linkedin_sends_none(fake, base_url, clock, served_images):
    fake.fail_next("429", path_contains="initializeUpload", retry_after=1)
    result = make_publisher(base_url, clock).publish(make_request(served_images), served_images, MemoryProgress())
    assert (result.outcome.kind, result.outcome.status, result.outcome.code) == (
        "retryable",
        429,
        "linkedin:TOO_MANY_REQUESTS",
    )
    assert result.outcome.retry_after is None  # the queue's backoff decides
    assert "throttle" in result.outcome.message


def test_a_daily_limit_is_deferred_until_midnight_utc(fake, base_url, clock, served_images):
    fake.fail_next("429", path_contains="/rest/posts", daily=True)
    result = make_publisher(base_url, clock).publish(make_request(served_images), served_images, MemoryProgress())
    assert result.outcome.kind == "deferred" and 0 < result.outcome.retry_after <= 86400


def test_the_fake_429_carries_linkedins_body_and_no_rate_limit_headers(fake, base_url):
    fake.fail_next("429")
    response = requests.post(f"{base_url}/rest/posts", json={}, headers=api_headers(), timeout=5)
    assert response.status_code == 429 and "Retry-After" not in response.headers
    assert response.json() == {
        "status": 429,
        "serviceErrorCode": 101,
        "code": "TOO_MANY_REQUESTS",
        "message": "Resource level throttle limit for calls to this resource is reached.",
    }


def test_commentary_over_3000_characters_is_permanent_with_linkedins_code_and_message(
    fake, base_url, clock, served_images
):
    long_text = " ".join(["word"] * 900)  # 4,499 characters; the target allows longer captions
    result = make_publisher(base_url, clock, caption_max_length=5000).publish(
        make_request(served_images, description=long_text), served_images, MemoryProgress()
    )
    assert (result.outcome.kind, result.outcome.status, result.outcome.code) == (
        "permanent",
        422,
        "linkedin:FIELD_VALUE_TOO_LONG",
    )
    assert "/commentary" in result.outcome.message and "3000" in result.outcome.message


def test_the_default_caption_fits_linkedins_limit(fake, base_url, clock, served_images):
    long_text = " ".join(["word"] * 900)
    result = make_publisher(base_url, clock).publish(
        make_request(served_images, description=long_text), served_images, MemoryProgress()
    )
    assert result.outcome.ok and len(fake.posts()[0]["commentary"]) <= 3000


def test_an_author_the_token_may_not_act_for_is_permanent_access_denied(fake, base_url, clock, served_images):
    result = make_publisher(base_url, clock, author="urn:li:organization:999").publish(
        make_request(served_images), served_images, MemoryProgress()
    )
    assert (result.outcome.kind, result.outcome.status, result.outcome.code) == (
        "permanent",
        403,
        "linkedin:ACCESS_DENIED",
    )


def test_an_inactive_version_is_permanent_nonexistent_version(fake, base_url, clock, served_images):
    result = make_publisher(base_url, clock, linkedin_version="202301").publish(
        make_request(served_images), served_images, MemoryProgress()
    )
    assert (result.outcome.kind, result.outcome.status, result.outcome.code) == (
        "permanent",
        426,
        "linkedin:NONEXISTENT_VERSION",
    )
    assert result.outcome.message == "Requested version 20230101 is not active"


def test_a_revoked_token_is_auth_and_never_leaks(fake, base_url, clock, served_images):
    fake.expire_token()
    result = make_publisher(base_url, clock).publish(make_request(served_images), served_images, MemoryProgress())
    assert (result.outcome.kind, result.outcome.status, result.outcome.code) == (
        "auth",
        401,
        "linkedin:REVOKED_ACCESS_TOKEN",
    )
    assert ACCESS_TOKEN not in repr(result)


def test_a_rotated_token_is_read_fresh_once_after_a_401(fake, base_url, clock, served_images):
    credentials = RotatedCredentials(stale="an-old-token", fresh=ACCESS_TOKEN)
    result = make_publisher(base_url, clock, credentials=credentials).publish(
        make_request(served_images), served_images, MemoryProgress()
    )
    assert result.outcome.ok and credentials.fresh_reads == 1
    assert [r["status"] for r in calls(fake, "POST", "initializeUpload")] == [401, 200]


def test_an_upload_url_off_the_linkedin_hosts_is_refused(clock, mount, served_images):
    class Redirecting(LinkedInFake):
        def _images_action(self, request):
            response = super()._images_action(request)
            body = json.loads(response.get_data())
            body["value"]["uploadUrl"] = "http://attacker.example/dms-uploads/x"
            response.set_data(json.dumps(body))
            return response

    fake = Redirecting(clock=clock)
    result = make_publisher(mount(fake), clock).publish(make_request(served_images), served_images, MemoryProgress())
    assert (result.outcome.kind, result.outcome.code) == ("permanent", "unsafe_destination")
    assert not calls(fake, "PUT")


# --- resuming -------------------------------------------------------------------------------------
def test_a_failed_post_resumes_without_initializing_or_uploading_again(fake, base_url, clock, served_images):
    fake.fail_next("500", path_contains="/rest/posts")
    progress, publisher = MemoryProgress(), make_publisher(base_url, clock)
    assert publisher.publish(make_request(served_images), served_images, progress).outcome.kind == "retryable"
    assert publisher.publish(make_request(served_images), served_images, progress).outcome.ok
    assert len(calls(fake, "POST", "initializeUpload")) == 1
    assert len(calls(fake, "PUT")) == 1
    assert [r["status"] for r in calls(fake, "POST", "/rest/posts")] == [500, 201]
    assert len(fake.posts()) == 1


def test_a_failed_upload_resumes_with_the_saved_upload_url(fake, base_url, clock, served_images):
    fake.fail_next("500", path_contains="/dms-uploads/")
    progress, publisher = MemoryProgress(), make_publisher(base_url, clock)
    assert publisher.publish(make_request(served_images), served_images, progress).outcome.kind == "retryable"
    assert publisher.publish(make_request(served_images), served_images, progress).outcome.ok
    assert len(calls(fake, "POST", "initializeUpload")) == 1
    assert [r["status"] for r in calls(fake, "PUT")] == [500, 201]


def test_an_expired_upload_url_is_initialized_again(fake, base_url, clock, served_images):
    fake.fail_next("500", path_contains="/dms-uploads/")
    progress, publisher = MemoryProgress(), make_publisher(base_url, clock)
    publisher.publish(make_request(served_images), served_images, progress)
    first = progress.get("image")
    clock.now += 2 * 3600  # past uploadUrlExpiresAt
    assert publisher.publish(make_request(served_images), served_images, progress).outcome.ok
    assert len(calls(fake, "POST", "initializeUpload")) == 2
    assert fake.posts()[0]["image_urn"] == progress.get("image")["urn"] != first["urn"]


def test_an_upload_url_the_server_rejects_as_expired_is_dropped_and_redone(fake, base_url, clock, served_images):
    fake.fail_next("500", path_contains="/dms-uploads/")
    progress, publisher = MemoryProgress(), make_publisher(base_url, clock)
    publisher.publish(make_request(served_images), served_images, progress)
    fake.clock = lambda: clock.now + 2 * 3600  # the server's clock is ahead: the URL expired there
    result = publisher.publish(make_request(served_images), served_images, progress)
    assert (result.outcome.kind, result.outcome.status, result.outcome.code) == (
        "retryable",
        403,
        "linkedin:UPLOAD_URL_EXPIRED",
    )
    assert progress.get("image") is None and not progress.get("uploaded")
    assert publisher.publish(make_request(served_images), served_images, progress).outcome.ok
    assert len(calls(fake, "POST", "initializeUpload")) == 2


# --- find_post after an unknown outcome -----------------------------------------------------------
def test_find_post_finds_a_post_created_behind_a_slow_answer(fake, base_url, clock, served_images):
    fake.fail_next("slow_accept", path_contains="/rest/posts", delay=FAULT_DELAY)
    progress, publisher = MemoryProgress(), make_publisher(base_url, clock, timeout_seconds=TIMEOUT)
    request = make_request(served_images)
    result = publisher.publish(request, served_images, progress)
    assert (result.outcome.kind, result.outcome.code) == ("unknown", "timeout")
    [post] = fake.posts()
    lookup = publisher.find_post(request, progress)
    assert (lookup.state, lookup.remote_id) == ("found", post["id"])
    assert lookup.remote_url == f"https://www.linkedin.com/feed/update/{post['id']}/"
    finder = calls(fake, "GET", "q=author")[-1]
    assert f"author={quote(MEMBER_URN, safe='')}" in finder["query"] and "sortBy=LAST_MODIFIED" in finder["query"]


def test_find_post_is_absent_when_the_call_timed_out_without_acting(fake, base_url, clock, served_images):
    publisher = make_publisher(base_url, clock, timeout_seconds=TIMEOUT)
    other = MemoryProgress()  # an earlier post with another image must not match
    assert publisher.publish(make_request(served_images), served_images, other).outcome.ok
    fake.fail_next("timeout", path_contains="/rest/posts", delay=FAULT_DELAY)
    progress, request = MemoryProgress(), make_request(served_images)
    assert publisher.publish(request, served_images, progress).outcome.kind == "unknown"
    assert len(fake.posts()) == 1
    lookup = publisher.find_post(request, progress)
    assert lookup.state == "absent"


def test_find_post_with_sent_at_stops_at_older_posts(fake, base_url, clock, served_images):
    publisher = make_publisher(base_url, clock, finder_count=1, finder_pages=2)
    for _ in range(3):  # older posts
        assert publisher.publish(make_request(served_images), served_images, MemoryProgress()).outcome.ok
    clock.now += 600
    progress = MemoryProgress(
        {
            "final": {
                "image_urn": "urn:li:image:never-posted",
                "author": MEMBER_URN,
                "sent_at": datetime.fromtimestamp(clock.now, UTC).isoformat(),
            }
        }
    )
    assert publisher.find_post(make_request(served_images), progress).state == "absent"
    assert len(calls(fake, "GET", "q=author")) == 1  # the first page already reached older posts
    no_time = MemoryProgress({"final": {"image_urn": "urn:li:image:never-posted", "author": MEMBER_URN}})
    lookup = publisher.find_post(make_request(served_images), no_time)
    assert lookup.state == "undecided"  # 2 pages of 1 do not cover 3 posts


def test_find_post_asks_again_when_the_lookup_fails_and_is_undecided_without_a_marker(
    fake, base_url, clock, served_images
):
    publisher = make_publisher(base_url, clock)
    progress = MemoryProgress({"final": {"image_urn": "urn:li:image:x", "author": MEMBER_URN}})
    fake.fail_next("500", path_contains="q=author")
    lookup = publisher.find_post(make_request(served_images), progress)
    assert lookup.state == "unavailable" and "INTERNAL_SERVER_ERROR" in lookup.reason
    assert publisher.find_post(make_request(served_images), MemoryProgress()).state == "undecided"


# --- settings -------------------------------------------------------------------------------------
def test_invalid_settings_and_secrets_are_config_errors(base_url, clock, served_images):
    with pytest.raises(ConfigError, match="author"):
        li.build({**sandbox_target(base_url, "li"), "author": "someone"}, MemoryCredentials(sandbox_secret()))
    with pytest.raises(ConfigError, match="linkedin_version"):
        li.build({**sandbox_target(base_url, "li"), "linkedin_version": "2026-01"}, MemoryCredentials(sandbox_secret()))
    publisher = make_publisher(base_url, clock, credentials=MemoryCredentials({}))
    with pytest.raises(ConfigError, match="access_token"):
        publisher.publish(make_request(served_images), served_images, MemoryProgress())


def test_defaults_point_at_linkedin():
    settings = li.LinkedInSettings.from_target({"name": "li", "platform": "linkedin", "spec": {}, "author": MEMBER_URN})
    assert settings.api_base_url == "https://api.linkedin.com" and not settings.allow_private_network
    assert settings.allowed_upload_hosts == ["api.linkedin.com", "www.linkedin.com"]


# --- fake faithfulness ----------------------------------------------------------------------------
def test_fake_requires_the_version_and_protocol_headers(fake, base_url):
    headers = api_headers()
    del headers["Linkedin-Version"]
    missing = requests.post(f"{base_url}/rest/posts", json={}, headers=headers, timeout=5)
    assert (missing.status_code, missing.json()["code"]) == (400, "VERSION_MISSING")
    old = requests.post(
        f"{base_url}/rest/posts", json={}, headers=api_headers(**{"Linkedin-Version": "202404"}), timeout=5
    )
    assert old.status_code == 426
    assert old.json() == {
        "status": 426,
        "code": "NONEXISTENT_VERSION",
        "message": "Requested version 20240401 is not active",
    }
    headers = api_headers()
    del headers["X-Restli-Protocol-Version"]
    assert requests.post(f"{base_url}/rest/posts", json={}, headers=headers, timeout=5).status_code == 400


def test_fake_rejects_bad_tokens_with_linkedins_body(fake, base_url):
    response = requests.get(
        f"{base_url}/rest/posts/urn:li:share:1", headers=api_headers(Authorization="Bearer nope"), timeout=5
    )
    assert response.status_code == 401
    assert response.json() == {
        "status": 401,
        "serviceErrorCode": 65600,
        "code": "INVALID_ACCESS_TOKEN",
        "message": "Invalid access token",
    }


def _initialize(base_url, owner=MEMBER_URN):
    response = requests.post(
        f"{base_url}/rest/images?action=initializeUpload",
        json={"initializeUploadRequest": {"owner": owner}},
        headers=api_headers(),
        timeout=5,
    )
    return response


def _post_body(image_urn, **changes):
    return {
        "author": MEMBER_URN,
        "commentary": "hello",
        "visibility": "PUBLIC",
        "distribution": {"feedDistribution": "MAIN_FEED"},
        "content": {"media": {"id": image_urn}},
        "lifecycleState": "PUBLISHED",
        **changes,
    }


def test_fake_refuses_a_post_whose_image_was_not_uploaded_or_belongs_to_someone_else(fake, base_url):
    mine = _initialize(base_url).json()["value"]["image"]
    response = requests.post(f"{base_url}/rest/posts", json=_post_body(mine), headers=api_headers(), timeout=5)
    assert (response.status_code, response.json()["code"]) == (422, "MEDIA_NOT_AVAILABLE")
    theirs = _initialize(base_url, ORG_URN).json()["value"]["image"]
    response = requests.post(f"{base_url}/rest/posts", json=_post_body(theirs), headers=api_headers(), timeout=5)
    assert (response.status_code, response.json()["code"]) == (422, "INVALID_FIELD_VALUE")
    assert _initialize(base_url, "urn:li:person:someoneElse").json()["code"] == "ACCESS_DENIED"
    assert not fake.posts()


def test_fake_enforces_the_pixel_limit_and_formats(fake, base_url):
    def upload(data):
        value = _initialize(base_url).json()["value"]
        assert requests.put(value["uploadUrl"], data=data, timeout=10).status_code == 201
        status = requests.get(
            f"{base_url}/rest/images/{quote(value['image'], safe='')}", headers=api_headers(), timeout=5
        )
        return status.json()["status"]

    def png(width, height):
        buf = io.BytesIO()
        Image.new("1", (width, height)).save(buf, "PNG")  # 1-bit: cheap even at 36 megapixels
        return buf.getvalue()

    assert upload(png(6013, 6012)) == "AVAILABLE"  # 36,150,156 pixels
    assert upload(png(6013, 6013)) == "PROCESSING_FAILED"  # 36,156,169 >= 36,152,320
    assert upload(b"not an image") == "PROCESSING_FAILED"
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, "GIF")
    assert upload(buf.getvalue()) == "AVAILABLE"


def test_fake_upload_urls_expire_and_are_single_use(fake, base_url, clock):
    value = _initialize(base_url).json()["value"]
    assert value["uploadUrlExpiresAt"] == int((clock.now + fake_mod.UPLOAD_URL_TTL) * 1000)
    assert requests.put(value["uploadUrl"], data=jpeg(), timeout=5).status_code == 201
    assert requests.put(value["uploadUrl"], data=jpeg(), timeout=5).status_code == 409
    later = _initialize(base_url).json()["value"]
    clock.now += fake_mod.UPLOAD_URL_TTL + 1
    expired = requests.put(later["uploadUrl"], data=jpeg(), timeout=5)
    assert (expired.status_code, expired.json()["code"]) == (403, "UPLOAD_URL_EXPIRED")


def test_fake_finder_needs_the_finder_method_header_and_lists_newest_first(fake, base_url, clock, served_images):
    publisher = make_publisher(base_url, clock)
    for _ in range(2):
        publisher.publish(make_request(served_images), served_images, MemoryProgress())
        clock.now += 1
    url = f"{base_url}/rest/posts?author={quote(MEMBER_URN, safe='')}&q=author&count=20&sortBy=LAST_MODIFIED"
    assert requests.get(url, headers=api_headers(), timeout=5).status_code == 400
    listing = requests.get(url, headers=api_headers(**{"X-RestLi-Method": "FINDER"}), timeout=5).json()
    assert [p["id"] for p in listing["elements"]] == [p["id"] for p in reversed(fake.posts())]
    assert listing["paging"]["total"] == 2


def test_fake_control_api_over_http(fake, base_url):
    assert requests.post(f"{base_url}/_sandbox/faults", json={"kind": "500", "count": 2}, timeout=5).ok
    assert len(requests.get(f"{base_url}/_sandbox/faults", timeout=5).json()["faults"]) == 1
    assert requests.post(f"{base_url}/rest/posts", json={}, headers=api_headers(), timeout=5).status_code == 500
    requests.delete(f"{base_url}/_sandbox/faults", timeout=5)
    assert requests.post(f"{base_url}/_sandbox/expire-token", timeout=5).ok
    revoked = requests.get(f"{base_url}/rest/posts/urn:li:share:1", headers=api_headers(), timeout=5)
    assert revoked.json()["code"] == "REVOKED_ACCESS_TOKEN"
    log = requests.get(f"{base_url}/_sandbox/requests", timeout=5).json()["requests"]
    assert [r["status"] for r in log] == [500, 401] and ACCESS_TOKEN not in json.dumps(log)
    assert requests.get(f"{base_url}/_sandbox/posts", timeout=5).json() == {"posts": []}
    assert requests.post(f"{base_url}/_sandbox/reset", timeout=5).ok
    assert fake.request_log() == [] and not fake.token_revoked


def test_the_request_log_keeps_no_upload_url_credential_or_token(fake, base_url, clock, served_images):
    progress = MemoryProgress()
    assert make_publisher(base_url, clock).publish(make_request(served_images), served_images, progress).outcome.ok
    upload_token = progress.get("image")["upload_url"].rsplit("/", 1)[-1]
    logged = json.dumps(fake.request_log())
    assert "/dms-uploads/[REDACTED]" in logged and upload_token not in logged and ACCESS_TOKEN not in logged


@pytest.mark.parametrize("step", ["/rest/images?action=initializeUpload", "/dms-uploads/"])
def test_a_timeout_before_the_post_is_retryable_not_unknown(fake, base_url, clock, served_images, step):
    # Nothing was posted yet: the step is redone; only POST /rest/posts may end "unknown".
    fake.fail_next("timeout", path_contains=step.split("?")[0], delay=FAULT_DELAY)
    progress = MemoryProgress()
    result = make_publisher(base_url, clock, timeout_seconds=TIMEOUT).publish(
        make_request(served_images), served_images, progress
    )
    assert (result.outcome.kind, result.outcome.code) == ("retryable", "timeout")
    assert progress.final_marker is None and fake.posts() == []
