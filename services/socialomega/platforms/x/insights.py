"""X (API v2): the platform's own numbers for our posts (`platforms/insights.py` contract).

Endpoint: `GET /2/tweets?ids=<1..100 ids>&tweet.fields=public_metrics,non_public_metrics`
(X docs `x-api/fundamentals/metrics.mdx`; openapi.json v2.167 `findPostsByIds`), one request per
100 posts, with the target's OAuth 2.0 user token: scopes `tweet.read users.read` (the spec's
security requirement). The call goes through `XPublisher._api`, the publisher's own path: the
token is its `core/oauth.RotatingToken`, renewed on a 401 and written back exactly as when
publishing; the token travels in the Authorization header only, never in a URL.

Metrics (metrics.mdx; openapi `PostPublicMetrics`: "Engagement metrics for the Post at the time
of the request", i.e. lifetime totals):
  likes    <- public_metrics.like_count
  comments <- public_metrics.reply_count
  shares   <- public_metrics.retweet_count + public_metrics.quote_count. A quote is a repost
              with the reposter's words: both put the post before another audience, as a
              LinkedIn reshare (with or without commentary) does. CONFLICT: metrics.mdx names the
              reposts `retweet_count`, openapi.json (since Aug 2026) `repost_count`; X sends
              one of them (the sandbox both, equal): the first present is used, never both.
              The sandbox's truth has no quotes (quote_count 0), so shares = its `shares`.
  saves    <- public_metrics.bookmark_count
  views    <- public_metrics.impression_count (public on v2, for any post of any age; the
              non-public copy is the same number, and reading the public one keeps views
              comparable across the 30-day limit below)
  clicks   <- non_public_metrics.url_link_clicks + user_profile_clicks
  reach    -- not offered by X.
`non_public_metrics` needs the post's owner's user context and "are only available for Posts
created within the last 30 days" (metrics.mdx). Posts older than that (by `published_at`) are
asked public_metrics only, clicks "not offered"; a younger post X still refuses the field for
(a `not-authorized-for-field` error, the post left out of `data`: shape UNCONFIRMED for `data`,
see sandbox/x.py) is asked again, public_metrics only, and its clicks are `missing` with the
reason. The openapi names that problem `field-unauthorized`; both names are accepted.

Answers:
  * an id in `errors` as `resource-not-found` (deleted, or never ours) -> `gone`; as
    `not-authorized-for-resource` (a protected or suspended account) -> `no_permission`;
  * 403 on the request (the token lacks `tweet.read`/`users.read`, or the app is not allowed
    the endpoint) -> `no_permission` for it and the rest (the scopes are the token's);
  * 429 (`x-rate-limit-reset`, 5,000 requests / 15 min per user for GET /2/tweets,
    rate-limits.mdx), or a 200 whose `x-rate-limit-remaining` is 0, or the invocation's deadline
    -> the rest `deferred`, with `retry_after` seconds from the reset header; nothing more is
    sent in this run;
  * a refused token (refresh refused: re-authorise) -> `failed` for the rest, nothing more sent;
  * 5xx, a timeout, any other error -> that batch `failed` (retried next run), the next batch
    is still asked.

Webhooks vs these reads: X sends engagement events (likes, replies, reposts, quotes of the
account's posts) only through the Account Activity API, "available on the Enterprise and Pay
Per Use tiers" (docs.x.com/x-api/account-activity/quickstart) and marked deprecated in favour
of the X Activity API, whose listed events are posts, follows and profile changes
(docs.x.com/x-api/activity/introduction; like events there UNCONFIRMED). On the free and
Basic tiers these reads are the only source. Where both exist the read wins for every metric
it reports: it is X's own lifetime total, while webhook events are increments that can be
lost, retried or duplicated; they only fill the time between two reads (our policy).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import requests

from socialomega.core import http
from socialomega.core.config import ConfigError
from socialomega.core.http import Outcome
from socialomega.platforms.insights import STATUSES, PostInsights, PostRef, Reading, judged
from socialomega.platforms.x.errors import ERRORS
from socialomega.publishers.platform import StepFailed, unsafe_destination

if TYPE_CHECKING:
    from socialomega.platforms.x.publisher import XPublisher

MAX_IDS = 100  # GET /2/tweets: "A comma separated list of Post IDs. Up to 100 are allowed"
NON_PUBLIC_DAYS = 30  # metrics.mdx: non-public and organic metrics, posts of the last 30 days
READ_SCOPES = "tweet.read users.read"
_POST_ID = re.compile(r"\d{1,19}")  # openapi PostId: ^[0-9]{1,19}$

NOT_OFFERED = "not offered by x"
CLICKS_TOO_OLD = f"not offered for posts older than {NON_PUBLIC_DAYS} days (non_public_metrics)"
CLICKS_REFUSED = (
    "no permission: non_public_metrics (X gives it to the author's user token, "
    f"for posts of the last {NON_PUBLIC_DAYS} days)"
)
# metric -> the public_metrics fields it adds up (the first present of a tuple: a renamed field)
PUBLIC: dict[str, tuple[tuple[str, ...], ...]] = {
    "likes": (("like_count",),),
    "comments": (("reply_count",),),
    "shares": (("retweet_count", "repost_count"), ("quote_count",)),
    "saves": (("bookmark_count",),),
    "views": (("impression_count",),),
}
CLICKS = ("url_link_clicks", "user_profile_clicks")  # non_public_metrics


def read(publisher: XPublisher, posts: Sequence[PostRef], now: datetime) -> list[PostInsights]:
    """X's figures for `posts` (one result per post, in order); see the module docstring."""
    publisher.tokens.forget()  # read the secret once per run, as publish does
    answers: dict[str, Reading] = {}
    ids = list(dict.fromkeys(post.remote_id for post in posts))
    for bad in (i for i in ids if not _POST_ID.fullmatch(i)):
        answers[bad] = Reading("failed", detail=f"{bad!r} is not an X post id (1 to 19 digits)")
    young = {p.remote_id for p in posts if _age_seconds(p, now) < NON_PUBLIC_DAYS * 86400}
    valid = [i for i in ids if i not in answers]
    batches: list[tuple[list[str], str | None]] = [(chunk, None) for chunk in _chunks([i for i in valid if i in young])]
    batches += [(chunk, CLICKS_TOO_OLD) for chunk in _chunks([i for i in valid if i not in young])]
    stop = _unsafe(publisher)
    for chunk, clicks_reason in batches:
        if stop is not None:
            break
        stop = _read_batch(publisher, chunk, clicks_reason, answers)
    rest = stop or Reading("failed", detail="not read (no answer for this post)")
    results = [answers.get(post.remote_id, rest).of(post) for post in posts]
    counts = Counter(r.status for r in results)
    publisher.log.info("insights_read", posts=len(posts), **{s: counts[s] for s in STATUSES if counts[s]})
    return results


def _read_batch(
    publisher: XPublisher, ids: list[str], clicks_reason: str | None, answers: dict[str, Reading]
) -> Reading | None:
    """Ask X for `ids` (with non_public_metrics unless `clicks_reason` says why not) and store
    each post's answer; returns the answer for every post not yet read when the run must stop."""
    fields = "public_metrics" if clicks_reason else "public_metrics,non_public_metrics"
    params = {"ids": ",".join(ids), "tweet.fields": fields}
    try:
        response = publisher._api("GET", "/2/tweets", params=params)
    except StepFailed as failed:
        here, stop = _failure(failed.outcome)
        answers.update(dict.fromkeys(ids, here))
        return stop
    except ConfigError as exc:  # the target's secret lacks a key: an operator must fix it
        stop = Reading("failed", detail=f"configuration: {exc}"[:300])
        answers.update(dict.fromkeys(ids, stop))
        return stop
    body = http.json_object(response)
    data = {str(p["id"]): p for p in body.get("data") or [] if isinstance(p, dict) and p.get("id") is not None}
    errors: dict[str, list[dict[str, Any]]] = {}
    for error in body.get("errors") or []:
        if isinstance(error, dict):
            errors.setdefault(str(error.get("resource_id") or error.get("value") or ""), []).append(error)
    refused: list[str] = []
    for post_id in ids:
        if post_id in data:
            answers[post_id] = _metrics(data[post_id], clicks_reason)
            continue
        kinds = {_problem(e) for e in errors.get(post_id, [])}
        if "resource-not-found" in kinds:
            answers[post_id] = Reading("gone", detail="X: the post no longer exists (resource-not-found)")
        elif kinds & {"not-authorized-for-resource"}:
            answers[post_id] = Reading(
                "no_permission", detail="X: not authorized for this post (a protected or suspended account)"
            )
        elif kinds & {"not-authorized-for-field", "field-unauthorized"} and clicks_reason is None:
            refused.append(post_id)
        else:
            told = "; ".join(str(e.get("detail") or e.get("title") or "") for e in errors.get(post_id, []))
            told = f"X answered without this post: {told or 'no error given'}"
            answers[post_id] = Reading("failed", detail=told[:300])
    stop = _spent(response)
    if refused and stop is None:
        stop = _read_batch(publisher, refused, CLICKS_REFUSED, answers)
    elif refused and stop is not None:
        answers.update(dict.fromkeys(refused, stop))
    return stop


def _metrics(post: dict[str, Any], clicks_reason: str | None) -> Reading:
    public: dict[str, Any] = post.get("public_metrics") or {}
    if not isinstance(public, dict):
        public = {}
    values: dict[str, int] = {}
    missing: dict[str, str] = {"reach": NOT_OFFERED}
    for metric, parts in PUBLIC.items():
        found = [next((public[n] for n in names if _is_count(public.get(n))), None) for names in parts]
        if all(v is not None for v in found):
            values[metric] = sum(v for v in found if v is not None)
        else:
            missing[metric] = f"not in X's answer (public_metrics.{'/'.join(parts[0])})"
    private = post.get("non_public_metrics")
    if clicks_reason is not None:
        missing["clicks"] = clicks_reason
    elif isinstance(private, dict) and all(_is_count(private.get(n)) for n in CLICKS):
        values["clicks"] = sum(int(private[n]) for n in CLICKS)
    else:
        missing["clicks"] = "not in X's answer (non_public_metrics)"
    return judged(values, missing)


def _failure(outcome: Outcome) -> tuple[Reading, Reading | None]:
    """(the answer for the batch that failed, the answer for every later post or None)."""
    told = " ".join(str(p) for p in (outcome.status, outcome.code) if p)
    told = f"{told}: {outcome.message}"[:300]
    if outcome.code == "deadline":
        wait = Reading("deferred", detail=f"the run's deadline came first ({told})", retry_after=outcome.retry_after)
        return wait, wait
    if outcome.status == 429 or outcome.kind == "deferred":
        wait = Reading("deferred", detail=f"X asked to wait ({told})", retry_after=outcome.retry_after)
        return wait, wait
    if outcome.kind == "auth" or outcome.code == "unsafe_destination":
        dead = Reading("failed", detail=f"X refused the token or the target is misconfigured; re-authorise ({told})")
        return dead, dead
    if outcome.status == 403:
        denied = Reading("no_permission", detail=f"X refused the read: the token needs {READ_SCOPES} ({told})")
        return denied, denied
    return Reading("failed", detail=f"X could not answer ({told}); read again next run"), None


def _spent(response: requests.Response) -> Reading | None:
    """The answer for the rest when this answer used up the rate-limit window."""
    if (response.headers.get("x-rate-limit-remaining") or "").strip() != "0":
        return None
    wait = http.retry_hint(response.headers, ERRORS)
    return Reading("deferred", detail="X's rate-limit window is used up (x-rate-limit-remaining: 0)", retry_after=wait)


def _unsafe(publisher: XPublisher) -> Reading | None:
    unsafe = unsafe_destination(publisher.settings.api_base_url, publisher.settings.api_policy)
    return None if unsafe is None else Reading("failed", detail=f"target misconfigured: {unsafe.message}"[:300])


def _problem(error: dict[str, Any]) -> str:
    kind = str(error.get("type") or "").rsplit("/", 1)[-1]
    if not kind and error.get("title") == "Field Authorization Error":
        return "not-authorized-for-field"
    return kind


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _age_seconds(post: PostRef, now: datetime) -> float:
    published = post.published_at if post.published_at.tzinfo else post.published_at.replace(tzinfo=UTC)
    at = now if now.tzinfo else now.replace(tzinfo=UTC)
    return (at - published).total_seconds()


def _chunks(ids: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(ids), MAX_IDS):
        yield ids[start : start + MAX_IDS]
