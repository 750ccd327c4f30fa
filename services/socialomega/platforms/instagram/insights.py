"""Instagram insights: the platform's own lifetime numbers for each of our media.

Calls (Instagram API with Facebook Login: graph.facebook.com, the publisher's pinned
`graph_version`, its `api` client, so the token travels as `Authorization: Bearer`, never in a URL):
  1. `GET /{v}/{ig-media-id}/insights?metric=views,reach,saved,shares,likes,comments`
     -> `{"data": [{"name", "period": "lifetime", "values": [{"value": n}], ...}]}`
     (developers.facebook.com/docs/instagram-platform/reference/instagram-media/insights;
     metric names: Meta's SDK v25 `InstagramInsightsResult.Metric`). Needs
     `instagram_manage_insights` (with `instagram_basic` and `pages_read_engagement`; Instagram
     Insights guide, developers.facebook.com/documentation/instagram-platform/insights).
     `impressions`, `plays`, `video_views` and the other deprecated metrics are never asked
     (deprecated for all versions since 21 Apr 2025: they answer code 100).
  2. Only when step 1 left `likes` or `comments` out (no permission, data not there yet):
     `GET /{v}/{ig-media-id}?fields=like_count,comments_count`, the live counts of the IG Media
     node, which need only `instagram_basic` (Meta's SDK `igmedia.py` fields; that these two
     need nothing more is UNCONFIRMED against Meta's text).

Mapping to METRICS: views <- views, reach <- reach, saves <- saved, shares <- shares,
likes <- likes (else like_count), comments <- comments (else comments_count); clicks: not
offered by instagram (no per-media click metric for a FEED image; the SDK's `link_clicks` is
not documented for FEED, UNCONFIRMED).

Answers, per media:
  * insights refused for permission (code 10 "(#10) Application does not have permission for
    this action", or 200-299; Graph's error-handling guide) -> likes and comments from step 2,
    the others `missing` "no permission: instagram_manage_insights", status `partial`; if step
    2 is refused for permission too, `no_permission` (any other error there: `failed`).
  * a metric Graph refuses as invalid (code 100, e.g. `shares` on IMAGE media on some accounts,
    exileum/meta-mcp#174) -> each metric is asked alone and the refused one is
    "not offered for this post: <Graph's message>".
  * a metric left out of `data` -> "not reported by instagram" ("returns an empty data set
    instead of 0"; "can be delayed up to 48 hours", Meta's media-insights page), never 0.
  * deleted or unknown media (code 100 subcode 33) -> `gone`. Graph's message also says
    "cannot be loaded due to missing permissions": that a token that lost the account answers
    190/10 instead of 33 is UNCONFIRMED.
  * a throttle (codes 4, 17, 32, 613, 800xx; `X-Business-Use-Case-Usage` says for how long)
    or the invocation's deadline -> this media and every later one `deferred`, nothing more
    is asked; a refused token (190) -> this one and the rest `failed`; any other error ->
    `failed` with Graph's message, and the next media is read.

Which source wins against webhooks: these pulled totals. Meta sends `comments` webhooks for
Instagram but no like webhooks (platforms/instagram/webhook.py), and a webhook counts only what
it notified, while the pulled numbers are Instagram's own lifetime totals, net of unlikes and
deleted comments. `likes` and `comments` count organic interactions only ("interactions on ads
... are not counted", Meta's media-insights page, Limitations).

The Graph helpers (`read_each`, `graph_get`, `ask_metrics`, `settle`, in platforms/meta/insights.py) are shared with
facebook/insights.py: both platforms answer in Meta Graph's shapes and errors.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from socialomega.core.http import ApiClient
from socialomega.platforms.insights import PostInsights, PostRef
from socialomega.platforms.instagram.publisher import InstagramPublisher
from socialomega.platforms.meta.insights import (
    GraphRefused,
    count,
    graph_get,
    insights_edge,
    read_each,
    settle,
)
from socialomega.publishers.platform import unsafe_destination

PLATFORM = "instagram"
# Graph's media metric -> METRICS.
INSIGHTS: dict[str, str] = {
    "views": "views",
    "reach": "reach",
    "saved": "saves",
    "shares": "shares",
    "likes": "likes",
    "comments": "comments",
}
# IG Media node field -> METRICS: the fallback for the two counts.
FIELDS: dict[str, str] = {"like_count": "likes", "comments_count": "comments"}
NOT_OFFERED: dict[str, str] = {"clicks": "not offered by instagram"}
INSIGHTS_SCOPE = "instagram_manage_insights"
FIELDS_SCOPE = "instagram_basic"
INSIGHTS_LAG = timedelta(hours=48)  # "Data used to calculate metrics can be delayed up to 48 hours."


def read(publisher: InstagramPublisher, posts: Sequence[PostRef], now: datetime) -> list[PostInsights]:
    """One result per post, in order (platforms/insights.py)."""
    s = publisher.settings
    unsafe = unsafe_destination(s.api_base_url, s.egress_policy)
    return read_each(PLATFORM, posts, lambda post: _read_media(publisher.api, post, now), unsafe=unsafe)


def _read_media(api: ApiClient, post: PostRef, now: datetime) -> PostInsights:
    media = post.remote_id
    try:
        values, missing = insights_edge(
            api, f"{media}/insights", INSIGHTS, INSIGHTS_SCOPE, PLATFORM, post, now, INSIGHTS_LAG
        )
    except GraphRefused as refused:
        return refused.result(post)
    missing = {**NOT_OFFERED, **missing}
    if all(metric in values for metric in FIELDS.values()):
        return settle(post, values, missing)
    try:
        node = graph_get(api, media, {"fields": ",".join(FIELDS)}, PLATFORM)
    except GraphRefused as refused:
        if refused.gone or not (values or refused.permission):
            return refused.result(post)
        if refused.permission:
            missing.update({m: f"no permission: {FIELDS_SCOPE}" for m in FIELDS.values() if m not in values})
        return settle(post, values, missing)  # what insights gave, the counts' reasons kept
    for field, metric in FIELDS.items():
        value = count(node.get(field))
        if metric not in values and value is not None:
            values[metric] = value
            missing.pop(metric, None)
    return settle(post, values, missing)
