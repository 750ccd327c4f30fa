"""The Instagram and Facebook insights readers against the Graph fakes over real HTTP: the values
are the fakes' engagement truth, a missing permission is reported as such (never 0), a deleted
post is gone, a throttle defers the rest without another call, one post's error fails only it,
and the token never travels in a URL. Posts are made by the publishers themselves, so each
PostRef carries the remote id a publication records."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image

from socialomega.core import deadline
from socialomega.platforms.facebook import insights as fb_insights
from socialomega.platforms.facebook import publisher as fb_publisher
from socialomega.platforms.insights import PostRef
from socialomega.platforms.instagram import insights as ig_insights
from socialomega.platforms.instagram import publisher as ig_publisher
from socialomega.publishers.base import PublishRequest
from socialomega.sandbox import engagement
from socialomega.sandbox import facebook as fb_fake
from socialomega.sandbox import instagram as ig_fake
from socialomega.sandbox.graph import GraphError
from tests.unit.fakes import MemoryCredentials, MemoryProgress

IMAGE_KEY = "processed/a1/v1/photo.jpg"
IG_METRICS = {"likes": "likes", "comments": "comments", "shares": "shares", "saves": "saves"}
IG_MISSING_OK = {"clicks": "not offered by instagram"}
FB_MISSING_OK = {"saves": "not offered by facebook"}


def frozen_clock() -> engagement.SandboxClock:
    """The fakes' clock, still unless a test advances it: the derived metrics grow with time, so
    a reading and the truth it is compared with must be taken at the same instant."""
    start = datetime.now(UTC).timestamp()
    return engagement.SandboxClock(base=lambda: start)


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (1080, 1080), (180, 140, 90)).save(out, "JPEG")
    return out.getvalue()


def request(platform: str, n: int) -> PublishRequest:
    metadata = {"title": f"Dunes {n}", "description": "First light over the dunes", "keywords": ["dunes"]}
    return PublishRequest(
        f"asset-{n}",
        "v1",
        platform,
        platform,
        f"corr-{n}",
        "bucket",
        IMAGE_KEY,
        None,
        1080,
        1080,
        "image/jpeg",
        metadata,
    )


def publish(publisher, platform: str, images, fake, count: int) -> list[PostRef]:
    """`count` posts published through the publisher; PostRefs with the remote id it returned."""
    posts = []
    for n in range(count):
        result = publisher.publish(request(platform, n), images, MemoryProgress())
        assert result.outcome.ok, result.outcome
        published = datetime.fromtimestamp(fake.truth.find(result.remote_id).published_at, UTC)
        posts.append(PostRef(platform, platform, f"asset-{n}", result.remote_id, published, result.remote_url))
    return posts


def expected(fake, post: PostRef, metrics) -> dict[str, int]:
    """The fake's ground truth for `post`, in the metrics the reader reports."""
    [truth] = fake.engagement(post.remote_id)
    return {metric: truth[metric] for metric in metrics}


def api_calls(fake, contains: str = "") -> list[dict]:
    return [r for r in fake.requests if not r["path"].startswith("/_sandbox") and contains in r["path"]]


def spy_on_urls(publisher) -> list[tuple[str, dict, dict]]:
    """Every (url, params, headers) the publisher's session sends from now on."""
    seen: list[tuple[str, dict, dict]] = []
    session = publisher.api.session
    original = session.request

    def spy(method, url, **kwargs):
        seen.append((url, dict(kwargs.get("params") or {}), dict(kwargs.get("headers") or {})))
        return original(method, url, **kwargs)

    session.request = spy
    return seen


# --- Instagram ------------------------------------------------------------------------------------
@pytest.fixture
def ig(mount, served_images):
    served_images.add(IMAGE_KEY, jpeg())
    fake = ig_fake.InstagramFake(processing_polls=0, clock=frozen_clock())
    target = ig_fake.sandbox_target(mount(fake), "instagram-main")
    pub = ig_publisher.build(target, MemoryCredentials(ig_fake.sandbox_secret()), sleep=lambda s: None)

    def posts(count: int) -> list[PostRef]:
        made = publish(pub, "instagram", served_images, fake, count)
        fake.requests.clear()  # from here on, the reader's calls only
        return made

    return fake, pub, posts


def ig_truth(fake, post: PostRef) -> dict[str, int]:
    return expected(fake, post, ("likes", "comments", "shares", "saves", "views", "reach"))


def test_instagram_values_are_the_platforms_lifetime_totals_as_the_clock_moves(ig):
    fake, pub, make = ig
    first, second = make(2)
    for kind, n in (("like", 7), ("comment", 3), ("save", 2), ("share", 1)):
        fake.engage(first.remote_id, kind, n)
    fake.engage(first.remote_id, "like", 1, remove=True)
    fake.engage(second.remote_id, "comment", 1)

    now = datetime.now(UTC)
    results = ig_insights.read(pub, [first, second], now)

    assert [r.status for r in results] == ["ok", "ok"]
    assert results[0].values == ig_truth(fake, first) and results[0].values["likes"] == 6
    assert results[1].values == ig_truth(fake, second) and results[1].values["comments"] == 1
    assert all(r.missing == IG_MISSING_OK for r in results)
    # one insights call per media, nothing else, deprecated metrics never asked
    assert [r["path"] for r in api_calls(fake)] == [f"/v25.0/{p.remote_id}/insights" for p in (first, second)]

    fake.advance_clock(6 * 3600)
    fake.engage(first.remote_id, "save", 4)
    later = ig_insights.read(pub, [first], now + timedelta(hours=6))[0]
    assert later.status == "ok" and later.values == ig_truth(fake, first)
    assert later.values["views"] > results[0].values["views"] and later.values["saves"] == 6


def test_instagram_without_the_insights_permission_reads_the_counts_and_never_zeros(ig):
    fake, pub, make = ig
    [post] = make(1)
    fake.engage(post.remote_id, "like", 3)
    fake.engage(post.remote_id, "comment", 2)
    fake.engage(post.remote_id, "save", 5)
    fake.revoke("instagram_manage_insights")

    [result] = ig_insights.read(pub, [post], datetime.now(UTC))

    assert result.status == "partial"
    assert result.values == {"likes": 3, "comments": 2}  # the media node's like_count, comments_count
    reason = "no permission: instagram_manage_insights"
    assert result.missing == {"shares": reason, "saves": reason, "views": reason, "reach": reason, **IG_MISSING_OK}
    assert "instagram_manage_insights" in result.detail
    assert [r["status"] for r in api_calls(fake)] == [400, 200]  # insights refused, then the fields


def test_instagram_fields_refused_too_is_no_permission(ig, monkeypatch):
    fake, pub, make = ig
    [post] = make(1)
    fake.revoke("instagram_manage_insights")

    def refuse(node_id, params):
        raise GraphError(400, 10, "(#10) Application does not have permission for this action")

    monkeypatch.setattr(fake, "_node", refuse)
    [result] = ig_insights.read(pub, [post], datetime.now(UTC))

    assert result.status == "no_permission" and result.values == {}
    assert result.missing["likes"] == result.missing["comments"] == "no permission: instagram_basic"
    assert result.missing["views"] == "no permission: instagram_manage_insights"


def test_instagram_metrics_not_yet_measured_are_missing_not_zero(ig):
    fake, pub, make = ig
    [post] = make(1)
    fake.engage(post.remote_id, "like", 2)
    fake.insights_delay_seconds = 3600.0  # the fake answers {"data": []} for a post this young

    [result] = ig_insights.read(pub, [post], post.published_at + timedelta(minutes=5))

    assert result.status == "partial" and result.values == {"likes": 2, "comments": 0}
    for metric in ("views", "reach", "saves", "shares"):
        assert result.missing[metric].startswith("not reported by instagram yet")


def test_instagram_a_metric_graph_refuses_is_asked_alone_and_the_others_still_read(ig, monkeypatch):
    fake, pub, make = ig
    [post] = make(1)
    fake.engage(post.remote_id, "share", 2)
    fake.engage(post.remote_id, "like", 4)
    # as on accounts where `shares` is rejected for IMAGE media (exileum/meta-mcp#174)
    monkeypatch.setattr(ig_fake, "_REELS_ONLY", ig_fake._REELS_ONLY | {"shares"})

    [result] = ig_insights.read(pub, [post], datetime.now(UTC))

    truth = ig_truth(fake, post)
    assert result.status == "ok"
    assert result.values == {m: v for m, v in truth.items() if m != "shares"}
    assert result.missing["shares"].startswith("not offered for this post: (#100) The Media Insights API")
    assert len(api_calls(fake, "/insights")) == 1 + len(ig_insights.INSIGHTS)


def test_instagram_deleted_media_is_gone_and_the_next_is_still_read(ig):
    fake, pub, make = ig
    gone, kept = make(2)
    fake.engage(kept.remote_id, "like", 1)
    fake.delete_post(gone.remote_id)

    results = ig_insights.read(pub, [gone, kept], datetime.now(UTC))

    assert [r.status for r in results] == ["gone", "ok"]
    assert results[0].values == {} and "no longer exists" in results[0].detail
    assert results[1].values == ig_truth(fake, kept)


def test_instagram_throttle_defers_that_media_and_the_rest_without_asking(ig):
    fake, pub, make = ig
    first, throttled, last = make(3)
    fake.fail_next("429", retry_after=120, path_contains=throttled.remote_id)

    results = ig_insights.read(pub, [first, throttled, last], datetime.now(UTC))

    assert [r.status for r in results] == ["ok", "deferred", "deferred"]
    assert [r.retry_after for r in results[1:]] == [120.0, 120.0]  # estimated_time_to_regain_access
    assert results[1].values == results[2].values == {}
    assert len(api_calls(fake, throttled.remote_id)) == 1 and api_calls(fake, last.remote_id) == []


def test_instagram_server_error_fails_only_that_media(ig):
    fake, pub, make = ig
    broken, fine = make(2)
    fake.fail_next("500", path_contains=broken.remote_id)

    results = ig_insights.read(pub, [broken, fine], datetime.now(UTC))

    assert [r.status for r in results] == ["failed", "ok"]
    assert "unexpected error" in results[0].detail and "meta:2" in results[0].detail
    assert results[1].values == ig_truth(fake, fine)


def test_instagram_refused_token_fails_all_without_asking_again(ig):
    fake, pub, make = ig
    posts = make(3)
    fake.expire_token()

    results = ig_insights.read(pub, posts, datetime.now(UTC))

    assert [r.status for r in results] == ["failed"] * 3
    assert "refused the token" in results[0].detail and results[2].detail.startswith("not asked this run")
    assert len(api_calls(fake)) == 1


def test_the_deadline_defers_every_post_before_any_call(ig):
    fake, pub, make = ig
    posts = make(2)
    with deadline.bound(deadline.Deadline.in_seconds(0.5)):
        results = ig_insights.read(pub, posts, datetime.now(UTC))
    assert [r.status for r in results] == ["deferred", "deferred"]
    assert all(r.retry_after is not None for r in results)
    assert api_calls(fake) == []


def test_instagram_token_travels_in_the_header_never_in_a_url(ig):
    fake, pub, make = ig
    posts = make(2)
    fake.revoke("instagram_manage_insights")  # the fallback call too
    seen = spy_on_urls(pub)
    ig_insights.read(pub, posts, datetime.now(UTC))
    token = ig_fake.ACCESS_TOKEN
    assert len(seen) == 4
    assert all(token not in url and token not in str(params) for url, params, _ in seen)
    assert all(headers["Authorization"] == f"Bearer {token}" for *_, headers in seen)


# --- Facebook -------------------------------------------------------------------------------------
@pytest.fixture
def fb(mount, served_images):
    served_images.add(IMAGE_KEY, jpeg())
    fake = fb_fake.FacebookPageFake(fetch_timeout=(1.0, 2.0), clock=frozen_clock())
    target = fb_fake.sandbox_target(mount(fake), "fb-page")
    pub = fb_publisher.build(target, MemoryCredentials(fb_fake.sandbox_secret()))

    def posts(count: int) -> list[PostRef]:
        made = publish(pub, "facebook", served_images, fake, count)
        fake.requests.clear()
        return made

    return fake, pub, posts


def fb_truth(fake, post: PostRef) -> dict[str, int]:
    return expected(fake, post, ("likes", "comments", "shares", "views", "reach", "clicks"))


def test_facebook_values_are_the_platforms_lifetime_totals_as_the_clock_moves(fb):
    fake, pub, make = fb
    shared, quiet = make(2)
    assert shared.remote_id == f"{fb_fake.PAGE_ID}_{fake.posts()[0]['id']}"  # the publisher records the post id
    for kind, n in (("like", 5), ("comment", 2), ("share", 3)):
        fake.engage(shared.remote_id, kind, n)
    fake.engage(quiet.remote_id, "like", 1)  # no shares: Graph leaves `shares` out

    now = datetime.now(UTC)
    results = fb_insights.read(pub, [shared, quiet], now)

    assert [r.status for r in results] == ["ok", "ok"]
    assert results[0].values == fb_truth(fake, shared) and results[0].values["shares"] == 3
    assert results[1].values == fb_truth(fake, quiet) and results[1].values["shares"] == 0
    assert all(r.missing == FB_MISSING_OK for r in results)
    assert [r["path"] for r in api_calls(fake)] == [
        path for p in (shared, quiet) for path in (f"/v25.0/{p.remote_id}", f"/v25.0/{p.remote_id}/insights")
    ]

    fake.advance_clock(3 * 3600)
    fake.engage(shared.remote_id, "comment", 4)
    later = fb_insights.read(pub, [shared], now + timedelta(hours=3))[0]
    assert later.status == "ok" and later.values == fb_truth(fake, shared)
    assert later.values["views"] > results[0].values["views"] and later.values["comments"] == 6


def test_facebook_a_photo_id_is_read_through_its_page_post(fb):
    fake, pub, make = fb
    [post] = make(1)
    fake.engage(post.remote_id, "like", 2)
    photo = PostRef(post.target, post.platform, post.asset_id, fake.posts()[0]["id"], post.published_at)

    [result] = fb_insights.read(pub, [photo], datetime.now(UTC))

    assert result.status == "ok" and result.values == fb_truth(fake, post)
    assert [r["path"] for r in api_calls(fake)] == [
        f"/v25.0/{photo.remote_id}",
        f"/v25.0/{post.remote_id}",
        f"/v25.0/{post.remote_id}/insights",
    ]


def test_facebook_without_read_insights_keeps_the_counts_and_never_zeros(fb):
    fake, pub, make = fb
    [post] = make(1)
    fake.engage(post.remote_id, "like", 4)
    fake.revoke("read_insights")

    [result] = fb_insights.read(pub, [post], datetime.now(UTC))

    assert result.status == "partial"
    assert result.values == {"likes": 4, "comments": 0, "shares": 0}
    reason = "no permission: read_insights"
    assert result.missing == {"views": reason, "reach": reason, "clicks": reason, **FB_MISSING_OK}
    assert "read_insights" in result.detail


def test_facebook_without_pages_read_engagement_is_no_permission(fb):
    fake, pub, make = fb
    [post] = make(1)
    fake.engage(post.remote_id, "like", 4)
    fake.revoke("pages_read_engagement")

    [result] = fb_insights.read(pub, [post], datetime.now(UTC))

    assert result.status == "no_permission" and result.values == {}
    reason = "no permission: pages_read_engagement"
    assert result.missing == {
        **{m: reason for m in ("likes", "comments", "shares", "views", "reach", "clicks")},
        **FB_MISSING_OK,
    }
    assert len(api_calls(fake)) == 1  # the insights are not asked


def test_facebook_insights_not_reported_are_missing_not_zero(fb):
    fake, pub, make = fb
    [post] = make(1)
    fake.engage(post.remote_id, "comment", 1)
    fake.page_likes = 99  # "only available on Pages with 100 or more likes": {"data": []}

    [result] = fb_insights.read(pub, [post], post.published_at + timedelta(days=3))

    assert result.status == "partial" and result.values == {"likes": 0, "comments": 1, "shares": 0}
    assert {result.missing[m] for m in ("views", "reach", "clicks")} == {"not reported by facebook"}


def test_facebook_a_metric_graph_refuses_is_asked_alone(fb, monkeypatch):
    fake, pub, make = fb
    [post] = make(1)
    served = {k: v for k, v in fb_fake._POST_METRICS.items() if k != "post_clicks"}
    monkeypatch.setattr(fb_fake, "_POST_METRICS", served)

    [result] = fb_insights.read(pub, [post], datetime.now(UTC))

    truth = fb_truth(fake, post)
    assert result.status == "ok" and result.values == {m: v for m, v in truth.items() if m != "clicks"}
    assert result.missing["clicks"] == "not offered for this post: (#100) The value must be a valid insights metric"


def test_facebook_deleted_post_is_gone_and_the_next_is_still_read(fb):
    fake, pub, make = fb
    gone, kept = make(2)
    fake.delete_post(gone.remote_id)

    results = fb_insights.read(pub, [gone, kept], datetime.now(UTC))

    assert [r.status for r in results] == ["gone", "ok"]
    assert results[1].values == fb_truth(fake, kept)


def test_facebook_throttle_defers_that_post_and_the_rest_without_asking(fb):
    fake, pub, make = fb
    first, throttled, last = make(3)
    fake.fail_next("429", retry_after=180, path_contains=f"{throttled.remote_id}/insights")

    results = fb_insights.read(pub, [first, throttled, last], datetime.now(UTC))

    assert [r.status for r in results] == ["ok", "deferred", "deferred"]
    assert results[1].retry_after == 180.0 and "Page request limit reached" in results[1].detail
    assert results[1].values == {}
    assert len(api_calls(fake, throttled.remote_id)) == 2 and api_calls(fake, last.remote_id) == []


def test_facebook_server_error_fails_only_that_post(fb):
    fake, pub, make = fb
    broken, fine = make(2)
    fake.fail_next("500", path_contains=f"{broken.remote_id}/insights")

    results = fb_insights.read(pub, [broken, fine], datetime.now(UTC))

    assert [r.status for r in results] == ["failed", "ok"]
    assert "meta:2" in results[0].detail and results[0].values == {}
    assert results[1].values == fb_truth(fake, fine)


def test_facebook_token_travels_in_the_header_never_in_a_url(fb):
    fake, pub, make = fb
    posts = make(2)
    seen = spy_on_urls(pub)
    fb_insights.read(pub, posts, datetime.now(UTC))
    token = fb_fake.PAGE_TOKEN
    assert len(seen) == 4
    assert all(token not in url and token not in str(params) for url, params, _ in seen)
    assert all(headers["Authorization"] == f"Bearer {token}" for *_, headers in seen)
