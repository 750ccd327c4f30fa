"""Facebook Page insights: the platform's own lifetime numbers for each of our Page posts.

Calls (graph.facebook.com, the publisher's pinned `graph_version`, its `api` client: the Page
token travels as `Authorization: Bearer`, never in a URL):
  1. `GET /{v}/{page-post-id}?fields=reactions.summary(total_count).limit(0),
     comments.filter(stream).summary(total_count).limit(0),shares`
     -> `{"reactions": {"summary": {"total_count"}}, "comments": {"summary": {"total_count"}},
     "shares": {"count"}}` (edges: developers.facebook.com/docs/graph-api/reference/object/
     reactions and .../object/comments; `filter(stream)` counts replies too: "Comments returned
     in a query are based on default filtering. To get all comments ... set the filter
     parameter to stream"; the answer's shape is third-party, UNCONFIRMED). `shares` is left
     out of the answer at 0 (third-party reports, UNCONFIRMED): read as 0. Needs
     `pages_read_engagement`, else code 10 -> `no_permission` (nothing else is asked).
  2. `GET /{v}/{page-post-id}/insights?metric=post_media_view,post_total_media_view_unique,post_clicks`
     -> `{"data": [{"name", "period": "lifetime", "values": [{"value"}], ...}]}`
     (developers.facebook.com/blog/post/2023/04/12/introducing-new-metric-to-the-page-insights-api).
     `post_media_view` and `post_total_media_view_unique` replace `post_impressions*`
     (deprecated-metrics page, developers.facebook.com/documentation/pages-api/platforminsights/
     page/deprecated-metrics; valid on v25.0 by a third party's test, UNCONFIRMED first-party).
     Needs `read_insights` with `pages_read_engagement` (third-party scope list, UNCONFIRMED);
     refused (403 code 200) -> these three `missing` "no permission: read_insights", `partial`.
     A metric Graph refuses ("(#100) The value must be a valid insights metric") is asked
     alone and reported "not offered for this post: ..."; an empty `data` (a Page under 100
     likes; "most metrics will update once every 24 hours", Page Insights reference) ->
     "not reported by facebook", never 0.

Mapping to METRICS: likes <- reactions total (every reaction type, as the Page's webhooks
count them: platforms/facebook/webhook.py), comments <- comments total, shares <- shares.count,
views <- post_media_view, reach <- post_total_media_view_unique, clicks <- post_clicks;
saves: not offered by facebook.

The post id: the publisher records Graph's `post_id` (`{page-id}_{post-id}`) as remote id,
which both calls need (the photo node has no `shares` and no post insights). A remote id that is
a photo id (no `_`: an answer without `post_id`, or find_post's fallback) is first resolved with
`GET /{v}/{photo-id}?fields=page_story_id` (the Photo node's field; the publisher's find_post
reads the same field from the photos edge).

Errors as instagram/insights.py: code 100 subcode 33 -> `gone`; a throttle (code 32 "Page
request limit reached", 4, 17, 613, 800xx) or the deadline -> this post and the rest `deferred`
without another call; a refused token -> `failed` for all; any other error -> `failed`, and the
next post is read.

Which source wins against webhooks: these pulled totals. The Page `feed` webhooks notify
reactions and comments (add/remove) as they happen, but a missed or late notification is never
corrected, while these are Facebook's own lifetime totals; webhooks stay the timeline between
two reads. Shares are in Meta's webhook item list but in no captured payload (UNCONFIRMED),
so only the pull counts them reliably.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from socialomega.core.http import ApiClient
from socialomega.platforms.facebook.publisher import FacebookPublisher
from socialomega.platforms.insights import METRICS, PostInsights, PostRef
from socialomega.platforms.meta.insights import (
    GraphRefused,
    count,
    graph_get,
    insights_edge,
    read_each,
    settle,
)
from socialomega.publishers.platform import unsafe_destination

PLATFORM = "facebook"
COUNT_FIELDS = "reactions.summary(total_count).limit(0),comments.filter(stream).summary(total_count).limit(0),shares"
# Graph's post metric -> METRICS.
INSIGHTS: dict[str, str] = {
    "post_media_view": "views",
    "post_total_media_view_unique": "reach",
    "post_clicks": "clicks",
}
NOT_OFFERED: dict[str, str] = {"saves": "not offered by facebook"}
ENGAGEMENT_SCOPE = "pages_read_engagement"
INSIGHTS_SCOPE = "read_insights"
INSIGHTS_LAG = timedelta(hours=24)  # "Most metrics will update once every 24 hours."


def read(publisher: FacebookPublisher, posts: Sequence[PostRef], now: datetime) -> list[PostInsights]:
    """One result per post, in order (platforms/insights.py)."""
    s = publisher.settings
    base = f"{s.api_base_url}/{s.graph_version}/"
    unsafe = unsafe_destination(base, s.egress_policy)
    return read_each(PLATFORM, posts, lambda post: _read_post(publisher.api, base, post, now), unsafe=unsafe)


def _read_post(api: ApiClient, base: str, post: PostRef, now: datetime) -> PostInsights:
    try:
        post_id = _page_post_id(api, base, post.remote_id)
        if post_id is None:
            return PostInsights(post, "failed", detail=f"photo {post.remote_id} has no Page post (page_story_id)")
        node = graph_get(api, base + post_id, {"fields": COUNT_FIELDS}, PLATFORM)
    except GraphRefused as refused:
        if refused.permission:
            reason = f"no permission: {ENGAGEMENT_SCOPE}"
            missing = {m: NOT_OFFERED.get(m, reason) for m in METRICS}
            return PostInsights(post, "no_permission", missing=missing, detail=f"{reason} ({refused})")
        return refused.result(post)
    values = _counts(node)
    missing = dict(NOT_OFFERED)
    missing.update({m: "not reported by facebook" for m in ("likes", "comments", "shares") if m not in values})
    try:
        found, why = insights_edge(
            api, f"{base}{post_id}/insights", INSIGHTS, INSIGHTS_SCOPE, PLATFORM, post, now, INSIGHTS_LAG
        )
    except GraphRefused as refused:
        return refused.result(post)
    return settle(post, {**values, **found}, {**missing, **why})


def _page_post_id(api: ApiClient, base: str, remote_id: str) -> str | None:
    """The `{page-id}_{post-id}` both calls need; a photo id is resolved to its page story."""
    if "_" in remote_id:
        return remote_id
    story = graph_get(api, base + remote_id, {"fields": "page_story_id"}, PLATFORM).get("page_story_id")
    return str(story) if story else None


def _counts(node: Mapping[str, Any]) -> dict[str, int]:
    values: dict[str, int] = {}
    for edge, metric in (("reactions", "likes"), ("comments", "comments")):
        summary = _object(_object(node.get(edge)).get("summary"))
        total = count(summary.get("total_count"))
        if total is not None:
            values[metric] = total
    shares = node.get("shares")
    total = 0 if shares is None else count(_object(shares).get("count"))  # absent at 0 (UNCONFIRMED)
    if total is not None:
        values["shares"] = total
    return values


def _object(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}
