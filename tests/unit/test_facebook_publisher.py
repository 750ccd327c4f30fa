"""Contract tests: FacebookPublisher against the Facebook Page fake, over real HTTP."""

import io
import json
from datetime import UTC, datetime, timedelta

import pytest
import requests
from PIL import Image

from socialomega.core import http
from socialomega.core.config import ConfigError
from socialomega.platforms.facebook import publisher as fbpub
from socialomega.platforms.meta.errors import ERRORS as META_ERRORS
from socialomega.platforms.meta.errors import usage_percent as meta_usage_percent
from socialomega.publishers.base import PublishRequest
from socialomega.publishers.captions import build_caption
from socialomega.publishers.platform import parse_time
from socialomega.sandbox import facebook as fbfake
from tests.unit.fakes import MemoryCredentials, MemoryProgress

# A real socket timeout, kept short: the publisher gives up after TIMEOUT seconds, while the fake
# answers the faulted call only after FAULT_DELAY (a `slow_accept` acts first, a `timeout` never
# acts). Every other call of these flows answers in a few milliseconds, far under TIMEOUT.
TIMEOUT, FAULT_DELAY = 0.4, 1.2

METADATA = {
    "title": "Dune at dawn",
    "description": "Wind-shaped sand ridges in the first light",
    "keywords": ["dune", "dawn", "desert"],
}


# A fresh fake per test: a delayed answer from a timed-out call must not land in the next test.
@pytest.fixture
def served_fake(mount):
    fake = fbfake.FacebookPageFake(fetch_timeout=(1.0, 2.0))
    return fake, mount(fake)


@pytest.fixture
def fake(served_fake):
    served_fake[0].reset()
    return served_fake[0]


@pytest.fixture
def fake_url(served_fake):
    return served_fake[1]


def jpeg(width=640, height=427, gps=False, color=(200, 120, 40)) -> bytes:
    img = Image.new("RGB", (width, height), color)
    out = io.BytesIO()
    exif = Image.Exif()
    if gps:
        exif.get_ifd(0x8825).update({1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 3.0)})
    img.save(out, "JPEG", quality=85, exif=exif.tobytes())
    return out.getvalue()


def make_request(key="processed/asset-1/v1/facebook.jpg", metadata=None, asset="asset-1") -> PublishRequest:
    return PublishRequest(
        asset,
        "v1",
        "fb-page",
        "facebook",
        "corr-1",
        "bucket",
        key,
        None,
        640,
        427,
        "image/jpeg",
        dict(metadata or METADATA),
    )


def target(fake_url, **overrides):
    return {**fbfake.sandbox_target(fake_url, "fb-page"), **overrides}


def publisher(fake_url, credentials=None, **overrides):
    return fbpub.build(target(fake_url, **overrides), credentials or MemoryCredentials(fbfake.sandbox_secret()))


def api_calls(fake, method=None):
    return [
        r for r in fake.requests if not r["path"].startswith("/_sandbox") and (method is None or r["method"] == method)
    ]


# --- happy paths ---------------------------------------------------------------------------------


def test_url_upload_posts_the_caption_alt_text_and_the_fetched_image(fake, fake_url, served_images):
    request = make_request()
    served_images.add(request.image_key, jpeg())
    progress = MemoryProgress()
    result = publisher(fake_url).publish(request, served_images, progress)

    assert result.outcome.ok, result.outcome
    [post] = fake.posts()
    expected = build_caption("facebook", METADATA, target(fake_url))
    assert post["caption"] == expected.text and "#dune #dawn" in post["caption"]
    assert post["alt_text_custom"] == expected.alt_text == METADATA["description"]
    assert (post["width"], post["height"], post["format"], post["origin"]) == (640, 427, "JPEG", "url")
    assert post["bytes"] == len(served_images.blobs[request.image_key])
    assert post["has_exif_gps"] is False
    assert served_images.fetches == [request.image_key]  # Meta (the fake) downloaded the URL
    assert result.remote_id == post["post_id"] == f"{fbfake.PAGE_ID}_{post['id']}"
    assert result.remote_url == f"https://www.facebook.com/{post['post_id']}"
    assert progress.final_marker == {"page_id": fbfake.PAGE_ID, "caption": expected.text, "upload": "url"}
    assert [(r["method"], r["status"]) for r in api_calls(fake)] == [("POST", 200)]


def test_multipart_upload_sends_the_bytes_as_source(fake, fake_url, served_images):
    request = make_request()
    served_images.add(request.image_key, jpeg(800, 600, gps=True))
    result = publisher(fake_url, upload="multipart").publish(request, served_images, MemoryProgress())

    assert result.outcome.ok, result.outcome
    [post] = fake.posts()
    assert (post["origin"], post["width"], post["height"]) == ("multipart", 800, 600)
    assert post["has_exif_gps"] is True  # recorded as received (Meta strips it on its side)
    assert served_images.fetches == []


def test_caption_options_of_the_target_reach_build_caption(fake, fake_url, served_images):
    request = make_request()
    served_images.add(request.image_key, jpeg())
    result = publisher(
        fake_url, caption_template="{{ title }} {{ hashtags }}", max_hashtags=1, send_alt_text=False
    ).publish(request, served_images, MemoryProgress())
    assert result.outcome.ok
    [post] = fake.posts()
    assert post["caption"] == "Dune at dawn #dune"
    assert post["alt_text_custom"] is None


# --- error classes -------------------------------------------------------------------------------


def test_server_error_is_retryable_and_posts_nothing(fake, fake_url, served_images):
    request = make_request()
    served_images.add(request.image_key, jpeg())
    fake.fail_next("500")
    outcome = publisher(fake_url).publish(request, served_images, MemoryProgress()).outcome
    assert (outcome.kind, outcome.status, outcome.code) == ("retryable", 500, "meta:2")
    assert fake.posts() == []


def test_page_throttle_is_retryable_with_retry_after_from_the_buc_header(fake, fake_url, served_images):
    request = make_request()
    served_images.add(request.image_key, jpeg())
    fake.fail_next("429", retry_after=150)  # -> estimated_time_to_regain_access 3 (minutes)
    outcome = publisher(fake_url).publish(request, served_images, MemoryProgress()).outcome
    assert (outcome.kind, outcome.status, outcome.code) == ("retryable", 403, "meta:32")
    assert outcome.message == "(#32) Page request limit reached"
    assert outcome.retry_after == 180.0
    assert fake.posts() == []


def test_throttle_answer_has_metas_shape_and_headers(fake, fake_url):
    fake.fail_next("429", retry_after=60)
    response = requests.get(
        f"{fake_url}/v25.0/{fbfake.PAGE_ID}/photos",
        params={"type": "uploaded"},
        headers={"Authorization": f"Bearer {fbfake.PAGE_TOKEN}"},
        timeout=5,
    )
    error = response.json()["error"]
    assert (response.status_code, error["code"], error["type"]) == (403, 32, "OAuthException")
    usage = json.loads(response.headers["X-Business-Use-Case-Usage"])
    assert usage[fbfake.PAGE_ID][0]["estimated_time_to_regain_access"] == 1
    assert usage[fbfake.PAGE_ID][0]["type"] == "pages"
    assert "X-App-Usage" in response.headers
    assert http.classify(response, platform_errors=META_ERRORS) == http.Outcome(
        "retryable", 403, "meta:32", "(#32) Page request limit reached", retry_after=60.0
    )


def test_expired_token_is_auth_and_never_echoes_the_token(fake, fake_url, served_images, capsys):
    request = make_request()
    served_images.add(request.image_key, jpeg())
    fake.expire_token()
    outcome = publisher(fake_url).publish(request, served_images, MemoryProgress()).outcome
    assert (outcome.kind, outcome.status, outcome.code) == ("auth", 400, "meta:190/463")
    assert "Session has expired" in outcome.message and fbfake.PAGE_TOKEN not in outcome.message
    assert fake.posts() == []
    logged = capsys.readouterr()
    assert "step_failed" in logged.out and fbfake.PAGE_TOKEN not in logged.out + logged.err


class RotatedCredentials(MemoryCredentials):
    """The cached secret is stale; a fresh read returns the token an operator just stored."""

    def __init__(self, cached, fresh):
        super().__init__(cached)
        self.fresh_value = dict(fresh)
        self.fresh_reads = 0

    def current(self, *, fresh=False):
        if fresh:
            self.fresh_reads += 1
            return dict(self.fresh_value)
        return dict(self.value)


def test_rejected_token_is_retried_once_with_the_freshly_read_secret(fake, fake_url, served_images):
    request = make_request()
    served_images.add(request.image_key, jpeg())
    fake.expire_token()
    credentials = RotatedCredentials(fbfake.sandbox_secret(), {"page_access_token": fake.issue_token()})
    result = publisher(fake_url, credentials).publish(request, served_images, MemoryProgress())
    assert result.outcome.ok and credentials.fresh_reads == 1
    assert [r["status"] for r in api_calls(fake, "POST")] == [400, 200]
    assert len(fake.posts()) == 1


def test_token_of_another_page_is_a_permanent_permissions_error(fake, fake_url, served_images):
    request = make_request()
    served_images.add(request.image_key, jpeg())
    credentials = MemoryCredentials({"page_access_token": fbfake.OTHER_PAGE_TOKEN})
    outcome = publisher(fake_url, credentials).publish(request, served_images, MemoryProgress()).outcome
    assert (outcome.kind, outcome.status, outcome.code) == ("permanent", 403, "meta:200")
    assert outcome.message.startswith("(#200)")


def test_unreachable_image_url_is_a_permanent_invalid_image(fake, fake_url, served_images):
    request = make_request()  # never added: the image server answers 404
    outcome = publisher(fake_url).publish(request, served_images, MemoryProgress()).outcome
    assert (outcome.kind, outcome.status, outcome.code) == ("permanent", 400, "meta:324")
    assert outcome.message == "(#324) Missing or invalid image file"
    assert served_images.fetches == [request.image_key]
    assert fake.posts() == []


def test_photo_of_10_mb_or_more_is_rejected(fake, fake_url, served_images):
    request = make_request()
    served_images.add(request.image_key, jpeg() + b"\0" * fbfake.MAX_PHOTO_BYTES)
    outcome = publisher(fake_url, upload="multipart").publish(request, served_images, MemoryProgress()).outcome
    assert (outcome.kind, outcome.code) == ("permanent", "meta:324/1366046")
    assert "10 MB" in outcome.message  # error_user_msg is preferred by the classifier


@pytest.mark.parametrize(("version", "code"), [("v99.0", "meta:2500"), ("v19.0", "meta:2635")])
def test_unknown_or_deprecated_graph_version_is_permanent(fake, fake_url, served_images, version, code):
    request = make_request()
    served_images.add(request.image_key, jpeg())
    outcome = publisher(fake_url, graph_version=version).publish(request, served_images, MemoryProgress()).outcome
    assert (outcome.kind, outcome.status, outcome.code) == ("permanent", 400, code)


def test_destination_off_the_allow_list_is_refused_before_any_call(fake, fake_url, served_images):
    request = make_request()
    served_images.add(request.image_key, jpeg())
    outcome = (
        publisher(fake_url, allowed_hosts=["graph.facebook.com"])
        .publish(request, served_images, MemoryProgress())
        .outcome
    )
    assert (outcome.kind, outcome.code) == ("permanent", "unsafe_destination")
    assert api_calls(fake) == []


@pytest.mark.parametrize(
    "overrides",
    [
        {"page_id": None},
        {"page_id": "my-page"},
        {"upload": "ftp"},
        {"graph_version": "25"},
        {"image_url_ttl_seconds": 5},
        {"api_base_url": "https://graph.facebook.com/v25.0"},
    ],
)
def test_invalid_settings_are_config_errors(fake_url, overrides):
    entry = {k: v for k, v in {**target(fake_url), **overrides}.items() if v is not None}
    with pytest.raises(ConfigError) as info:
        fbpub.build(entry, MemoryCredentials(fbfake.sandbox_secret()))
    assert "fb-page" in str(info.value)


def test_defaults_point_at_the_real_graph_host():
    settings = fbpub.build(
        {"name": "fb", "platform": "facebook", "spec": {}, "page_id": 123}, MemoryCredentials({})
    ).settings
    assert settings.page_id == "123"
    assert (settings.api_base_url, settings.graph_version, settings.upload) == (
        "https://graph.facebook.com",
        "v25.0",
        "url",
    )
    assert settings.allowed_hosts == ["graph.facebook.com"] and settings.allow_private_network is False


def test_secret_without_page_token_is_a_config_error_before_anything_is_sent(fake, fake_url, served_images):
    request = make_request()
    served_images.add(request.image_key, jpeg())
    progress = MemoryProgress()
    with pytest.raises(ConfigError, match="page_access_token"):
        publisher(fake_url, MemoryCredentials({"token": "x"})).publish(request, served_images, progress)
    assert progress.final_marker is None and api_calls(fake) == []


# --- redelivery and reconciliation -----------------------------------------------------------------


def test_redelivery_after_a_failed_final_call_posts_once(fake, fake_url, served_images):
    """Facebook has a single step; a redelivery repeats only that call, and nothing else."""
    request = make_request()
    served_images.add(request.image_key, jpeg())
    progress = MemoryProgress()
    pub = publisher(fake_url)
    fake.fail_next("500")
    assert pub.publish(request, served_images, progress).outcome.kind == "retryable"
    marker = progress.final_marker
    result = pub.publish(request, served_images, progress)
    assert result.outcome.ok
    assert progress.final_marker == marker  # same exact caption both times
    assert [(r["method"], r["status"]) for r in api_calls(fake)] == [("POST", 500), ("POST", 200)]
    assert len(fake.posts()) == 1


def test_slow_accept_times_out_then_find_post_finds_the_photo(fake, fake_url, served_images):
    request = make_request()
    served_images.add(request.image_key, jpeg())
    progress = MemoryProgress()
    fake.fail_next("slow_accept", delay=FAULT_DELAY)
    outcome = publisher(fake_url, timeout_seconds=TIMEOUT).publish(request, served_images, progress).outcome
    assert (outcome.kind, outcome.code) == ("unknown", "timeout")
    [post] = fake.posts()  # it was created although the client never heard back

    progress.steps["final"]["sent_at"] = (datetime.now(UTC) - timedelta(seconds=5)).isoformat()
    lookup = publisher(fake_url).find_post(request, progress)
    assert (lookup.state, lookup.remote_id) == ("found", post["post_id"])
    assert lookup.remote_url == f"https://www.facebook.com/{post['post_id']}"
    listing = api_calls(fake, "GET")[-1]
    assert listing["path"] == f"/v25.0/{fbfake.PAGE_ID}/photos"


def test_timeout_without_acting_then_find_post_says_absent(fake, fake_url, served_images):
    request = make_request()
    served_images.add(request.image_key, jpeg())
    progress = MemoryProgress()
    fake.fail_next("timeout", delay=FAULT_DELAY)
    outcome = publisher(fake_url, timeout_seconds=TIMEOUT).publish(request, served_images, progress).outcome
    assert outcome.kind == "unknown"
    assert fake.posts() == []
    assert publisher(fake_url).find_post(request, progress).state == "absent"


def test_find_post_ignores_an_identical_caption_posted_before_sent_at(fake, fake_url, served_images):
    request = make_request()
    served_images.add(request.image_key, jpeg())
    progress = MemoryProgress()
    pub = publisher(fake_url, clock_skew_seconds=0)
    assert pub.publish(request, served_images, progress).outcome.ok
    progress.steps["final"]["sent_at"] = (datetime.now(UTC) + timedelta(minutes=10)).isoformat()
    assert pub.find_post(request, progress).state == "absent"


def test_find_post_is_undecided_when_several_photos_match(fake, fake_url, served_images):
    request = make_request()
    served_images.add(request.image_key, jpeg())
    progress = MemoryProgress()
    pub = publisher(fake_url)
    assert pub.publish(request, served_images, progress).outcome.ok
    assert pub.publish(request, served_images, progress).outcome.ok
    lookup = pub.find_post(request, progress)
    assert lookup.state == "undecided" and "2 photos" in lookup.reason


def test_find_post_pages_through_newer_photos(fake, fake_url, served_images):
    request = make_request()
    served_images.add(request.image_key, jpeg())
    progress = MemoryProgress()
    pub = publisher(fake_url, lookup_page_size=2)
    assert pub.publish(request, served_images, progress).outcome.ok
    for n in range(3):  # newer photos with other captions push ours to the second page
        other = make_request(key=f"other-{n}.jpg", metadata={"title": f"Other {n}"}, asset=f"a{n}")
        served_images.add(other.image_key, jpeg())
        assert pub.publish(other, served_images, MemoryProgress()).outcome.ok
    lookup = pub.find_post(request, progress)
    assert (lookup.state, lookup.remote_id) == ("found", fake.posts()[0]["post_id"])
    listings = [r for r in api_calls(fake, "GET")]
    assert len(listings) == 2


@pytest.mark.parametrize(
    "marker",
    [
        {"page_id": "42", "caption": "x"},
        {"page_id": fbfake.PAGE_ID, "caption": " "},
        {"page_id": fbfake.PAGE_ID, "caption": "x", "sent_at": "yesterday"},
    ],
)
def test_find_post_refuses_to_guess_from_an_unusable_marker(fake, fake_url, marker):
    progress = MemoryProgress({"final": marker})
    assert publisher(fake_url).find_post(make_request(), progress).state == "undecided"
    assert api_calls(fake) == []


def test_find_post_asks_again_later_when_the_listing_fails(fake, fake_url, served_images):
    progress = MemoryProgress({"final": {"page_id": fbfake.PAGE_ID, "caption": "x", "upload": "url"}})
    fake.fail_next("500", path_contains="/photos")
    lookup = publisher(fake_url).find_post(make_request(), progress)
    assert lookup.state == "unavailable" and "meta:2" in lookup.reason


# --- fake faithfulness ------------------------------------------------------------------------------


def graph(fake_url, method, path, token=fbfake.PAGE_TOKEN, **kwargs):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.request(method, f"{fake_url}/v25.0/{path}", headers=headers, timeout=5, **kwargs)


def test_fake_requires_a_token(fake, fake_url):
    response = graph(fake_url, "POST", f"{fbfake.PAGE_ID}/photos", token=None, data={"url": "http://x/y.jpg"})
    assert (response.status_code, response.json()["error"]["code"]) == (400, 104)
    response = graph(fake_url, "POST", f"{fbfake.PAGE_ID}/photos", token="garbage", data={"url": "http://x/y.jpg"})
    assert (response.status_code, response.json()["error"]["code"]) == (400, 190)


def test_fake_accepts_the_token_as_access_token_parameter(fake, fake_url):
    response = graph(
        fake_url,
        "GET",
        f"{fbfake.PAGE_ID}/photos",
        token=None,
        params={"type": "uploaded", "access_token": fbfake.PAGE_TOKEN},
    )
    assert response.status_code == 200 and response.json() == {"data": []}
    assert all("access_token" not in r["path"] for r in fake.requests)


def test_fake_requires_an_image(fake, fake_url):
    response = graph(fake_url, "POST", f"{fbfake.PAGE_ID}/photos", data={"caption": "no image"})
    assert response.json()["error"]["message"] == "(#324) Requires upload file"
    response = graph(fake_url, "POST", f"{fbfake.PAGE_ID}/photos", data={"url": "file:///etc/passwd"})
    assert response.json()["error"]["code"] == 100


def test_fake_rejects_animated_and_non_images(fake, fake_url):
    frames = [Image.new("RGB", (32, 32), c) for c in ((255, 0, 0), (0, 255, 0))]
    gif = io.BytesIO()
    frames[0].save(gif, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    response = graph(fake_url, "POST", f"{fbfake.PAGE_ID}/photos", files={"source": ("a.gif", gif.getvalue())})
    assert response.json()["error"]["error_subcode"] == 1366046
    response = graph(fake_url, "POST", f"{fbfake.PAGE_ID}/photos", files={"source": ("a.jpg", b"not an image")})
    assert response.json()["error"]["message"] == "(#324) Missing or invalid image file"
    response = graph(fake_url, "POST", f"{fbfake.PAGE_ID}/photos", files={"filedata": ("a.jpg", jpeg())})
    assert response.json()["error"]["message"] == "(#324) Requires upload file"
    assert fake.posts() == []


def test_fake_rejects_too_long_captions(fake, fake_url):
    response = graph(
        fake_url,
        "POST",
        f"{fbfake.PAGE_ID}/photos",
        files={"source": ("a.jpg", jpeg())},
        data={"caption": "x" * (fbfake.MAX_CAPTION + 1)},
    )
    assert (response.status_code, response.json()["error"]["code"]) == (400, 100)


def test_fake_unknown_page_and_unknown_field(fake, fake_url):
    response = graph(fake_url, "POST", "999/photos", files={"source": ("a.jpg", jpeg())})
    assert response.json()["error"]["type"] == "GraphMethodException"
    response = graph(fake_url, "GET", f"{fbfake.PAGE_ID}/photos", params={"type": "uploaded", "fields": "id,bogus"})
    assert response.json()["error"]["message"].startswith("(#100) Tried accessing nonexisting field (bogus)")


def test_fake_lists_uploaded_photos_only_with_type_uploaded_and_as_posts(fake, fake_url):
    created = graph(
        fake_url, "POST", f"{fbfake.PAGE_ID}/photos", files={"source": ("a.jpg", jpeg())}, data={"caption": "hello"}
    ).json()
    assert created["post_id"] == f"{fbfake.PAGE_ID}_{created['id']}"
    assert graph(fake_url, "GET", f"{fbfake.PAGE_ID}/photos").json() == {"data": []}  # type defaults to profile
    photos = graph(
        fake_url,
        "GET",
        f"{fbfake.PAGE_ID}/photos",
        params={"type": "uploaded", "fields": "id,name,created_time,page_story_id"},
    ).json()["data"]
    assert [(p["id"], p["name"], p["page_story_id"]) for p in photos] == [(created["id"], "hello", created["post_id"])]
    assert parse_time(photos[0]["created_time"]) is not None and photos[0]["created_time"].endswith("+0000")
    posts = graph(
        fake_url, "GET", f"{fbfake.PAGE_ID}/published_posts", params={"fields": "id,message,permalink_url"}
    ).json()["data"]
    assert posts == [
        {
            "id": created["post_id"],
            "message": "hello",
            "permalink_url": f"https://www.facebook.com/{created['post_id']}",
        }
    ]


def test_fake_unpublished_photo_has_no_post_id(fake, fake_url):
    created = graph(
        fake_url, "POST", f"{fbfake.PAGE_ID}/photos", files={"source": ("a.jpg", jpeg())}, data={"published": "false"}
    ).json()
    assert set(created) == {"id"}


def test_fake_sends_usage_headers_on_every_api_answer(fake, fake_url):
    response = graph(fake_url, "GET", f"{fbfake.PAGE_ID}/photos", params={"type": "uploaded"})
    app = json.loads(response.headers["X-App-Usage"])
    buc = json.loads(response.headers["X-Business-Use-Case-Usage"])
    assert set(app) == {"call_count", "total_cputime", "total_time"}
    assert buc[fbfake.PAGE_ID][0]["estimated_time_to_regain_access"] == 0
    assert meta_usage_percent(response.headers) < 100


def test_fake_control_api_over_http(fake, fake_url):
    assert requests.post(f"{fake_url}/_sandbox/faults", json={"kind": "nope"}, timeout=5).status_code == 400
    faults = requests.post(f"{fake_url}/_sandbox/faults", json={"kind": "500", "count": 2}, timeout=5).json()
    assert faults["faults"][0]["remaining"] == 2
    assert graph(fake_url, "GET", f"{fbfake.PAGE_ID}/photos").status_code == 500
    requests.delete(f"{fake_url}/_sandbox/faults", timeout=5)
    assert graph(fake_url, "GET", f"{fbfake.PAGE_ID}/photos").status_code == 200
    token = requests.post(f"{fake_url}/_sandbox/issue-token", timeout=5).json()["page_access_token"]
    requests.post(f"{fake_url}/_sandbox/expire-token", timeout=5)
    expired = graph(fake_url, "GET", f"{fbfake.PAGE_ID}/photos", token=token).json()["error"]
    assert (expired["code"], expired["error_subcode"]) == (190, 463)
    graph(
        fake_url, "POST", f"{fbfake.PAGE_ID}/photos", token=fbfake.OTHER_PAGE_TOKEN, files={"source": ("a.jpg", jpeg())}
    )
    assert requests.get(f"{fake_url}/_sandbox/posts", timeout=5).json() == {"posts": []}
    log = requests.get(f"{fake_url}/_sandbox/requests", timeout=5).json()["requests"]
    assert [r["status"] for r in log] == [500, 200, 400, 403]
    assert fbfake.PAGE_TOKEN not in json.dumps(log)
    requests.post(f"{fake_url}/_sandbox/reset", timeout=5)
    assert graph(fake_url, "GET", f"{fbfake.PAGE_ID}/photos").status_code == 200
