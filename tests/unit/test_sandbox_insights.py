"""The social fakes' engagement ground truth (sandbox/engagement.py) and the insights endpoints
they serve from it: per platform, engage -> the documented shape holds the truth; a revoked
permission -> the documented error, never zeros; deprecated metrics -> the documented error; the
clock advances -> derived metrics grow; faults apply to the new paths. No test sleeps: the
fakes share a `SandboxClock` that the tests advance."""

from __future__ import annotations

import io
import math

import pytest
from PIL import Image
from werkzeug.test import Client
from werkzeug.wrappers import Request, Response

from socialomega.sandbox import engagement
from socialomega.sandbox import facebook as fb
from socialomega.sandbox import instagram as ig
from socialomega.sandbox import linkedin as li
from socialomega.sandbox import webhooks as sandbox_webhooks
from socialomega.sandbox import x as xf
from socialomega.sandbox.server import Sandbox, serve
from socialomega.webhooks.signatures import WebhookKeys, verify_signature

V = "v25.0"


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (90, 120, 150)).save(buf, "JPEG")
    return buf.getvalue()


# --- the truth itself ---------------------------------------------------------------------------
def test_derived_metrics_are_pure_functions_of_the_counters_and_the_clock():
    counts = {"likes": 3, "comments": 1, "shares": 0, "saves": 0}
    assert engagement.derived(counts, 1000.0, 1000.0) == {"views": 100, "reach": 70, "clicks": 2}
    later = engagement.derived(counts, 1000.0, 1000.0 + 100 * 60)  # 100 minutes: + floor(40 * 10)
    assert later == {"views": 500, "reach": 350, "clicks": 10}
    assert engagement.derived(counts, 1000.0, 900.0)["views"] == 100  # before publishing: no time term


def test_the_truth_counts_logs_and_refuses_bad_engagement():
    clock = engagement.SandboxClock(base=lambda: 5000.0)
    truth = engagement.EngagementTruth(clock)
    truth.track("p1", aliases=("photo1",))
    truth.engage("p1", "like", 2)
    clock.advance(60)
    truth.engage("photo1", "like", 1, remove=True)  # by its alias
    post = truth.find("p1")
    assert post is not None and post.counts["likes"] == 1
    assert post.log == [(5000.0, "like", 2), (5060.0, "like", -1)]
    assert post.counts_at(5059.0)["likes"] == 2  # the log replays the past
    with pytest.raises(engagement.EngagementError) as below_zero:
        truth.engage("p1", "comment", 1, remove=True)
    assert below_zero.value.status == 400
    with pytest.raises(engagement.EngagementError) as unknown:
        truth.engage("nope", "like")
    assert unknown.value.status == 404
    with pytest.raises(engagement.EngagementError):
        truth.engage("p1", "retweet")
    truth.delete("p1")
    with pytest.raises(engagement.EngagementError) as gone:
        truth.engage("p1", "like")
    assert gone.value.status == 409
    with pytest.raises(ValueError):
        clock.advance(-1)  # the clock never goes back


def test_control_api_engages_reads_the_truth_advances_the_clock_and_sets_permissions():
    fake = ig.InstagramFake()
    client = Client(fake)
    media_id = fake.add_media("a post")
    answer = client.post("/_sandbox/engage", json={"post_id": media_id, "kind": "save", "count": 2})
    assert answer.status_code == 200 and answer.json["post"]["saves"] == 2 and answer.json["notified"] == []
    assert client.post("/_sandbox/engage", json={"post_id": "nope", "kind": "like"}).status_code == 404
    assert client.post("/_sandbox/engage", json={"post_id": media_id, "kind": "like", "count": 0}).status_code == 400
    before = client.get("/_sandbox/engagement?log=1").json["posts"][0]
    assert before["log"] and before["saves"] == 2
    clock = client.post("/_sandbox/clock", json={"advance": 7200})
    assert clock.json["offset"] == 7200.0
    after = client.get(f"/_sandbox/engagement?post_id={media_id}").json["posts"][0]
    assert after["views"] > before["views"] and after["saves"] == 2
    assert client.post("/_sandbox/clock", json={"advance": -5}).status_code == 400
    granted = client.post("/_sandbox/permissions", json={"revoke": ["instagram_manage_insights"]}).json["granted"]
    assert "instagram_manage_insights" not in granted
    assert client.post("/_sandbox/delete-post", json={"post_id": media_id}).json == {"deleted": media_id}
    assert client.get(f"/_sandbox/engagement?post_id={media_id}").json["posts"][0]["deleted"] is True


# --- Instagram --------------------------------------------------------------------------------------
@pytest.fixture
def instagram():
    fake = ig.InstagramFake()
    return fake, Client(fake), fake.add_media("golden hour")


def _ig_get(client: Client, path: str) -> tuple[int, dict]:
    response = client.get(f"/{V}/{path}", headers={"Authorization": f"Bearer {ig.ACCESS_TOKEN}"})
    return response.status_code, response.json


def test_instagram_media_fields_and_insights_answer_the_truth(instagram):
    fake, client, media_id = instagram
    fake.engage(media_id, "like", 7)
    fake.engage(media_id, "comment", 2)
    fake.engage(media_id, "save", 3)
    fake.engage(media_id, "share", 1)
    fake.engage(media_id, "like", 1, remove=True)
    status, node = _ig_get(client, f"{media_id}?fields=like_count,comments_count,media_product_type")
    assert status == 200 and node == {
        "id": media_id,
        "like_count": 6,
        "comments_count": 2,
        "media_product_type": "FEED",
    }
    status, body = _ig_get(client, f"{media_id}/insights?metric=views,reach,saved,shares")
    truth = fake.engagement(media_id)[0]
    assert status == 200
    assert [(d["name"], d["period"], d["values"]) for d in body["data"]] == [
        ("views", "lifetime", [{"value": truth["views"]}]),
        ("reach", "lifetime", [{"value": truth["reach"]}]),
        ("saved", "lifetime", [{"value": 3}]),
        ("shares", "lifetime", [{"value": 1}]),
    ]
    assert body["data"][0]["id"] == f"{media_id}/insights/views/lifetime" and body["data"][0]["title"]
    assert truth["views"] == 25 * (6 + 2 + 3 + 1)  # no time has passed on the fake's clock


def test_instagram_without_the_insights_permission_errors_but_keeps_the_field_counts(instagram):
    fake, client, media_id = instagram
    fake.engage(media_id, "like", 4)
    fake.revoke("instagram_manage_insights")
    status, body = _ig_get(client, f"{media_id}/insights?metric=views,reach")
    assert status == 400 and body["error"]["code"] == 10 and "data" not in body
    assert body["error"]["message"] == "(#10) Application does not have permission for this action"
    assert _ig_get(client, f"{media_id}?fields=like_count")[1]["like_count"] == 4
    fake.grant("instagram_manage_insights")
    assert _ig_get(client, f"{media_id}/insights?metric=views")[0] == 200


@pytest.mark.parametrize("metric", ["impressions", "plays", "clips_replays_count"])
def test_instagram_metrics_deprecated_in_v22_answer_the_documented_error(instagram, metric):
    _fake, client, media_id = instagram
    status, body = _ig_get(client, f"{media_id}/insights?metric=reach,{metric}")
    assert status == 400 and body["error"]["code"] == 100
    assert f"the {metric} metric is no longer supported" in body["error"]["message"]


def test_instagram_other_metric_errors_unknown_media_and_the_insights_delay(instagram):
    fake, client, media_id = instagram
    status, body = _ig_get(client, f"{media_id}/insights?metric=video_views")
    assert status == 400 and body["error"]["message"].startswith("(#100) metric[0] must be one of")
    status, body = _ig_get(client, f"{media_id}/insights?metric=ig_reels_avg_watch_time")
    assert "does not support the ig_reels_avg_watch_time metric for this media product type" in body["error"]["message"]
    fake.insights_delay_seconds = 3600.0
    assert _ig_get(client, f"{media_id}/insights?metric=views") == (200, {"data": []})  # not yet measured
    fake.engage(media_id, "like", 2)
    fake.advance_clock(3600)
    assert _ig_get(client, f"{media_id}/insights?metric=likes")[1]["data"][0]["values"] == [{"value": 2}]
    fake.delete_post(media_id)
    status, body = _ig_get(client, f"{media_id}/insights?metric=views")
    assert status == 400 and (body["error"]["code"], body["error"]["error_subcode"]) == (100, 33)
    assert _ig_get(client, f"{media_id}?fields=like_count")[0] == 400


def test_instagram_views_grow_with_the_clock_and_faults_apply_to_insights(instagram):
    fake, client, media_id = instagram
    fake.engage(media_id, "like", 1)
    first = _ig_get(client, f"{media_id}/insights?metric=views,reach")[1]["data"]
    fake.advance_clock(6 * 3600)
    later = _ig_get(client, f"{media_id}/insights?metric=views,reach")[1]["data"]
    assert later[0]["values"][0]["value"] == 25 + math.floor(40 * math.sqrt(360)) > first[0]["values"][0]["value"]
    assert later[1]["values"][0]["value"] > first[1]["values"][0]["value"]
    fake.fail_next("429", path_contains="/insights")
    status, body = _ig_get(client, f"{media_id}?fields=like_count")
    assert status == 200  # the fault waits for its path
    status, body = _ig_get(client, f"{media_id}/insights?metric=views")
    assert status == 403 and body["error"]["code"] == 4
    assert _ig_get(client, f"{media_id}/insights?metric=views")[0] == 200


# --- Facebook ---------------------------------------------------------------------------------------
@pytest.fixture
def facebook():
    fake = fb.FacebookPageFake()
    client = Client(fake)
    created = client.post(
        f"/{V}/{fb.PAGE_ID}/photos",
        data={"source": (io.BytesIO(_jpeg()), "p.jpg"), "caption": "dunes", "access_token": fb.PAGE_TOKEN},
    ).json
    return fake, client, created["post_id"], created["id"]


def _fb_get(client: Client, path: str, token: str = fb.PAGE_TOKEN) -> tuple[int, dict]:
    response = client.get(f"/{V}/{path}", headers={"Authorization": f"Bearer {token}"})
    return response.status_code, response.json


COUNTS = "reactions.summary(total_count).limit(0),comments.filter(stream).summary(total_count).limit(0),shares"


def test_facebook_post_counts_answer_the_truth_and_shares_are_absent_at_zero(facebook):
    fake, client, post_id, photo_id = facebook
    fake.engage(post_id, "like", 5)
    fake.engage(photo_id, "comment", 2)  # the photo id is the same post
    status, body = _fb_get(client, f"{post_id}?fields={COUNTS}")
    assert status == 200 and "shares" not in body
    assert body["reactions"] == {"data": [], "summary": {"total_count": 5, "viewer_reaction": "NONE"}}
    assert body["comments"]["data"] == [] and body["comments"]["summary"]["total_count"] == 2
    fake.engage(post_id, "share", 3)
    status, many = _fb_get(client, f"?ids={post_id}&fields={COUNTS}")
    assert status == 200 and many[post_id]["shares"] == {"count": 3}
    status, body = _fb_get(client, f"{photo_id}?fields=shares")
    assert status == 400 and "node type (Photo)" in body["error"]["message"]
    assert _fb_get(client, f"?ids={post_id},123&fields=shares")[1]["error"]["code"] == 803


def test_facebook_post_insights_answer_the_truth_and_refuse_deprecated_metrics(facebook):
    fake, client, post_id, _photo_id = facebook
    fake.engage(post_id, "like", 4)
    metrics = "post_media_view,post_total_media_view_unique,post_clicks,post_reactions_by_type_total"
    status, body = _fb_get(client, f"{post_id}/insights?metric={metrics}")
    truth = fake.engagement(post_id)[0]
    assert status == 200
    assert {d["name"]: d["values"][0]["value"] for d in body["data"]} == {
        "post_media_view": truth["views"],
        "post_total_media_view_unique": truth["reach"],
        "post_clicks": truth["clicks"],
        "post_reactions_by_type_total": {"like": 4},
    }
    for deprecated in ("post_impressions", "post_impressions_unique", "post_engaged_users"):
        status, body = _fb_get(client, f"{post_id}/insights?metric={deprecated}")
        assert status == 400 and body["error"]["message"] == "(#100) The value must be a valid insights metric"
    fake.page_likes = 99
    assert _fb_get(client, f"{post_id}/insights?metric=post_clicks") == (200, {"data": []})


def test_facebook_permissions_revoked_answer_errors_never_zeros(facebook):
    fake, client, post_id, _photo_id = facebook
    fake.revoke("read_insights")
    status, body = _fb_get(client, f"{post_id}/insights?metric=post_media_view")
    assert status == 403 and body["error"]["code"] == 200
    fake.revoke("pages_read_engagement")
    status, body = _fb_get(client, f"{post_id}?fields={COUNTS}")
    assert status == 400 and body["error"]["code"] == 10 and "reactions" not in body
    status, body = _fb_get(client, f"{post_id}?fields={COUNTS}", token=fb.OTHER_PAGE_TOKEN)
    assert (status, body["error"]["code"]) == (403, 200) and "reactions" not in body  # another Page's token


def test_facebook_views_grow_with_the_clock_and_faults_apply(facebook):
    fake, client, post_id, _photo_id = facebook
    first = _fb_get(client, f"{post_id}/insights?metric=post_media_view")[1]["data"][0]["values"][0]["value"]
    fake.advance_clock(3600)
    later = _fb_get(client, f"{post_id}/insights?metric=post_media_view")[1]["data"][0]["values"][0]["value"]
    assert later == math.floor(40 * math.sqrt(60)) > first
    fake.fail_next("500", path_contains="/insights")
    status, body = _fb_get(client, f"{post_id}/insights?metric=post_media_view")
    assert status == 500 and body["error"]["is_transient"] is True
    fake.delete_post(post_id)
    status, body = _fb_get(client, f"{post_id}?fields=shares")
    assert status == 400 and body["error"]["error_subcode"] == 33


# --- X ------------------------------------------------------------------------------------------------
@pytest.fixture
def x():
    fake = xf.XFake()
    client = Client(fake)
    created = client.post("/2/tweets", json={"text": "fog"}, headers={"Authorization": f"Bearer {xf.ACCESS_TOKEN}"})
    return fake, client, created.json["data"]["id"]


def _x_lookup(client: Client, ids: str, fields: str, token: str = xf.ACCESS_TOKEN):
    return client.get(f"/2/tweets?ids={ids}&tweet.fields={fields}", headers={"Authorization": f"Bearer {token}"})


def test_x_lookup_answers_public_and_non_public_metrics_from_the_truth(x):
    fake, client, post_id = x
    fake.engage(post_id, "like", 9)
    fake.engage(post_id, "comment", 2)
    fake.engage(post_id, "share", 3)
    fake.engage(post_id, "save", 1)
    response = _x_lookup(client, post_id, "public_metrics,non_public_metrics,organic_metrics,created_at")
    truth = fake.engagement(post_id)[0]
    post = response.json["data"][0]
    assert response.status_code == 200 and "errors" not in response.json
    assert post["public_metrics"] == {
        "retweet_count": 3,
        "repost_count": 3,
        "reply_count": 2,
        "like_count": 9,
        "quote_count": 0,
        "bookmark_count": 1,
        "impression_count": truth["views"],
    }
    clicks = post["non_public_metrics"]["url_link_clicks"] + post["non_public_metrics"]["user_profile_clicks"]
    assert clicks == truth["clicks"] and post["organic_metrics"]["impression_count"] == truth["views"]
    assert int(response.headers["x-rate-limit-remaining"]) == int(response.headers["x-rate-limit-limit"]) - 1


def test_x_non_public_metrics_only_for_own_posts_under_30_days_and_deleted_ids_are_not_found(x):
    fake, client, post_id = x
    foreign = fake.add_foreign_post("someone else's")
    body = _x_lookup(client, f"{post_id},{foreign}", "public_metrics,non_public_metrics").json
    assert [p["id"] for p in body["data"]] == [post_id]
    assert [(e["resource_id"], e["field"], e["type"].rsplit("/", 1)[1]) for e in body["errors"]] == [
        (foreign, "non_public_metrics", "not-authorized-for-field")
    ]
    assert [p["id"] for p in _x_lookup(client, f"{post_id},{foreign}", "public_metrics").json["data"]] == [
        post_id,
        foreign,
    ]
    fake.advance_clock(30 * 86400 + 1)
    old = _x_lookup(client, post_id, "organic_metrics").json
    assert "data" not in old and old["errors"][0]["title"] == "Field Authorization Error"
    fake.delete_post(post_id)
    gone = _x_lookup(client, post_id, "public_metrics").json
    assert gone["errors"][0]["type"].endswith("/resource-not-found") and "data" not in gone


def test_x_revoked_read_scope_is_forbidden_and_faults_apply(x):
    fake, client, post_id = x
    fake.fail_next("429", path_contains="/2/tweets", retry_after=30)
    throttled = _x_lookup(client, post_id, "public_metrics")
    assert throttled.status_code == 429 and throttled.headers["x-rate-limit-remaining"] == "0"
    assert _x_lookup(client, post_id, "public_metrics").status_code == 200
    assert _x_lookup(client, post_id, "not_a_field").json["type"].endswith("/invalid-request")
    fake.revoke("tweet.read")
    assert _x_lookup(client, post_id, "public_metrics").status_code == 403


def test_x_impressions_grow_with_the_clock(x):
    fake, client, post_id = x
    first = _x_lookup(client, post_id, "public_metrics").json["data"][0]["public_metrics"]["impression_count"]
    fake.advance_clock(86400)
    later = _x_lookup(client, post_id, "public_metrics").json["data"][0]["public_metrics"]["impression_count"]
    assert later == math.floor(40 * math.sqrt(1440)) > first


# --- LinkedIn -----------------------------------------------------------------------------------------
def _li_headers() -> dict[str, str]:
    return {
        "Authorization": f"Bearer {li.ACCESS_TOKEN}",
        "Linkedin-Version": li.sandbox_version(),
        "X-Restli-Protocol-Version": "2.0.0",
    }


def _li_post(client: Client, author: str) -> str:
    headers = _li_headers()
    body = {
        "author": author,
        "commentary": "pier",
        "visibility": "PUBLIC",
        "distribution": {"feedDistribution": "MAIN_FEED"},
        "lifecycleState": "PUBLISHED",
    }
    response = client.post("/rest/posts", json=body, headers=headers)
    assert response.status_code == 201
    return response.headers["x-restli-id"]


@pytest.fixture
def linkedin():
    fake = li.LinkedInFake()
    client = Client(fake)
    return fake, client, _li_post(client, li.ORG_URN), _li_post(client, li.MEMBER_URN)


def _li_get(client: Client, path: str):
    return client.get(path, headers=_li_headers())


def test_linkedin_org_posts_social_actions_metadata_and_share_statistics_answer_the_truth(linkedin):
    fake, client, org_post, _member_post = linkedin
    fake.engage(org_post, "like", 6)
    fake.engage(org_post, "comment", 2)
    fake.engage(org_post, "share", 1)
    actions = _li_get(client, f"/rest/socialActions/{org_post.replace(':', '%3A')}").json
    assert actions["likesSummary"]["totalLikes"] == 6 and actions["commentsSummary"]["aggregatedTotalComments"] == 2
    metadata = _li_get(client, f"/rest/socialMetadata/{org_post}").json
    assert metadata["reactionSummaries"]["LIKE"]["count"] == 6 and metadata["commentSummary"]["count"] == 2
    stats = _li_get(
        client,
        f"/rest/organizationalEntityShareStatistics?q=organizationalEntity&organizationalEntity={li.ORG_URN}"
        f"&shares=List({org_post})",
    )
    truth = fake.engagement(org_post)[0]
    element = stats.json["elements"][0]
    assert stats.status_code == 200 and element["share"] == org_post
    totals = element["totalShareStatistics"]
    assert (totals["impressionCount"], totals["uniqueImpressionsCount"], totals["clickCount"]) == (
        truth["views"],
        truth["reach"],
        truth["clicks"],
    )
    assert (totals["likeCount"], totals["commentCount"], totals["shareCount"]) == (6, 2, 1)
    wrong_list = _li_get(
        client,
        f"/rest/organizationalEntityShareStatistics?q=organizationalEntity&organizationalEntity={li.ORG_URN}"
        f"&ugcPosts=List({org_post})",
    )
    assert wrong_list.status_code == 403 and "Unpermitted fields present in PARAMETER" in wrong_list.json["message"]


def test_linkedin_member_posts_need_their_own_scopes(linkedin):
    fake, client, _org_post, member_post = linkedin
    fake.engage(member_post, "like", 3)
    denied = _li_get(client, f"/rest/socialActions/{member_post}")  # r_member_social is restricted
    assert denied.status_code == 403 and denied.json["code"] == "ACCESS_DENIED" and "likesSummary" not in denied.json
    path = f"/rest/memberCreatorPostAnalytics?q=entity&entity=(share:{member_post})&aggregation=TOTAL&queryType="
    reactions = _li_get(client, path + "REACTION").json["elements"][0]
    assert reactions["count"] == 3 and list(reactions["metricType"].values()) == ["REACTION"]
    assert _li_get(client, path + "IMPRESSION").json["elements"][0]["count"] == fake.engagement(member_post)[0]["views"]
    fake.revoke("r_member_postAnalytics")
    revoked = _li_get(client, path + "REACTION")
    assert revoked.status_code == 403 and revoked.json["serviceErrorCode"] == 100
    fake.grant("r_member_social")
    assert _li_get(client, f"/rest/socialActions/{member_post}").json["likesSummary"]["totalLikes"] == 3


def test_linkedin_statistics_grow_with_the_clock_faults_apply_and_deleted_posts_are_not_found(linkedin):
    fake, client, org_post, _member_post = linkedin
    stats = (
        "/rest/organizationalEntityShareStatistics?q=organizationalEntity"
        f"&organizationalEntity={li.ORG_URN}&shares=List({org_post})"
    )

    def impressions() -> int:
        value: int = _li_get(client, stats).json["elements"][0]["totalShareStatistics"]["impressionCount"]
        return value

    first = impressions()
    fake.advance_clock(4 * 3600)
    assert impressions() == math.floor(40 * math.sqrt(240)) > first
    fake.fail_next("429", path_contains="organizationalEntityShareStatistics")
    throttled = _li_get(client, stats)
    assert throttled.status_code == 429 and throttled.json["code"] == "TOO_MANY_REQUESTS"
    fake.revoke("rw_organization_admin")
    assert _li_get(client, stats).status_code == 403
    fake.delete_post(org_post)
    assert _li_get(client, f"/rest/socialActions/{org_post}").status_code == 404


# --- the Sandbox: one clock for the four fakes, helpers by platform ---------------------------------
def test_the_sandbox_shares_one_clock_and_exposes_the_truth_by_platform():
    box = Sandbox(photo_count=0)
    assert all(fake.clock is box.clock for fake in box.social.values())
    media_id = box.social["instagram"].add_media("x")  # type: ignore[attr-defined]
    assert box.engage("instagram", media_id, "like", 2)["likes"] == 2
    before = box.engagement("instagram", media_id)[0]["views"]
    box.advance_clock(3600)
    assert box.engagement("instagram", media_id)[0]["views"] > before
    assert "instagram_manage_insights" not in box.revoke("instagram", "instagram_manage_insights")
    box.delete_post("instagram", media_id)
    assert box.engagement("instagram", media_id)[0]["deleted"] is True


# --- the optional "also notify" path: signed webhooks, only for what the platform notifies -------------
class _Recorder:
    """A WSGI endpoint that keeps what it receives (path, lower-cased headers, raw body)."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, str], bytes]] = []

    def __call__(self, environ, start_response):
        request = Request(environ)
        self.received.append((request.path, {k.lower(): v for k, v in request.headers.items()}, request.get_data()))
        return Response("ok")(environ, start_response)


def test_engage_also_delivers_signed_webhooks_for_the_notified_kinds_only():
    recorder = _Recorder()
    keys = WebhookKeys(**sandbox_webhooks.sandbox_secret())
    with serve(recorder) as url:
        fake = ig.InstagramFake()
        client = Client(fake)
        media_id = fake.add_media("notify me")
        assert client.post("/_sandbox/webhook-url", json={"url": url}).json == {"webhook_url": url}
        liked = client.post("/_sandbox/engage", json={"post_id": media_id, "kind": "like"}).json
        commented = client.post("/_sandbox/engage", json={"post_id": media_id, "kind": "comment", "count": 2}).json
        assert liked["notified"] == [] and commented["notified"] == [200, 200]  # Instagram sends no likes
        assert [path for path, _, _ in recorder.received] == ["/webhooks/instagram"] * 2
        for _path, headers, body in recorder.received:
            verify_signature("instagram", headers, body, keys)  # raises unless genuine
            assert media_id.encode() in body

        linkedin_fake = li.LinkedInFake()
        li_client = Client(linkedin_fake)
        org_post, member_post = _li_post(li_client, li.ORG_URN), _li_post(li_client, li.MEMBER_URN)
        linkedin_fake.set_webhook_url(url)
        member = li_client.post("/_sandbox/engage", json={"post_id": member_post, "kind": "like"}).json
        org = li_client.post("/_sandbox/engage", json={"post_id": org_post, "kind": "like"}).json
        assert member["notified"] == [] and org["notified"] == [200]  # organization notifications only
    assert fake.engagement(media_id)[0]["comments"] == 2
