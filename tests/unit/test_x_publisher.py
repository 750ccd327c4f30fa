"""Contract tests: XPublisher against the X fake served over real HTTP, plus fake faithfulness."""

from __future__ import annotations

import base64
import io
import time

import pytest
import requests
from PIL import Image

from socialomega.core.config import ConfigError
from socialomega.platforms.x import publisher as xpub
from socialomega.publishers.base import PublishRequest
from socialomega.publishers.captions import build_caption
from socialomega.sandbox import x as xfake
from tests.unit.fakes import MemoryCredentials, MemoryProgress

# A real socket timeout, kept short: the publisher gives up after TIMEOUT seconds, while the fake
# answers the faulted call only after FAULT_DELAY (a `slow_accept` acts first, a `timeout` never
# acts). Every other call of these flows answers in a few milliseconds, far under TIMEOUT.
TIMEOUT, FAULT_DELAY = 0.4, 1.2

META = {
    "title": "Dune at dawn",
    "description": "Wind-carved sand ridges in the first light",
    "keywords": ["dune", "desert", "golden hour"],
}


def jpeg(width: int = 640, height: int = 480, quality: int = 90, noise: bool = False, gps: bool = False) -> bytes:
    img = Image.new("RGB", (width, height), (200, 150, 90))
    if noise:  # incompressible pixels for a big file: (i * 7919) % 251 repeats every 251 bytes
        size = width * height * 3
        pattern = bytes((i * 7919) % 251 for i in range(251))
        img = Image.frombytes("RGB", (width, height), (pattern * (size // 251 + 1))[:size])
    buf = io.BytesIO()
    kwargs = {}
    if gps:
        exif = Image.Exif()
        exif.get_ifd(0x8825)[1] = "N"
        kwargs["exif"] = exif
    img.save(buf, "JPEG", quality=quality, **kwargs)
    return buf.getvalue()


def make_request(key: str = "processed/a1/v1/x.jpg", asset: str = "a1", metadata: dict | None = None) -> PublishRequest:
    return PublishRequest(
        asset,
        "v1",
        "x-main",
        "x",
        "corr-1",
        "bucket",
        key,
        None,
        640,
        480,
        "image/jpeg",
        dict(META if metadata is None else metadata),
    )


class RotatedElsewhere(MemoryCredentials):
    """Another invocation rotated the tokens: only a fresh read sees them."""

    def __init__(self, stale: dict, rotated: dict) -> None:
        super().__init__(stale)
        self.rotated = rotated
        self.fresh_reads = 0

    def current(self, *, fresh: bool = False) -> dict:
        if fresh:
            self.fresh_reads += 1
            self.value = dict(self.rotated)
        return dict(self.value)


# A fresh fake per test: a delayed answer from a timed-out call must not land in the next test.
@pytest.fixture
def served(mount):
    fake = xfake.XFake()
    return fake, mount(fake)


@pytest.fixture
def fake(served):
    fake, _url = served
    fake.reset()
    return fake


@pytest.fixture
def url(served):
    return served[1]


@pytest.fixture
def creds():
    return MemoryCredentials(xfake.sandbox_secret())


def publisher(url, creds, **settings):
    sleeps: list[float] = []
    target = {**xfake.sandbox_target(url, "x-main"), **settings}
    pub = xpub.build(target, creds, sleep=sleeps.append)
    pub.sleeps = sleeps
    return pub


def calls(fake, prefix: str = "/2/") -> list[tuple[str, str, int]]:
    return [(r["method"], r["path"], r["status"]) for r in fake.request_log() if r["path"].startswith(prefix)]


def paths(fake) -> list[str]:
    """`METHOD path` per call, media ids in chunked-upload paths shown as {id}."""
    out = []
    for method, path, _status in calls(fake):
        parts = path.split("/")
        if len(parts) == 6 and parts[3] == "upload":  # /2/media/upload/<id>/<step>
            parts[4] = "{id}"
        out.append(f"{method} {'/'.join(parts)}")
    return out


# --- happy paths -----------------------------------------------------------------------------------
def test_one_shot_upload_alt_text_and_post(fake, url, creds, served_images):
    image = jpeg()
    req = make_request()
    served_images.add(req.image_key, image)
    progress = MemoryProgress()
    result = publisher(url, creds).publish(req, served_images, progress)

    assert result.outcome.ok, result.outcome
    caption = build_caption("x", META, xfake.sandbox_target(url, "x-main"))
    [post] = fake.posts()
    assert result.remote_id == post["id"]
    assert result.remote_url == f"https://x.com/i/web/status/{post['id']}"
    assert post["text"] == caption.text and caption.text.startswith("Dune at dawn") and "#GoldenHour" in caption.text
    assert post["alt_text"] == META["description"]
    assert (post["width"], post["height"], post["bytes"], post["has_exif_gps"]) == (640, 480, len(image), False)
    assert paths(fake) == ["POST /2/media/upload", "POST /2/media/metadata", "POST /2/tweets"]
    assert progress.final_marker == {
        "media_id": post["media"][0]["media_id"],
        "media_key": post["media"][0]["media_key"],
        "text": caption.text,
    }
    assert progress.get("post") == {"id": post["id"]}
    assert creds.writes == []  # the token was valid: no refresh


def test_big_files_use_chunked_upload_with_status_polling(fake, url, creds, served_images):
    image = jpeg(1200, 900, quality=95, noise=True)
    req = make_request()
    served_images.add(req.image_key, image)
    fake.set_processing_polls(2)
    pub = publisher(url, creds, chunked_threshold_bytes=50_000, chunk_bytes=64 * 1024)
    result = pub.publish(req, served_images, MemoryProgress())

    assert result.outcome.ok, result.outcome
    segments = -(-len(image) // (64 * 1024))
    assert segments >= 2
    assert paths(fake) == (
        ["POST /2/media/upload/initialize"]
        + ["POST /2/media/upload/{id}/append"] * segments
        + [
            "POST /2/media/upload/{id}/finalize",
            "GET /2/media/upload",
            "GET /2/media/upload",
            "POST /2/media/metadata",
            "POST /2/tweets",
        ]
    )
    assert pub.sleeps == [1.0, 1.0]  # check_after_secs honoured through the injected sleep
    assert fake.posts()[0]["bytes"] == len(image)


def test_a_redelivered_success_is_answered_without_calls(fake, url, creds, served_images):
    req = make_request()
    served_images.add(req.image_key, jpeg())
    progress = MemoryProgress()
    first = publisher(url, creds).publish(req, served_images, progress)
    before = len(calls(fake))
    again = publisher(url, creds).publish(req, served_images, progress)
    assert again.remote_id == first.remote_id and len(calls(fake)) == before and len(fake.posts()) == 1


# --- resume ----------------------------------------------------------------------------------------
def test_failed_post_resumes_without_uploading_again(fake, url, creds, served_images):
    req = make_request()
    served_images.add(req.image_key, jpeg())
    progress = MemoryProgress()
    fake.fail_next("500", path_contains="/2/tweets")
    failed = publisher(url, creds).publish(req, served_images, progress)
    assert failed.outcome.kind == "retryable" and failed.outcome.code == "x:internal-error"
    assert fake.posts() == []

    result = publisher(url, creds).publish(req, served_images, progress)
    assert result.outcome.ok
    assert paths(fake) == ["POST /2/media/upload", "POST /2/media/metadata", "POST /2/tweets", "POST /2/tweets"]


def test_failed_append_resumes_at_the_next_segment(fake, url, creds, served_images):
    image = jpeg(1000, 800, quality=95, noise=True)
    req = make_request()
    served_images.add(req.image_key, image)
    progress = MemoryProgress()
    settings = {"chunked_threshold_bytes": 10_000, "chunk_bytes": 64 * 1024}
    segments = -(-len(image) // (64 * 1024))
    assert segments >= 3
    fake.fail_next("500", path_contains="/append", skip=1)  # the second append fails
    failed = publisher(url, creds, **settings).publish(req, served_images, progress)
    assert failed.outcome.kind == "retryable"
    assert progress.get("upload")["segments"] == 1

    result = publisher(url, creds, **settings).publish(req, served_images, progress)
    assert result.outcome.ok, result.outcome
    log = paths(fake)
    assert log.count("POST /2/media/upload/initialize") == 1
    assert log.count("POST /2/media/upload/{id}/append") == segments + 1  # one failed, none repeated
    assert fake.posts()[0]["bytes"] == len(image)


def test_expired_media_is_uploaded_again(fake, url, creds, served_images):
    req = make_request()
    served_images.add(req.image_key, jpeg())
    progress = MemoryProgress(
        {
            "media": {
                "id": "1860000000000000999",
                "media_key": "3_1860000000000000999",
                "expires_at": time.time() + 30,
                "bytes": 1,
            }
        }
    )
    result = publisher(url, creds).publish(req, served_images, progress)
    assert result.outcome.ok
    assert progress.get("media")["id"] != "1860000000000000999"
    assert paths(fake)[0] == "POST /2/media/upload"


def test_media_forgotten_by_x_is_uploaded_again_on_the_next_delivery(fake, url, creds, served_images):
    req = make_request()
    served_images.add(req.image_key, jpeg())
    progress = MemoryProgress()
    fake.fail_next("500", path_contains="/2/tweets")
    assert publisher(url, creds).publish(req, served_images, progress).outcome.kind == "retryable"
    fake.expire_media()  # earlier than expires_after_secs said
    outcome = publisher(url, creds).publish(req, served_images, progress).outcome
    assert (outcome.kind, outcome.code) == ("retryable", "x:media_expired")
    assert progress.get("media") is None
    assert publisher(url, creds).publish(req, served_images, progress).outcome.ok
    assert paths(fake).count("POST /2/media/upload") == 2 and len(fake.posts()) == 1


def test_upload_timeout_is_retryable_not_unknown(fake, url, creds, served_images):
    req = make_request()
    served_images.add(req.image_key, jpeg())
    fake.fail_next("timeout", delay=FAULT_DELAY, path_contains="/2/media/upload")
    outcome = publisher(url, creds, timeout_seconds=TIMEOUT).publish(req, served_images, MemoryProgress()).outcome
    assert (outcome.kind, outcome.code) == ("retryable", "timeout")


# --- errors ----------------------------------------------------------------------------------------
def test_500_is_retryable(fake, url, creds, served_images):
    req = make_request()
    served_images.add(req.image_key, jpeg())
    fake.fail_next("500", path_contains="/2/media/upload")
    outcome = publisher(url, creds).publish(req, served_images, MemoryProgress()).outcome
    assert (outcome.kind, outcome.status) == ("retryable", 500)


def test_429_is_retryable_after_x_rate_limit_reset(fake, url, creds, served_images):
    req = make_request()
    served_images.add(req.image_key, jpeg())
    fake.fail_next("429", retry_after=40, path_contains="/2/tweets")
    outcome = publisher(url, creds).publish(req, served_images, MemoryProgress()).outcome
    assert (outcome.kind, outcome.status) == ("retryable", 429)
    assert 35 <= outcome.retry_after <= 41


def test_text_too_long_is_permanent_with_xs_message(fake, url, creds, served_images):
    req = make_request(metadata={**META, "description": "long " * 100})
    served_images.add(req.image_key, jpeg())
    outcome = publisher(url, creds, caption_max_length=600).publish(req, served_images, MemoryProgress()).outcome
    assert (outcome.kind, outcome.status, outcome.code) == ("permanent", 400, "x:invalid-request")
    assert "Your Tweet text is too long." in outcome.message
    assert fake.posts() == []


def test_duplicate_content_is_permanent(fake, url, creds, served_images):
    served_images.add("k1", jpeg())
    served_images.add("k2", jpeg(641, 480))
    assert publisher(url, creds).publish(make_request("k1", "a1"), served_images, MemoryProgress()).outcome.ok
    outcome = publisher(url, creds).publish(make_request("k2", "a2"), served_images, MemoryProgress()).outcome
    assert (outcome.kind, outcome.status) == ("permanent", 403)
    assert outcome.message == "You are not allowed to create a Tweet with duplicate content."


def test_daily_cap_is_deferred_until_the_24_hour_reset(fake, url, creds, served_images):
    fake.set_daily_cap(1)
    served_images.add("k1", jpeg())
    served_images.add("k2", jpeg(641, 480))
    assert publisher(url, creds).publish(make_request("k1", "a1"), served_images, MemoryProgress()).outcome.ok
    other = {**META, "title": "Another photo"}
    outcome = publisher(url, creds).publish(make_request("k2", "a2", other), served_images, MemoryProgress()).outcome
    assert (outcome.kind, outcome.status) == ("deferred", 429)
    assert 86000 < outcome.retry_after <= 86400
    assert len(fake.posts()) == 1


# --- tokens ----------------------------------------------------------------------------------------
def test_expired_token_is_refreshed_on_401_and_rotated_tokens_written_back(fake, url, creds, served_images):
    req = make_request()
    served_images.add(req.image_key, jpeg())
    fake.expire_token()
    result = publisher(url, creds).publish(req, served_images, MemoryProgress())
    assert result.outcome.ok, result.outcome
    [written] = creds.writes
    assert written["access_token"] != xfake.ACCESS_TOKEN and written["refresh_token"] != xfake.REFRESH_TOKEN
    assert written["client_id"] == xfake.CLIENT_ID and written["expires_at"] > time.time() + 7000
    assert calls(fake)[:3] == [
        ("POST", "/2/media/upload", 401),
        ("POST", "/2/oauth2/token", 200),
        ("POST", "/2/media/upload", 200),
    ]
    # X rotates refresh tokens: the old one no longer works
    old = requests.post(
        url + "/2/oauth2/token",
        auth=(xfake.CLIENT_ID, xfake.CLIENT_SECRET),
        data={"grant_type": "refresh_token", "refresh_token": xfake.REFRESH_TOKEN},
    )
    assert old.status_code == 400 and old.json()["error"] == "invalid_request"


def test_token_near_expiry_is_refreshed_before_calling(fake, url, served_images):
    creds = MemoryCredentials({**xfake.sandbox_secret(), "expires_at": int(time.time()) + 30})
    req = make_request()
    served_images.add(req.image_key, jpeg())
    assert publisher(url, creds).publish(req, served_images, MemoryProgress()).outcome.ok
    assert calls(fake)[0] == ("POST", "/2/oauth2/token", 200)
    assert len(creds.writes) == 1


def test_tokens_rotated_by_another_invocation_are_used_without_refreshing(fake, url, served_images):
    body = requests.post(
        url + "/2/oauth2/token",
        auth=(xfake.CLIENT_ID, xfake.CLIENT_SECRET),
        data={"grant_type": "refresh_token", "refresh_token": xfake.REFRESH_TOKEN},
    ).json()
    rotated = {
        **xfake.sandbox_secret(),
        "access_token": body["access_token"],
        "refresh_token": body["refresh_token"],
        "expires_at": int(time.time()) + 7200,
    }
    fake.expire_token()  # the stale token in our cached read no longer works
    fake.access_tokens[body["access_token"]] = (time.time() + 7200, set(xfake.SCOPES))
    creds = RotatedElsewhere(xfake.sandbox_secret(), rotated)
    req = make_request()
    served_images.add(req.image_key, jpeg())
    assert publisher(url, creds).publish(req, served_images, MemoryProgress()).outcome.ok
    assert creds.fresh_reads == 1 and creds.writes == []
    assert [c for c in calls(fake) if c[1] == "/2/oauth2/token"] == [("POST", "/2/oauth2/token", 200)]  # ours only


def test_refused_refresh_is_auth(fake, url, creds, served_images):
    req = make_request()
    served_images.add(req.image_key, jpeg())
    fake.expire_token()
    fake.revoke_refresh()
    outcome = publisher(url, creds).publish(req, served_images, MemoryProgress()).outcome
    assert (outcome.kind, outcome.code) == ("auth", "x:token_invalid_request")
    assert xfake.REFRESH_TOKEN not in outcome.message and creds.writes == []


def test_missing_secret_keys_and_bad_settings_are_config_errors(url, served_images):
    served_images.add("k", jpeg())
    pub = publisher(url, MemoryCredentials({"client_id": "c"}))
    with pytest.raises(ConfigError, match="refresh_token"):
        pub.publish(make_request("k"), served_images, MemoryProgress())
    with pytest.raises(ConfigError, match="chunk_bytes"):
        xpub.build({**xfake.sandbox_target(url, "x-main"), "chunk_bytes": 10}, MemoryCredentials({}))
    with pytest.raises(ConfigError, match="api_base_url"):
        xpub.build({"name": "x-main", "platform": "x", "api_base_url": "ftp://x"}, MemoryCredentials({}))


def test_private_destination_is_refused_without_the_sandbox_flag(url, creds, served_images):
    served_images.add("k", jpeg())
    target = {**xfake.sandbox_target(url, "x-main"), "allow_private_network": False}
    outcome = xpub.build(target, creds).publish(make_request("k"), served_images, MemoryProgress()).outcome
    assert (outcome.kind, outcome.code) == ("permanent", "unsafe_destination")


# --- reconciliation ----------------------------------------------------------------------------------
def test_slow_accept_is_unknown_then_found(fake, url, creds, served_images):
    req = make_request()
    served_images.add(req.image_key, jpeg())
    progress = MemoryProgress()
    fake.fail_next("slow_accept", delay=FAULT_DELAY, path_contains="/2/tweets")
    outcome = publisher(url, creds, timeout_seconds=TIMEOUT).publish(req, served_images, progress).outcome
    assert outcome.kind == "unknown"
    [post] = fake.posts()

    lookup = publisher(url, creds).find_post(req, progress)
    assert (lookup.state, lookup.remote_id) == ("found", post["id"])
    assert lookup.remote_url == f"https://x.com/i/web/status/{post['id']}"
    assert progress.get("user_id") == xfake.USER_ID


def test_timeout_without_post_is_absent(fake, url, creds, served_images):
    served_images.add("k0", jpeg(500, 400))
    other = {**META, "title": "Earlier photo"}
    assert publisher(url, creds).publish(make_request("k0", "a0", other), served_images, MemoryProgress()).outcome.ok
    req = make_request()
    served_images.add(req.image_key, jpeg())
    progress = MemoryProgress()
    fake.fail_next("timeout", delay=FAULT_DELAY, path_contains="/2/tweets")
    outcome = publisher(url, creds, timeout_seconds=TIMEOUT).publish(req, served_images, progress).outcome
    assert outcome.kind == "unknown"
    progress.steps["final"]["sent_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    lookup = publisher(url, creds).find_post(req, progress)
    assert lookup.state == "absent", lookup
    assert [c for c in calls(fake) if c[0] == "GET"] == [
        ("GET", "/2/users/me", 200),
        ("GET", f"/2/users/{xfake.USER_ID}/tweets", 200),
    ]


def test_a_failing_lookup_is_asked_again_later(fake, url, creds):
    progress = MemoryProgress({"final": {"media_id": "1", "media_key": "3_1", "text": "t"}, "user_id": xfake.USER_ID})
    fake.fail_next("500", count=2, path_contains="/tweets")
    lookup = publisher(url, creds).find_post(make_request(), progress)
    assert lookup.state == "unavailable" and "lookup failed" in lookup.reason


def test_two_posts_with_the_media_are_undecided(fake, url, creds, served_images):
    req = make_request()
    served_images.add(req.image_key, jpeg())
    progress = MemoryProgress()
    assert publisher(url, creds).publish(req, served_images, progress).outcome.ok
    media_id = progress.get("media")["id"]
    token = xfake.ACCESS_TOKEN
    second = requests.post(
        url + "/2/tweets",
        headers={"Authorization": f"Bearer {token}"},
        json={"text": "again", "media": {"media_ids": [media_id]}},
    )
    assert second.status_code == 201
    assert publisher(url, creds).find_post(req, progress).state == "undecided"


# --- fake faithfulness ---------------------------------------------------------------------------------
def auth(token: str = xfake.ACCESS_TOKEN) -> dict:
    return {"Authorization": f"Bearer {token}"}


def upload(url, data: bytes, token: str = xfake.ACCESS_TOKEN, category: str = "tweet_image") -> requests.Response:
    return requests.post(
        url + "/2/media/upload", headers=auth(token), files={"media": ("f", data)}, data={"media_category": category}
    )


def test_fake_rate_limit_headers_and_auth_shapes(fake, url):
    r = requests.get(url + "/2/users/me", headers=auth())
    assert r.status_code == 200 and r.json()["data"]["id"] == xfake.USER_ID
    assert r.headers["x-rate-limit-limit"] == "75" and r.headers["x-rate-limit-remaining"] == "74"
    assert int(r.headers["x-rate-limit-reset"]) > time.time()
    bad = requests.get(url + "/2/users/me", headers=auth("nope"))
    assert bad.status_code == 401 and bad.json() == {
        "title": "Unauthorized",
        "type": "about:blank",
        "status": 401,
        "detail": "Unauthorized",
    }
    fake.expire_token()
    assert requests.get(url + "/2/users/me", headers=auth()).status_code == 401


def test_fake_checks_scopes(fake, url):
    read_only = fake.issue_token(scopes={"tweet.read", "users.read"})
    r = upload(url, jpeg(), read_only)
    assert r.status_code == 403 and r.json()["title"] == "Forbidden"
    no_write = fake.issue_token(scopes={"tweet.read", "users.read", "media.write"})
    assert requests.post(url + "/2/tweets", headers=auth(no_write), json={"text": "hi"}).status_code == 403


def test_fake_token_endpoint_needs_basic_client_auth(fake, url):
    r = requests.post(
        url + "/2/oauth2/token",
        data={"grant_type": "refresh_token", "refresh_token": xfake.REFRESH_TOKEN, "client_id": xfake.CLIENT_ID},
    )
    assert r.status_code == 401 and r.json()["error"] == "unauthorized_client"


def test_fake_rejects_bad_media(fake, url):
    bmp = io.BytesIO()
    Image.new("RGB", (10, 10)).save(bmp, "BMP")
    r = upload(url, bmp.getvalue())
    assert r.status_code == 400 and r.json()["type"] == "https://api.x.com/2/problems/invalid-request"
    assert upload(url, b"not an image").status_code == 400
    assert upload(url, jpeg(), category="tweet_photo").status_code == 400
    too_big = requests.post(
        url + "/2/media/upload/initialize",
        headers=auth(),
        json={"media_type": "image/jpeg", "total_bytes": 5 * 1024 * 1024 + 1, "media_category": "tweet_image"},
    )
    assert too_big.status_code == 400
    big = b"\xff\xd8" + b"\0" * (5 * 1024 * 1024)
    assert upload(url, big).status_code == 400


def test_fake_chunked_rules(fake, url):
    data = jpeg()
    init = requests.post(
        url + "/2/media/upload/initialize",
        headers=auth(),
        json={"media_type": "image/jpeg", "total_bytes": len(data), "media_category": "tweet_image"},
    )
    media_id = init.json()["data"]["id"]
    assert init.json()["data"]["media_key"] == f"3_{media_id}"
    bad_index = requests.post(
        url + f"/2/media/upload/{media_id}/append",
        headers=auth(),
        files={"media": ("c", data)},
        data={"segment_index": "1000"},
    )
    assert bad_index.status_code == 400
    half = requests.post(
        url + f"/2/media/upload/{media_id}/append",
        headers=auth(),
        files={"media": ("c", data[:100])},
        data={"segment_index": "0"},
    )
    assert half.status_code == 200 and half.json()["data"]["expires_at"] > time.time()
    mismatch = requests.post(url + f"/2/media/upload/{media_id}/finalize", headers=auth())
    assert mismatch.status_code == 400 and "mismatch" in mismatch.json()["errors"][0]["message"]


def test_fake_post_rules(fake, url):
    ids = [upload(url, jpeg(100 + i, 100)).json()["data"]["id"] for i in range(5)]
    five = requests.post(url + "/2/tweets", headers=auth(), json={"text": "five", "media": {"media_ids": ids}})
    assert five.status_code == 400
    unknown = requests.post(url + "/2/tweets", headers=auth(), json={"text": "x", "media": {"media_ids": ["123"]}})
    assert unknown.status_code == 400 and unknown.json()["errors"][0]["message"] == "Your media IDs are invalid."
    cjk = "\u6f22" * 141  # 282 weighted characters
    assert requests.post(url + "/2/tweets", headers=auth(), json={"text": cjk}).status_code == 400
    assert requests.post(url + "/2/tweets", headers=auth(), json={"text": "\u6f22" * 140}).status_code == 201
    fake.expire_media()
    expired = requests.post(url + "/2/tweets", headers=auth(), json={"text": "y", "media": {"media_ids": ids[:1]}})
    assert expired.status_code == 400


def test_fake_alt_text_limit_and_timeline_params(fake, url):
    media_id = upload(url, jpeg()).json()["data"]["id"]
    long_alt = requests.post(
        url + "/2/media/metadata", headers=auth(), json={"id": media_id, "metadata": {"alt_text": {"text": "a" * 1001}}}
    )
    assert long_alt.status_code == 400
    r = requests.get(url + f"/2/users/{xfake.USER_ID}/tweets", headers=auth(), params={"foo": "1"})
    assert r.status_code == 400 and "[foo]" in r.json()["errors"][0]["message"]
    assert (
        requests.get(url + f"/2/users/{xfake.USER_ID}/tweets", headers=auth(), params={"max_results": 101}).status_code
        == 400
    )
    empty = requests.get(url + f"/2/users/{xfake.USER_ID}/tweets", headers=auth())
    assert empty.json() == {"meta": {"result_count": 0}}


def test_fake_timeline_pages_and_expansions(fake, url):
    for i in range(7):
        media_id = upload(url, jpeg(100 + i, 100)).json()["data"]["id"]
        assert (
            requests.post(
                url + "/2/tweets", headers=auth(), json={"text": f"post {i}", "media": {"media_ids": [media_id]}}
            ).status_code
            == 201
        )
    params = {"max_results": 5, "post.fields": "created_at", "expansions": "attachments.media_keys"}
    first = requests.get(url + f"/2/users/{xfake.USER_ID}/tweets", headers=auth(), params=params).json()
    assert [p["text"] for p in first["data"]] == [f"post {i}" for i in (6, 5, 4, 3, 2)]
    assert first["data"][0]["attachments"]["media_keys"][0].startswith("3_") and "created_at" in first["data"][0]
    assert len(first["includes"]["media"]) == 5
    rest = requests.get(
        url + f"/2/users/{xfake.USER_ID}/tweets",
        headers=auth(),
        params={**params, "pagination_token": first["meta"]["next_token"]},
    ).json()
    assert [p["text"] for p in rest["data"]] == ["post 1", "post 0"] and "next_token" not in rest["meta"]


def test_fake_control_api(fake, url):
    assert requests.post(url + "/_sandbox/faults", json={"kind": "429", "retry_after": 5}).status_code == 200
    r = requests.get(url + "/2/users/me", headers=auth())
    assert r.status_code == 429 and r.headers["x-rate-limit-remaining"] == "0"
    assert r.json() == {
        "title": "Too Many Requests",
        "detail": "Too Many Requests",
        "type": "about:blank",
        "status": 429,
    }
    assert requests.post(url + "/_sandbox/faults", json={"kind": "bogus"}).status_code == 400
    assert requests.post(url + "/_sandbox/daily-cap", json={"cap": 0}).status_code == 200
    capped = requests.post(url + "/2/tweets", headers=auth(), json={"text": "capped"})
    assert capped.status_code == 429 and capped.headers["x-user-limit-24hour-remaining"] == "0"
    requests.post(url + "/_sandbox/expire-token")
    assert requests.get(url + "/2/users/me", headers=auth()).status_code == 401
    requests.post(url + "/_sandbox/reset")
    assert requests.get(url + "/2/users/me", headers=auth()).status_code == 200
    logged = requests.get(url + "/_sandbox/requests").json()["requests"]
    assert logged and all("Authorization" not in str(r) and xfake.ACCESS_TOKEN not in str(r) for r in logged)
    assert requests.get(url + "/_sandbox/posts").json() == {"posts": []}


def test_fake_records_exif_gps(fake, url):
    media_id = upload(url, jpeg(gps=True)).json()["data"]["id"]
    requests.post(url + "/2/tweets", headers=auth(), json={"text": "gps", "media": {"media_ids": [media_id]}})
    assert fake.posts()[0]["has_exif_gps"] is True


def test_fake_accepts_base64_json_upload(fake, url):
    r = requests.post(
        url + "/2/media/upload",
        headers=auth(),
        json={"media": base64.b64encode(jpeg()).decode(), "media_category": "tweet_image"},
    )
    assert r.status_code == 200 and r.json()["data"]["image"] == {"image_type": "image/jpeg", "w": 640, "h": 480}


class _SlowProgress(MemoryProgress):
    """Time passes during the upload (clock jumps), and mark_final notes which calls preceded it."""

    def __init__(self, offset: list[float], fake) -> None:
        super().__init__()
        self.offset, self.fake, self.before_final = offset, fake, []

    def save(self, step, value):
        super().save(step, value)
        if step == "media":
            self.offset[0] += 800  # the token (expiring in 1000 s, margin 300) is now due

    def mark_final(self, marker):
        self.before_final = [r["path"] for r in self.fake.request_log()]
        super().mark_final(marker)


def test_a_token_due_during_the_upload_is_refreshed_before_the_final_marker(fake, url, served_images):
    # mark_final comes right before POST /2/tweets: no refresh call may sit between them.
    # Without alt text (no description or title) the post is the first call after the upload.
    offset = [0.0]
    creds = MemoryCredentials({**xfake.sandbox_secret(), "expires_at": int(time.time()) + 1000})
    req = make_request(metadata={k: v for k, v in META.items() if k not in ("title", "description")})
    served_images.add(req.image_key, jpeg())
    pub = xpub.build(
        {**xfake.sandbox_target(url, "x-main")}, creds, sleep=lambda s: None, clock=lambda: time.time() + offset[0]
    )
    progress = _SlowProgress(offset, fake)
    assert pub.publish(req, served_images, progress).outcome.ok
    assert "/2/oauth2/token" in progress.before_final
    assert [r["path"] for r in fake.request_log()][len(progress.before_final) :] == ["/2/tweets"]
