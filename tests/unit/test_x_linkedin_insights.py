"""Insights readers of X and LinkedIn against their fakes (served over real HTTP): the figures
equal the fakes' engagement truth, refusals are reasons (never zeros), and the readers stop
asking when the platform says wait."""

from __future__ import annotations

import io
import time
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from PIL import Image

from socialomega.core import deadline
from socialomega.platforms.insights import PostInsights, PostRef
from socialomega.platforms.linkedin import insights as li_insights
from socialomega.platforms.linkedin import publisher as li_publisher
from socialomega.platforms.x import insights as x_insights
from socialomega.platforms.x import publisher as x_publisher
from socialomega.publishers.base import PublishRequest
from socialomega.sandbox import engagement
from socialomega.sandbox import linkedin as li_fake
from socialomega.sandbox import x as x_fake
from tests.unit.fakes import MemoryCredentials, MemoryProgress


def jpeg(shade: int = 0) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 150, shade % 256)).save(buf, "JPEG", quality=80)
    return buf.getvalue()


def frozen_clock() -> engagement.SandboxClock:
    """The fakes' engagement clock, still unless advanced: views depend on a post's age, so the
    truth asked after a read must be taken at the same instant."""
    start = time.time()
    return engagement.SandboxClock(base=lambda: start)


def at(fake: Any) -> datetime:
    return datetime.fromtimestamp(fake.clock(), UTC)


def publish(pub: Any, served_images: Any, platform: str, count: int, fake: Any) -> list[PostRef]:
    """`count` posts published through the publisher; their PostRefs as the puller builds them."""
    refs = []
    for i in range(count):
        key = f"processed/{platform}-{i}.jpg"
        served_images.add(key, jpeg(i))
        request = PublishRequest(
            f"a{i}",
            "v1",
            pub.settings.name,
            platform,
            f"corr-{i}",
            "bucket",
            key,
            None,
            64,
            48,
            "image/jpeg",
            {
                "title": f"Dune {i}",
                "description": f"Sand ridge number {i}",
                "keywords": ["dune"],
            },
        )
        result = pub.publish(request, served_images, MemoryProgress())
        assert result.outcome.ok, result.outcome
        refs.append(
            PostRef(
                pub.settings.name,
                platform,
                f"a{i}",
                result.remote_id,
                at(fake),
                result.remote_url,
            )
        )
    return refs


def truth(fake: Any, post_id: str, *metrics: str) -> dict[str, int]:
    [now] = fake.engagement(post_id)
    return {m: now[m] for m in metrics}


def record_urls(monkeypatch, session: Any) -> list[tuple[str, str, dict[str, str]]]:
    """Every request the publisher's session sends: (method, url, headers)."""
    sent: list[tuple[str, str, dict[str, str]]] = []
    send = session.request

    def request(method, url, **kwargs):
        sent.append((method, url, dict(kwargs.get("headers") or {})))
        return send(method, url, **kwargs)

    monkeypatch.setattr(session, "request", request)
    return sent


# --- X --------------------------------------------------------------------------------------------
X_METRICS = ("likes", "comments", "shares", "saves", "views", "clicks")


@pytest.fixture
def x(mount):
    fake = x_fake.XFake(clock=frozen_clock())
    url = mount(fake)
    creds = MemoryCredentials(x_fake.sandbox_secret())
    pub = x_publisher.build(x_fake.sandbox_target(url, "x-main"), creds, sleep=lambda s: None)
    return fake, url, creds, pub


def x_reads(fake: Any) -> list[int]:
    """The status of each GET /2/tweets (post lookup) so far."""
    return [r["status"] for r in fake.request_log() if (r["method"], r["path"]) == ("GET", "/2/tweets")]


def bulk_x_posts(fake: Any, url: str, count: int) -> list[PostRef]:
    """Posts made straight through the fake's POST /2/tweets (fast, for batches of 100)."""
    fake.set_daily_cap(count + 10)
    refs = []
    for i in range(count):
        response = requests.post(
            url + "/2/tweets",
            json={"text": f"bulk {i}"},
            headers={"Authorization": f"Bearer {x_fake.ACCESS_TOKEN}"},
        )
        assert response.status_code == 201
        refs.append(PostRef("x-main", "x", f"b{i}", response.json()["data"]["id"], at(fake)))
    return refs


def test_x_values_equal_the_truth_per_metric_in_one_request(x, served_images):
    fake, _url, creds, pub = x
    first, second = publish(pub, served_images, "x", 2, fake)
    fake.engage(first.remote_id, "like", 7)
    fake.engage(first.remote_id, "comment", 2)
    fake.engage(first.remote_id, "share", 3)  # the fake's truth: reposts, and no quotes
    fake.engage(first.remote_id, "save", 4)
    fake.engage(second.remote_id, "like", 1)
    fake.advance_clock(3600)
    results = x_insights.read(pub, [first, second], at(fake))

    assert [r.post for r in results] == [first, second]
    for result in results:
        assert result.status == "ok", result
        assert result.values == truth(fake, result.post.remote_id, *X_METRICS)
        assert result.missing == {"reach": "not offered by x"}
    assert results[0].values["shares"] == 3 and results[0].values["clicks"] > 0
    assert results[1].values["comments"] == 0  # read as zero: X said zero
    assert x_reads(fake) == [200] and creds.writes == []


def test_x_asks_for_100_posts_per_request(x):
    fake, url, _creds, pub = x
    refs = bulk_x_posts(fake, url, 101)
    fake.engage(refs[0].remote_id, "like", 2)
    fake.engage(refs[100].remote_id, "save", 5)
    results = x_insights.read(pub, refs, at(fake))

    assert x_reads(fake) == [200, 200]
    assert {r.status for r in results} == {"ok"}
    for i in (0, 57, 100):
        assert results[i].values == truth(fake, refs[i].remote_id, *X_METRICS)


def test_x_without_non_public_metrics_reads_the_public_ones_and_never_reports_zero(x, served_images):
    fake, _url, _creds, pub = x
    [own] = publish(pub, served_images, "x", 1, fake)
    foreign = PostRef("x-main", "x", "f1", fake.add_foreign_post("someone else's"), at(fake))
    fake.engage(foreign.remote_id, "like", 5)
    own_result, foreign_result = x_insights.read(pub, [own, foreign], at(fake))

    assert own_result.status == "ok"
    assert foreign_result.status == "partial"
    assert "clicks" not in foreign_result.values
    assert foreign_result.missing["clicks"].startswith("no permission: non_public_metrics")
    assert "clicks" in foreign_result.detail
    public = ("likes", "comments", "shares", "saves", "views")
    assert foreign_result.values == truth(fake, foreign.remote_id, *public) and foreign_result.values["likes"] == 5
    assert x_reads(fake) == [
        200,
        200,
    ]  # the batch, then the refused post again without non_public_metrics


def test_x_posts_older_than_30_days_are_asked_public_metrics_only(x, served_images):
    fake, _url, _creds, pub = x
    [post] = publish(pub, served_images, "x", 1, fake)
    fake.engage(post.remote_id, "comment", 3)
    fake.advance_clock(31 * 86400)
    [result] = x_insights.read(pub, [post], at(fake))

    assert result.status == "ok"  # X offers no clicks for such a post: nothing is owed
    assert result.missing == {
        "reach": "not offered by x",
        "clicks": x_insights.CLICKS_TOO_OLD,
    }
    assert result.values == truth(fake, post.remote_id, "likes", "comments", "shares", "saves", "views")
    assert x_reads(fake) == [200]


def test_x_refused_read_scope_is_no_permission_and_nothing_more_is_asked(x, served_images, monkeypatch):
    fake, _url, _creds, pub = x
    refs = publish(pub, served_images, "x", 2, fake)
    monkeypatch.setattr(x_insights, "MAX_IDS", 1)
    fake.revoke("tweet.read")
    results = x_insights.read(pub, refs, at(fake))

    assert [r.status for r in results] == ["no_permission", "no_permission"]
    assert all(r.values == {} and "tweet.read users.read" in r.detail for r in results)
    assert x_reads(fake) == [403]


def test_x_deleted_post_is_gone_and_the_others_are_read(x, served_images):
    fake, _url, _creds, pub = x
    kept, deleted = publish(pub, served_images, "x", 2, fake)
    fake.delete_post(deleted.remote_id)
    results = x_insights.read(pub, [kept, deleted], at(fake))
    assert [r.status for r in results] == ["ok", "gone"]
    assert results[1].values == {} and "no longer exists" in results[1].detail


def test_x_rate_limit_defers_the_batch_and_the_rest_without_asking_again(x, served_images, monkeypatch):
    fake, _url, _creds, pub = x
    refs = publish(pub, served_images, "x", 3, fake)
    monkeypatch.setattr(x_insights, "MAX_IDS", 1)
    fake.fail_next("429", path_contains="/2/tweets", retry_after=30, skip=1)
    results = x_insights.read(pub, refs, at(fake))

    assert [r.status for r in results] == ["ok", "deferred", "deferred"]
    assert all(25 <= (r.retry_after or 0) <= 31 and r.values == {} for r in results[1:])
    assert x_reads(fake) == [200, 429]


def test_x_a_used_up_window_defers_the_rest_before_a_429(x, served_images, monkeypatch):
    fake, _url, _creds, pub = x
    refs = publish(pub, served_images, "x", 2, fake)
    monkeypatch.setattr(x_insights, "MAX_IDS", 1)
    monkeypatch.setitem(x_fake.RATE_LIMITS, "lookup_posts", 1)  # the first answer says remaining 0
    results = x_insights.read(pub, refs, at(fake))

    assert [r.status for r in results] == ["ok", "deferred"]
    assert 800 < (results[1].retry_after or 0) <= 900  # the 15-minute window's reset
    assert x_reads(fake) == [200]


def test_x_a_server_error_fails_that_batch_and_the_next_is_read(x, served_images, monkeypatch):
    fake, _url, _creds, pub = x
    refs = publish(pub, served_images, "x", 3, fake)
    monkeypatch.setattr(x_insights, "MAX_IDS", 2)
    fake.fail_next("500", path_contains="/2/tweets")
    results = x_insights.read(pub, refs, at(fake))

    assert [r.status for r in results] == ["failed", "failed", "ok"]
    assert "internal-error" in results[0].detail and results[0].values == {}
    assert results[2].values == truth(fake, refs[2].remote_id, *X_METRICS)
    assert x_reads(fake) == [500, 200]


def test_x_token_refreshed_during_a_read_is_written_back_and_never_in_a_url(x, served_images, monkeypatch):
    fake, _url, creds, pub = x
    [post] = publish(pub, served_images, "x", 1, fake)
    fake.expire_token()
    sent = record_urls(monkeypatch, pub.session)
    [result] = x_insights.read(pub, [post], at(fake))

    assert result.status == "ok"
    [written] = creds.writes  # the rotated pair, saved as publish saves it
    assert written["access_token"] != x_fake.ACCESS_TOKEN and written["refresh_token"] != x_fake.REFRESH_TOKEN
    assert [(m, u.split("?")[0].rsplit("/", 2)[-2:]) for m, u, _ in sent] == [
        ("GET", ["2", "tweets"]),
        ("POST", ["oauth2", "token"]),
        ("GET", ["2", "tweets"]),
    ]
    secrets = (
        x_fake.ACCESS_TOKEN,
        x_fake.REFRESH_TOKEN,
        written["access_token"],
        written["refresh_token"],
    )
    assert not any(secret in url for _, url, _ in sent for secret in secrets)
    assert sent[-1][2]["Authorization"] == f"Bearer {written['access_token']}"


def test_x_deadline_defers_everything_without_a_request(x, served_images):
    fake, _url, _creds, pub = x
    refs = publish(pub, served_images, "x", 2, fake)
    with deadline.bound(deadline.Deadline.in_seconds(0.5, margin=0.0)):
        results = x_insights.read(pub, refs, at(fake))
    assert [r.status for r in results] == ["deferred", "deferred"]
    assert x_reads(fake) == []


# --- LinkedIn -------------------------------------------------------------------------------------
ORG_METRICS = ("likes", "comments", "shares", "views", "reach", "clicks")
MEMBER_METRICS = ("likes", "comments", "shares", "saves", "views", "reach")


@pytest.fixture
def linkedin(mount):
    fake = li_fake.LinkedInFake(clock=frozen_clock())
    return fake, mount(fake)


def li_pub(url: str, author: str = li_fake.MEMBER_URN) -> Any:
    target = {**li_fake.sandbox_target(url, "li-main"), "author": author}
    pub = li_publisher.build(target, MemoryCredentials(li_fake.sandbox_secret()))
    pub.sleep = lambda s: None
    return pub


def li_calls(fake: Any, resource: str) -> list[int]:
    """The status of each call to /rest/<resource> so far."""
    return [r["status"] for r in fake.request_log() if r["path"].startswith(f"/rest/{resource}")]


def engage_all(fake: Any, refs: list[PostRef]) -> None:
    for n, ref in enumerate(refs, start=1):
        fake.engage(ref.remote_id, "like", 3 * n)
        fake.engage(ref.remote_id, "comment", n)
        fake.engage(ref.remote_id, "share", 2)
        fake.engage(ref.remote_id, "save", n)
    fake.advance_clock(7200)


def test_linkedin_organization_posts_equal_the_truth_with_one_statistics_call(linkedin, served_images):
    fake, url = linkedin
    pub = li_pub(url, li_fake.ORG_URN)
    refs = publish(pub, served_images, "linkedin", 2, fake)
    engage_all(fake, refs)
    results = li_insights.read(pub, refs, at(fake))

    for result in results:
        assert result.status == "ok", result
        assert result.values == truth(fake, result.post.remote_id, *ORG_METRICS)
        assert result.missing == {"saves": "not offered for organization posts"}
    assert results[1].values["likes"] == 6 and results[1].values["clicks"] > 0
    assert li_calls(fake, "organizationalEntityShareStatistics") == [200]
    assert li_calls(fake, "socialActions") == [200, 200]


def test_linkedin_member_posts_equal_the_truth_from_the_post_analytics(linkedin, served_images):
    fake, url = linkedin
    pub = li_pub(url)
    refs = publish(pub, served_images, "linkedin", 2, fake)
    engage_all(fake, refs)
    results = li_insights.read(pub, refs, at(fake))

    for result in results:
        assert result.status == "ok", result
        assert result.values == truth(fake, result.post.remote_id, *MEMBER_METRICS)
        assert result.missing == {"clicks": "not offered for member posts"}
    assert li_calls(fake, "memberCreatorPostAnalytics") == [200] * 12  # one metric per call
    assert li_calls(fake, "socialActions") == []  # r_member_social is not needed (nor granted)


def test_linkedin_member_without_post_analytics_is_no_permission_never_zero(linkedin, served_images):
    fake, url = linkedin
    pub = li_pub(url)
    refs = publish(pub, served_images, "linkedin", 2, fake)
    engage_all(fake, refs)
    fake.revoke("r_member_postAnalytics")
    results = li_insights.read(pub, refs, at(fake))

    for result in results:
        assert result.status == "no_permission" and result.values == {}
        assert set(result.missing) == {
            "likes",
            "comments",
            "shares",
            "saves",
            "views",
            "reach",
            "clicks",
        }
        assert all(result.missing[m].startswith("no permission: r_member_postAnalytics") for m in MEMBER_METRICS)
        assert "r_member_postAnalytics" in result.detail
    # a refusal is the account's: each endpoint was asked once for both posts
    assert li_calls(fake, "memberCreatorPostAnalytics") == [403]
    assert li_calls(fake, "socialActions") == [403]

    fake.grant("r_member_social")  # the restricted scope still gives likes and comments
    results = li_insights.read(pub, refs, at(fake))
    for result in results:
        assert result.status == "partial"
        assert result.values == truth(fake, result.post.remote_id, "likes", "comments")
        assert result.missing["views"] == "no permission: r_member_postAnalytics"
        assert "views" in result.detail and "likes" not in result.missing


def test_linkedin_organization_without_admin_role_is_partial_then_no_permission(linkedin, served_images):
    fake, url = linkedin
    pub = li_pub(url, li_fake.ORG_URN)
    refs = publish(pub, served_images, "linkedin", 2, fake)
    engage_all(fake, refs)
    fake.revoke("rw_organization_admin")
    results = li_insights.read(pub, refs, at(fake))
    for result in results:
        assert result.status == "partial"
        assert result.values == truth(fake, result.post.remote_id, "likes", "comments")
        assert {result.missing[m] for m in ("shares", "views", "reach", "clicks")} == {li_insights.NO_ORG_ADMIN}

    fake.revoke("r_organization_social")
    results = li_insights.read(pub, refs, at(fake))
    assert [r.status for r in results] == ["no_permission", "no_permission"]
    assert all(r.values == {} and r.missing["likes"].startswith("no permission") for r in results)
    assert li_calls(fake, "socialActions")[-2:] == [
        200,
        403,
    ]  # the second read asked socialActions once


@pytest.mark.parametrize("author", [li_fake.ORG_URN, li_fake.MEMBER_URN])
def test_linkedin_deleted_post_is_gone_and_the_others_are_read(linkedin, served_images, author):
    fake, url = linkedin
    pub = li_pub(url, author)
    deleted, kept = publish(pub, served_images, "linkedin", 2, fake)
    fake.delete_post(deleted.remote_id)
    results = li_insights.read(pub, [deleted, kept], at(fake))
    assert [r.status for r in results] == ["gone", "ok"]
    assert results[0].values == {} and "no longer exists" in results[0].detail


def test_linkedin_rate_limit_defers_the_rest_without_asking_again(linkedin, served_images):
    fake, url = linkedin
    pub = li_pub(url)
    refs = publish(pub, served_images, "linkedin", 3, fake)
    fake.fail_next("429", path_contains="memberCreatorPostAnalytics", skip=6)  # the second post's first call
    results = li_insights.read(pub, refs, at(fake))

    assert [r.status for r in results] == ["ok", "deferred", "deferred"]
    assert results[1].values == {} and "429" in results[1].detail
    assert li_calls(fake, "memberCreatorPostAnalytics") == [200] * 6 + [429]


def test_linkedin_rate_limited_statistics_defer_every_post(linkedin, served_images):
    fake, url = linkedin
    pub = li_pub(url, li_fake.ORG_URN)
    refs = publish(pub, served_images, "linkedin", 2, fake)
    fake.fail_next("429", path_contains="organizationalEntityShareStatistics")
    results = li_insights.read(pub, refs, at(fake))
    assert [r.status for r in results] == ["deferred", "deferred"]
    assert li_calls(fake, "organizationalEntityShareStatistics") == [429] and li_calls(fake, "socialActions") == []


@pytest.mark.parametrize(
    ("author", "resource"),
    [
        (li_fake.MEMBER_URN, "memberCreatorPostAnalytics"),
        (li_fake.ORG_URN, "socialActions"),
        (li_fake.ORG_URN, "organizationalEntityShareStatistics"),
    ],
)
def test_linkedin_a_server_error_fails_that_post_and_the_next_is_read(
    linkedin, served_images, monkeypatch, author, resource
):
    fake, url = linkedin
    pub = li_pub(url, author)
    refs = publish(pub, served_images, "linkedin", 2, fake)
    engage_all(fake, refs)
    monkeypatch.setattr(li_insights, "STATS_BATCH", 1)  # one statistics call per post
    fake.fail_next("500", path_contains=resource)
    results = li_insights.read(pub, refs, at(fake))

    assert [r.status for r in results] == ["failed", "ok"]
    assert results[0].values == {} and "INTERNAL_SERVER_ERROR" in results[0].detail
    metrics = MEMBER_METRICS if author == li_fake.MEMBER_URN else ORG_METRICS
    assert results[1].values == truth(fake, refs[1].remote_id, *metrics)


def test_linkedin_sends_its_headers_and_never_the_token_in_a_url(linkedin, served_images, monkeypatch):
    fake, url = linkedin
    pub = li_pub(url, li_fake.ORG_URN)
    refs = publish(pub, served_images, "linkedin", 2, fake)
    sent = record_urls(monkeypatch, pub.session)
    results = li_insights.read(pub, refs, at(fake))

    assert [r.status for r in results] == ["ok", "ok"] and len(sent) == 3
    for _method, sent_url, headers in sent:
        assert li_fake.ACCESS_TOKEN not in sent_url
        assert headers["Authorization"] == f"Bearer {li_fake.ACCESS_TOKEN}"
        assert headers["Linkedin-Version"] == pub.settings.linkedin_version
        assert headers["X-Restli-Protocol-Version"] == "2.0.0"
    assert "urn%3Ali%3Aorganization%3A" in sent[0][1]  # URNs are encoded in queries too


def test_linkedin_deadline_defers_everything_without_a_request(linkedin, served_images):
    fake, url = linkedin
    pub = li_pub(url)
    refs = publish(pub, served_images, "linkedin", 2, fake)
    with deadline.bound(deadline.Deadline.in_seconds(0.5, margin=0.0)):
        results = li_insights.read(pub, refs, at(fake))
    assert [r.status for r in results] == ["deferred", "deferred"]
    assert li_calls(fake, "memberCreatorPostAnalytics") == []


def test_results_are_post_insights_in_the_order_asked(linkedin, served_images):
    fake, url = linkedin
    pub = li_pub(url)
    refs = publish(pub, served_images, "linkedin", 2, fake)
    results = li_insights.read(pub, list(reversed(refs)), at(fake))
    assert all(isinstance(r, PostInsights) for r in results)
    assert [r.post for r in results] == list(reversed(refs))
