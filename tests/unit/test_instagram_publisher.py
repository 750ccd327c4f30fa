"""Contract tests: the Instagram publisher against the Instagram Graph fake over real HTTP."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
import requests
from PIL import Image

from socialomega.core.config import ConfigError
from socialomega.platforms.instagram import publisher as ig
from socialomega.publishers.base import PublishRequest
from socialomega.sandbox import instagram as fake_mod
from tests.unit.fakes import MemoryCredentials, MemoryProgress

# A real socket timeout, kept short: the publisher gives up after TIMEOUT seconds, while the fake
# answers the faulted call only after FAULT_DELAY (a `slow_accept` acts first, a `timeout` never
# acts). Every other call of these flows answers in a few milliseconds, far under TIMEOUT.
TIMEOUT, FAULT_DELAY = 0.4, 1.2

METADATA = {
    "title": "Dunes at dawn",
    "description": "First light over the Erg Chebbi dunes, wind drawing lines in the sand.",
    "keywords": ["dunes", "dawn", "desert", "sahara", "morocco", "travel", "landscape"],
}


def jpeg(width: int = 1080, height: int = 1080, *, gps: bool = False, fmt: str = "JPEG") -> bytes:
    image = Image.new("RGB", (width, height), (200, 150, 90))
    out = io.BytesIO()
    kwargs = {}
    if gps and fmt == "JPEG":
        exif = Image.Exif()
        exif.get_ifd(0x8825).update({1: "N", 2: (31.0, 8.0, 0.0), 3: "W", 4: (4.0, 1.0, 0.0)})
        kwargs["exif"] = exif
    image.save(out, fmt, **kwargs)
    return out.getvalue()


def make_request(key: str = "processed/a1/v1/instagram.jpg", metadata: dict | None = None) -> PublishRequest:
    return PublishRequest(
        "a1",
        "v1",
        "instagram",
        "instagram",
        "corr-1",
        "bucket",
        key,
        None,
        1080,
        1080,
        "image/jpeg",
        dict(METADATA if metadata is None else metadata),
    )


class Clock:
    """The fake's clock, movable without sleeping."""

    def __init__(self) -> None:
        self.t = datetime.now(UTC).timestamp()

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def fake(clock):
    return fake_mod.InstagramFake(processing_polls=1, clock=clock, fetch_timeout=2.0)


@pytest.fixture
def graph(fake, mount):
    return mount(fake)


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def publisher(graph, sleeps):
    def make(**overrides):
        target = {**fake_mod.sandbox_target(graph, "instagram-main"), **overrides}
        return ig.build(target, MemoryCredentials(fake_mod.sandbox_secret()), sleep=sleeps.append)

    return make


@pytest.fixture
def image(served_images):
    served_images.add("processed/a1/v1/instagram.jpg", jpeg(1080, 1350, gps=True))
    return served_images


def api_calls(fake, method=None, contains=""):
    return [r for r in fake.requests if (method is None or r["method"] == method) and contains in r["path"]]


# --- happy path --------------------------------------------------------------------------------


def test_publishes_image_with_caption_alt_text_and_permalink(fake, publisher, image, sleeps):
    progress = MemoryProgress()
    result = publisher().publish(make_request(), image, progress)

    assert result.outcome.ok, result.outcome
    [post] = fake.posts()
    assert result.remote_id == post["id"]
    assert result.remote_url == post["permalink"] and post["permalink"].startswith("https://www.instagram.com/p/")
    assert post["caption"].startswith("Dunes at dawn\n\nFirst light over the Erg Chebbi dunes")
    assert post["caption"].count("#") == 5  # the December 2025 cap, applied by build_caption
    assert post["alt_text"] == METADATA["description"]
    assert (post["width"], post["height"], post["has_exif_gps"]) == (1080, 1350, True)
    assert post["bytes"] == len(image.blobs["processed/a1/v1/instagram.jpg"])
    assert image.fetches == ["processed/a1/v1/instagram.jpg"]  # the fake really downloaded it
    # one IN_PROGRESS read, one backoff sleep, then FINISHED
    assert len(api_calls(fake, "GET", post["container_id"])) == 2 and len(sleeps) == 1
    assert progress.final_marker["container_id"] == post["container_id"]
    assert progress.final_marker["caption"] == post["caption"]
    assert progress.get("media_id") == post["id"]
    assert all(r["path"].startswith("/v25.0/") for r in fake.requests)


def test_token_travels_in_the_authorization_header_not_the_url(fake, graph, image):
    seen = []
    session = requests.Session()
    original = session.request

    def spy(method, url, **kwargs):
        seen.append((url, kwargs.get("params") or {}, kwargs.get("data") or {}, kwargs["headers"]))
        return original(method, url, **kwargs)

    session.request = spy
    target = fake_mod.sandbox_target(graph, "ig")
    pub = ig.InstagramPublisher(
        ig.InstagramSettings.model_validate(target),
        target,
        MemoryCredentials(fake_mod.sandbox_secret()),
        session=session,
        sleep=lambda s: None,
    )
    assert pub.publish(make_request(), image, MemoryProgress()).outcome.ok
    token = fake_mod.ACCESS_TOKEN
    assert seen and all(token not in url and token not in str(p) and token not in str(d) for url, p, d, _ in seen)
    assert all(h["Authorization"] == f"Bearer {token}" for *_, h in seen)


# --- error classes -----------------------------------------------------------------------------


def test_server_error_on_container_creation_is_retryable(fake, publisher, image):
    fake.fail_next("500", path_contains="/media")
    result = publisher().publish(make_request(), image, MemoryProgress())
    assert (result.outcome.kind, result.outcome.status, result.outcome.code) == ("retryable", 500, "meta:2")
    assert fake.posts() == []


def test_throttle_is_retryable_with_retry_after_from_the_buc_header(fake, publisher, image):
    fake.fail_next("429", retry_after=120)
    result = publisher().publish(make_request(), image, MemoryProgress())
    assert (result.outcome.kind, result.outcome.status, result.outcome.code) == ("retryable", 403, "meta:4")
    assert result.outcome.retry_after == 120.0  # estimated_time_to_regain_access: 2 minutes


def test_wrong_aspect_ratio_is_permanent_with_graphs_code_and_message(fake, publisher, served_images):
    served_images.add("processed/a1/v1/instagram.jpg", jpeg(1080, 1920))  # 9:16 is taller than 4:5
    result = publisher().publish(make_request(), served_images, MemoryProgress())
    assert (result.outcome.kind, result.outcome.code) == ("permanent", "meta:36003/2207009")
    assert "1080/1920" in result.outcome.message and "4:5" in result.outcome.message


def test_expired_token_is_auth_and_never_leaks(fake, publisher, image):
    fake.expire_token()
    result = publisher().publish(make_request(), image, MemoryProgress())
    assert (result.outcome.kind, result.outcome.status, result.outcome.code) == ("auth", 400, "meta:190/463")
    assert fake_mod.ACCESS_TOKEN not in repr(result)


def test_used_up_quota_is_deferred_until_the_oldest_post_leaves_the_window(fake, publisher, image, clock):
    fake.set_quota(2)
    for hours_ago in (3, 1):
        pub = publisher()
        clock.t -= hours_ago * 3600
        assert pub.publish(make_request(), image, MemoryProgress()).outcome.ok
        clock.t += hours_ago * 3600
    result = publisher().publish(make_request(), image, MemoryProgress())
    assert result.outcome.kind == "deferred"
    # the post made 3 h ago leaves the 24 h window in ~21 h
    assert result.outcome.retry_after == pytest.approx(21 * 3600, abs=180)
    assert len(fake.posts()) == 2 and not api_calls(fake, "POST", "/media_publish")[2:]


def test_quota_hit_on_media_publish_itself_is_deferred(fake, publisher, image, monkeypatch):
    # The limit changed between the read and the publish (another app posted): Graph's 9/2207042.
    monkeypatch.setattr(ig.InstagramPublisher, "_check_quota", lambda self: None)
    fake.set_quota(0)
    result = publisher().publish(make_request(), image, MemoryProgress())
    assert (result.outcome.kind, result.outcome.code) == ("deferred", "meta:9/2207042")
    assert result.outcome.retry_after


def test_container_error_is_permanent_with_the_status_text(fake, publisher, image):
    fake.fail_processing("Error: Media upload has failed with error code 2207001.")
    result = publisher().publish(make_request(), image, MemoryProgress())
    assert result.outcome.kind == "permanent" and "2207001" in result.outcome.message
    assert not api_calls(fake, "POST", "/media_publish")


def test_unreachable_image_url_is_graphs_media_download_failure(fake, publisher, served_images):
    result = publisher().publish(make_request(key="missing.jpg"), served_images, MemoryProgress())
    assert (result.outcome.kind, result.outcome.code) == ("permanent", "meta:9004/2207052")


# --- resumed flows -----------------------------------------------------------------------------


def test_still_in_progress_is_retryable_and_the_next_delivery_polls_the_same_container(fake, publisher, image, sleeps):
    fake.set_processing_polls(6)
    progress = MemoryProgress()
    first = publisher().publish(make_request(), image, progress)
    assert (first.outcome.kind, first.outcome.code) == ("retryable", "ig:container_in_progress")
    assert sleeps == [0.05, 0.1, 0.2]  # bounded, exponential, capped at status_poll_max_delay
    container_id = progress.get("container")["id"]

    second = publisher().publish(make_request(), image, progress)
    assert second.outcome.ok
    assert len(api_calls(fake, "POST", "/media")) == 2  # one container + one media_publish
    assert len(api_calls(fake, "POST", f"{fake_mod.IG_USER_ID}/media")) == 2
    assert [p["container_id"] for p in fake.posts()] == [container_id]
    assert image.fetches == ["processed/a1/v1/instagram.jpg"]


def test_failed_publish_step_resumes_without_recreating_the_container(fake, publisher, image):
    fake.fail_next("429", path_contains="/media_publish")
    progress = MemoryProgress()
    assert publisher().publish(make_request(), image, progress).outcome.kind == "retryable"
    assert fake.posts() == []
    containers_before = len([r for r in api_calls(fake, "POST") if r["path"].endswith("/media")])

    assert publisher().publish(make_request(), image, progress).outcome.ok
    containers_after = len([r for r in api_calls(fake, "POST") if r["path"].endswith("/media")])
    assert containers_before == containers_after == 1
    assert len(fake.posts()) == 1 and image.fetches == ["processed/a1/v1/instagram.jpg"]


def test_expired_container_is_forgotten_and_recreated(fake, publisher, image):
    fake.set_processing_polls(10)
    progress = MemoryProgress()
    assert publisher().publish(make_request(), image, progress).outcome.kind == "retryable"
    old = progress.get("container")["id"]
    fake.expire_container(old)
    fake.set_processing_polls(0)

    result = publisher().publish(make_request(), image, progress)
    assert result.outcome.ok
    [post] = fake.posts()
    assert post["container_id"] != old and progress.get("container")["id"] == post["container_id"]


def test_a_saved_media_id_is_not_published_again(fake, publisher, image):
    progress = MemoryProgress()
    first = publisher().publish(make_request(), image, progress)
    again = publisher().publish(make_request(), image, progress)
    assert again.outcome.ok and again.remote_id == first.remote_id and len(fake.posts()) == 1


# --- reconciliation ----------------------------------------------------------------------------


def test_slow_accept_on_media_publish_is_unknown_then_found(fake, publisher, image):
    # Every call of the flow shares the (short) timeout: only the faulted one comes near it.
    fake.fail_next("slow_accept", delay=FAULT_DELAY, path_contains="/media_publish")
    fake.add_media("an older post")
    progress = MemoryProgress()
    pub = publisher(timeout_seconds=TIMEOUT)
    result = pub.publish(make_request(), image, progress)
    assert result.outcome.kind == "unknown"
    [post] = fake.posts()

    lookup = publisher().find_post(make_request(), progress)
    assert (lookup.state, lookup.remote_id, lookup.remote_url) == ("found", post["id"], post["permalink"])


def test_timeout_without_acting_is_unknown_then_absent(fake, publisher, image):
    fake.fail_next("timeout", delay=FAULT_DELAY, path_contains="/media_publish")
    progress = MemoryProgress()
    assert publisher(timeout_seconds=TIMEOUT).publish(make_request(), image, progress).outcome.kind == "unknown"
    assert fake.posts() == []
    lookup = publisher().find_post(make_request(), progress)
    assert lookup.state == "absent" and "FINISHED" in lookup.reason


def test_find_post_by_caption_when_the_container_cannot_be_read(fake, publisher, image):
    progress = MemoryProgress()
    sent_at = (datetime.now(UTC) - timedelta(seconds=5)).isoformat()
    assert publisher().publish(make_request(), image, progress).outcome.ok
    marker = {**progress.final_marker, "container_id": "18000000000000999", "sent_at": sent_at}
    progress.save("final", marker)
    lookup = publisher().find_post(make_request(), progress)
    assert lookup.state == "found" and lookup.remote_id == fake.posts()[0]["id"]

    # Nothing with that caption: absent. Two with it: undecided.
    progress.save("final", {**marker, "caption": "never posted"})
    assert publisher().find_post(make_request(), progress).state == "absent"
    fake.add_media(marker["caption"])
    progress.save("final", marker)
    assert publisher().find_post(make_request(), progress).state == "undecided"


def test_find_post_asks_again_later_when_graph_cannot_be_read(fake, publisher, image):
    progress = MemoryProgress()
    progress.mark_final({"container_id": "18000000000000999", "caption": "x"})
    fake.fail_next("500", count=5)
    assert publisher().find_post(make_request(), progress).state == "unavailable"


def test_find_post_without_marker_is_absent(publisher):
    assert publisher().find_post(make_request(), MemoryProgress()).state == "absent"


# --- configuration -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad", [{"ig_user_id": "me"}, {"graph_version": "25"}, {"api_base_url": "ftp://x"}, {"image_url_ttl_seconds": 10}]
)
def test_invalid_settings_are_config_errors(graph, bad):
    target = {**fake_mod.sandbox_target(graph, "ig"), **bad}
    with pytest.raises(ConfigError):
        ig.build(target, MemoryCredentials({}))


def test_defaults_point_at_the_real_graph_host_with_a_pinned_version():
    settings = ig.InstagramSettings.model_validate(
        {"name": "ig", "platform": "instagram", "spec": {}, "ig_user_id": "17841400000000001"}
    )
    assert (settings.api_base_url, settings.graph_version) == ("https://graph.facebook.com", "v25.0")
    assert settings.image_url_ttl_seconds == 6 * 3600 and not settings.allow_private_network


def test_secret_without_token_is_a_config_error(publisher, graph, image):
    pub = ig.build(fake_mod.sandbox_target(graph, "ig"), MemoryCredentials({}))
    with pytest.raises(ConfigError):
        pub.publish(make_request(), image, MemoryProgress())


def test_private_api_host_is_refused_outside_the_sandbox(graph, image):
    target = {**fake_mod.sandbox_target(graph, "ig"), "allow_private_network": False}
    result = ig.build(target, MemoryCredentials(fake_mod.sandbox_secret())).publish(
        make_request(), image, MemoryProgress()
    )
    assert (result.outcome.kind, result.outcome.code) == ("permanent", "unsafe_destination")


# --- fake faithfulness -------------------------------------------------------------------------


def graph_post(url, path, **params):
    return requests.post(f"{url}/v25.0/{path}", data={"access_token": fake_mod.ACCESS_TOKEN, **params}, timeout=5)


def graph_get(url, path, version="v25.0", **params):
    return requests.get(f"{url}/{version}/{path}", params={"access_token": fake_mod.ACCESS_TOKEN, **params}, timeout=5)


def error_of(response):
    err = response.json()["error"]
    return response.status_code, err["code"], err.get("error_subcode")


@pytest.mark.parametrize(
    ("blob", "expected"),
    [
        (jpeg(1000, 1000, fmt="PNG"), (400, 36001, 2207005)),
        (jpeg(2000, 1000), (400, 36003, 2207009)),  # 2:1 is wider than 1.91:1
        (jpeg(800, 1001), (400, 36003, 2207009)),  # just taller than 4:5
        (b"\xff\xd8\xff" + b"\0" * (8 * 1024 * 1024), (400, 36000, 2207004)),
    ],
)
def test_fake_rejects_images_graph_rejects(graph, served_images, blob, expected):
    url = served_images.add("x.img", blob)
    assert error_of(graph_post(graph, f"{fake_mod.IG_USER_ID}/media", image_url=url)) == expected


def test_fake_rejects_mpo(graph, served_images):
    out = io.BytesIO()
    frames = [Image.new("RGB", (800, 800), c) for c in ("red", "blue")]
    frames[0].save(out, "MPO", save_all=True, append_images=frames[1:])
    url = served_images.add("x.mpo", out.getvalue())
    assert error_of(graph_post(graph, f"{fake_mod.IG_USER_ID}/media", image_url=url)) == (400, 36001, 2207005)


def test_fake_accepts_the_aspect_ratio_bounds_and_records_no_gps(graph, fake, served_images):
    for size in ((1080, 1350), (1910, 1000)):
        url = served_images.add("ok.jpg", jpeg(*size))
        assert graph_post(graph, f"{fake_mod.IG_USER_ID}/media", image_url=url).status_code == 200
    assert all(c["has_exif_gps"] is False for c in fake.containers.values())


def test_fake_caption_hashtag_and_alt_text_limits(graph, served_images):
    url = served_images.add("ok.jpg", jpeg())
    media = f"{fake_mod.IG_USER_ID}/media"
    assert error_of(graph_post(graph, media, image_url=url, caption="x" * 2201)) == (400, 36004, 2207010)
    six = " ".join(f"#t{i}" for i in range(6))
    assert error_of(graph_post(graph, media, image_url=url, caption=six)) == (400, 36004, 2207010)
    assert graph_post(graph, media, image_url=url, caption=" ".join(f"#t{i}" for i in range(5))).ok
    assert error_of(graph_post(graph, media, image_url=url, alt_text="a" * 1001))[:2] == (400, 100)


def test_fake_unreachable_url_and_auth_errors(graph, fake):
    assert error_of(graph_post(graph, f"{fake_mod.IG_USER_ID}/media", image_url="http://127.0.0.1:9/x.jpg")) == (
        400,
        9004,
        2207052,
    )
    r = requests.get(f"{graph}/v25.0/{fake_mod.IG_USER_ID}/content_publishing_limit", timeout=5)
    assert error_of(r)[:2] == (400, 2500)
    r = requests.get(
        f"{graph}/v25.0/{fake_mod.IG_USER_ID}/content_publishing_limit",
        headers={"Authorization": "Bearer nope"},
        timeout=5,
    )
    assert error_of(r)[:2] == (400, 190)
    fake.expire_token()
    r = graph_get(graph, f"{fake_mod.IG_USER_ID}/content_publishing_limit")
    assert error_of(r) == (400, 190, 463) and "invalid_token" in r.headers["WWW-Authenticate"]
    assert r.json()["error"]["type"] == "OAuthException" and r.json()["error"]["fbtrace_id"]


def test_fake_versions_usage_headers_and_limit_shape(graph):
    r = graph_get(graph, f"{fake_mod.IG_USER_ID}/content_publishing_limit", fields="quota_usage,config")
    assert r.json() == {"data": [{"quota_usage": 0, "config": {"quota_total": 50, "quota_duration": 86400}}]}
    assert r.headers["facebook-api-version"] == "v25.0"
    assert "call_count" in r.headers["X-App-Usage"]
    assert fake_mod.IG_USER_ID in r.headers["X-Business-Use-Case-Usage"]
    old = graph_get(graph, f"{fake_mod.IG_USER_ID}/content_publishing_limit", version="v2.4")
    assert old.status_code == 200 and old.headers["facebook-api-version"] == "v21.0"  # served as the oldest
    for bad in ("v99.0", "latest"):
        assert error_of(graph_get(graph, f"{fake_mod.IG_USER_ID}/content_publishing_limit", version=bad))[:2] == (
            400,
            2500,
        )


def test_fake_publish_rules_and_listing(graph, fake, served_images):
    url = served_images.add("ok.jpg", jpeg())
    fake.set_processing_polls(1)
    cid = graph_post(graph, f"{fake_mod.IG_USER_ID}/media", image_url=url, caption="hello").json()["id"]
    early = graph_post(graph, f"{fake_mod.IG_USER_ID}/media_publish", creation_id=cid)
    assert error_of(early) == (400, 9007, 2207027)  # status read 0 times: still IN_PROGRESS
    assert graph_get(graph, cid, fields="status_code").json()["status_code"] == "IN_PROGRESS"
    assert graph_get(graph, cid, fields="status_code,status").json()["status_code"] == "FINISHED"
    media_id = graph_post(graph, f"{fake_mod.IG_USER_ID}/media_publish", creation_id=cid).json()["id"]
    assert graph_get(graph, cid, fields="status_code").json()["status_code"] == "PUBLISHED"
    assert error_of(graph_post(graph, f"{fake_mod.IG_USER_ID}/media_publish", creation_id=cid))[:2] == (400, 9007)
    for i in range(3):
        fake.add_media(f"post {i}")
    page = graph_get(graph, f"{fake_mod.IG_USER_ID}/media", fields="id,caption,timestamp,permalink", limit="2").json()
    assert [m["caption"] for m in page["data"]] == ["post 2", "post 1"]
    assert fake_mod.ACCESS_TOKEN not in page["paging"]["next"]
    rest = graph_get(
        graph, f"{fake_mod.IG_USER_ID}/media", fields="id,caption", limit="2", after=page["paging"]["cursors"]["after"]
    ).json()
    assert [m["id"] for m in rest["data"]][-1] == media_id and "next" not in rest["paging"]
    assert page["data"][0]["timestamp"].endswith("+0000")


def test_fake_control_api_over_http(graph, fake):
    assert requests.post(f"{graph}/_sandbox/faults", json={"kind": "timeout", "delay": 0.1}, timeout=5).ok
    assert requests.get(f"{graph}/_sandbox/faults", timeout=5).json()["faults"][0]["kind"] == "timeout"
    assert graph_get(graph, f"{fake_mod.IG_USER_ID}/content_publishing_limit").status_code == 504
    assert requests.post(f"{graph}/_sandbox/faults", json={"kind": "nope"}, timeout=5).status_code == 400
    assert requests.post(f"{graph}/_sandbox/quota", json={"total": 7}, timeout=5).json() == {"quota_total": 7}
    assert requests.post(f"{graph}/_sandbox/processing-polls", json={"polls": 3}, timeout=5).ok
    assert requests.post(f"{graph}/_sandbox/expire-token", timeout=5).ok
    log = requests.get(f"{graph}/_sandbox/requests", timeout=5).json()["requests"]
    assert log[0]["status"] == 504 and "access_token" not in str(log)
    assert requests.get(f"{graph}/_sandbox/posts", timeout=5).json() == {"posts": []}
    assert requests.post(f"{graph}/_sandbox/reset", timeout=5).ok
    assert (fake.quota_total, fake.processing_polls, fake.token_expired, fake.requests) == (50, 1, False, [])


def test_a_rotated_secret_is_reread_once_after_the_token_is_refused(fake, graph, image):
    fake.token = "rotated-token"  # the operator rotated the token; this Lambda still caches the old one

    class Rotating(MemoryCredentials):
        def current(self, *, fresh=False):
            return {"access_token": "rotated-token"} if fresh else dict(self.value)

    pub = ig.build(fake_mod.sandbox_target(graph, "ig"), Rotating(fake_mod.sandbox_secret()), sleep=lambda s: None)
    assert pub.publish(make_request(), image, MemoryProgress()).outcome.ok
    assert [r["status"] for r in fake.requests][:2] == [400, 200]


def test_a_timeout_before_media_publish_is_retryable_not_unknown(fake, publisher, image):
    # Nothing was posted yet: the step is redone; only media_publish may end "unknown".
    fake.fail_next("timeout", delay=FAULT_DELAY, path_contains="/content_publishing_limit")
    progress = MemoryProgress()
    result = publisher(timeout_seconds=TIMEOUT).publish(make_request(), image, progress)
    assert (result.outcome.kind, result.outcome.code) == ("retryable", "timeout")
    assert progress.final_marker is None and fake.posts() == []
