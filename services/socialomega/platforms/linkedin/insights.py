"""LinkedIn: the platform's own numbers for our posts (`platforms/insights.py` contract).

Every call goes through `LinkedInPublisher._call`: the target's token, `LinkedIn-Version`
(the target's pinned version) and `X-Restli-Protocol-Version: 2.0.0`, the SSRF check, and the
token re-read on a 401. URNs in paths and queries are URL-encoded (Rest.li 2.0). The token
travels in the Authorization header only, never in a URL. All posts of one target have the
target's author (`settings.author`), which decides the endpoints:

Organization posts (author urn:li:organization:..):
  * `GET /rest/organizationalEntityShareStatistics?q=organizationalEntity&organizationalEntity=
    <org>&shares=List(<share urns>)&ugcPosts=List(<ugcPost urns>)`: lifetime, organic totals
    (no `timeIntervals`), "only within the past 12 months, using a rolling 12-month window";
    needs `rw_organization_admin` as ADMINISTRATOR (learn.microsoft.com/linkedin/marketing/
    community-management/organizations/share-statistics, li-lms-2026-03). Asked for up to
    STATS_BATCH posts at once; the `List(...)` syntax, and that the batch may be that long, are
    UNCONFIRMED. shares <- shareCount, views <- impressionCount, reach <-
    uniqueImpressionsCount, clicks <- clickCount (element shape: Q&A 1151813). A share URN
    must go in `shares`, a ugcPost URN in `ugcPosts` (else 403 "Unpermitted fields present in
    PARAMETER", Q&A 1331917).
  * `GET /rest/socialActions/{encoded urn}`: likes <- likesSummary.totalLikes, comments <-
    commentsSummary.aggregatedTotalComments (replies included, as the post shows them); needs
    `r_organization_social` (learn.microsoft.com/.../network-update-social-actions). These two
    come from here, not from the statistics' likeCount/commentCount, because the statistics
    count organic activity only ("Sponsored activity is not counted"), and because an admin
    role without ADMINISTRATOR still gets them.
  * saves: not offered for organization posts.
Member posts (author urn:li:person:..):
  * `GET /rest/memberCreatorPostAnalytics?q=entity&entity=(share:<urn>)&queryType=<Q>
    &aggregation=TOTAL`, one metric per call, needs `r_member_postAnalytics` ("Retrieve your
    posts and their reporting data"; learn.microsoft.com/.../members/post-statistics,
    li-lms-2026-03): REACTION -> likes, COMMENT -> comments, RESHARE -> shares, IMPRESSION ->
    views, MEMBERS_REACHED -> reach, and from LinkedIn-Version 202603 POST_SAVE -> saves
    (earlier versions: saves not offered). Entity syntax, `TOTAL` and the element shape
    (`elements[].count`) are UNCONFIRMED. clicks: not offered for member posts.
  * socialActions on a member post needs `r_member_social`, "granted to select developers
    only": it is asked only when the analytics are refused, for likes and comments.
Refusals are the account's, not the post's: a 403 ACCESS_DENIED from an endpoint is remembered
for the run (that endpoint is not asked again) and its metrics are `missing` with
"no permission: <scope>" (status partial when other metrics were read, no_permission when
none were). A 404 (deleted post) is `gone`. A 429 (LinkedIn's limits are daily, per app and
per member, unpublished, with no Retry-After or rate-limit headers: learn.microsoft.com/
linkedin/shared/api-guide/concepts/rate-limits) or the invocation's deadline stops the run:
that post and the rest `deferred` (retry_after: midnight UTC for a DAY limit, else none). A
refused token stops it too (the rest `failed`: re-authorise). A 5xx or any other error fails
that post (or the posts of that statistics batch) and the next is read.

Webhooks vs these reads: LinkedIn notifies an organization's social actions (LIKE, COMMENT,
SHARE, COMMENT_DELETE on its PUBLIC posts; learn.microsoft.com/.../organization-social-action-
notifications via platform-apis.md section 6, UNCONFIRMED first-hand) and nothing for member
posts. The read wins for every metric it reports: it is LinkedIn's lifetime total, while a
notification is one increment that may be missed or retried (and there is no unlike
notification, UNCONFIRMED); notifications only fill the time between two reads (our policy).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from socialomega.core import http
from socialomega.core.config import ConfigError
from socialomega.core.http import Outcome
from socialomega.platforms.insights import STATUSES, PostInsights, PostRef, Reading, judged
from socialomega.publishers.platform import StepFailed, logger

if TYPE_CHECKING:
    from socialomega.platforms.linkedin.publisher import LinkedInPublisher

STATS_BATCH = 20  # posts per share-statistics call (UNCONFIRMED limit; keeps the URL short)
STATS_DAYS = 365  # share statistics: "a rolling 12-month window"
SAVES_VERSION = "202603"  # POST_SAVE joined memberCreatorPostAnalytics in this version
# memberCreatorPostAnalytics queryType -> metric
MEMBER_QUERIES = {
    "REACTION": "likes",
    "COMMENT": "comments",
    "RESHARE": "shares",
    "IMPRESSION": "views",
    "MEMBERS_REACHED": "reach",
}
# totalShareStatistics field -> metric
STATISTICS = {
    "shareCount": "shares",
    "impressionCount": "views",
    "uniqueImpressionsCount": "reach",
    "clickCount": "clicks",
}
# URN kind -> (statistics list parameter, memberCreatorPostAnalytics entity key)
URN_KINDS = {"share": ("shares", "share"), "ugcPost": ("ugcPosts", "ugc")}

NO_ORG_SOCIAL = "no permission: r_organization_social (ADMINISTRATOR or DIRECT_SPONSORED_CONTENT_POSTER)"
NO_ORG_ADMIN = "no permission: rw_organization_admin (ADMINISTRATOR of the organization)"
NO_ANALYTICS = "no permission: r_member_postAnalytics"
NO_MEMBER_SOCIAL = "no permission: r_member_postAnalytics (or the restricted r_member_social)"


def read(publisher: LinkedInPublisher, posts: Sequence[PostRef], now: datetime) -> list[PostInsights]:
    """LinkedIn's figures for `posts` (one result per post, in order); see the module docstring."""
    reader = _Reader(publisher, now)
    answers = reader.read_all(list(posts))
    results = [answers.get(i, reader.stop or Reading("failed", detail="not read")).of(p) for i, p in enumerate(posts)]
    counts = Counter(r.status for r in results)
    logger("linkedin", publisher.settings.name).info(
        "insights_read", posts=len(posts), **{s: counts[s] for s in STATUSES if counts[s]}
    )
    return results


class _Reader:
    """One run's reads: the refusals learned so far and, once the run must stop, the answer for
    every post not yet read (`stop`)."""

    def __init__(self, publisher: LinkedInPublisher, now: datetime) -> None:
        self.publisher = publisher
        self.now = now if now.tzinfo else now.replace(tzinfo=UTC)
        self.refused: dict[str, str] = {}  # endpoint -> the missing reason of its metrics
        self.stop: Reading | None = None

    def read_all(self, posts: list[PostRef]) -> dict[int, Reading]:
        answers: dict[int, Reading] = {}
        author = self.publisher.settings.author
        if author.startswith("urn:li:organization:"):
            indexed = list(enumerate(posts))
            for start in range(0, len(indexed), STATS_BATCH):
                chunk = indexed[start : start + STATS_BATCH]
                if self.stop is not None:
                    break
                stats = self._statistics(author, [post for _, post in chunk])
                for index, post in chunk:
                    if self.stop is not None:
                        break
                    answers[index] = self._organization_post(post, stats[post.remote_id])
        else:
            for index, post in enumerate(posts):
                if self.stop is not None:
                    break
                answers[index] = self._member_post(post)
        return answers

    # --- organization posts -------------------------------------------------------------------
    def _statistics(self, org: str, posts: list[PostRef]) -> dict[str, dict[str, int] | str | Reading]:
        """Per post: its statistics values, the reason they are missing, or a failure answer."""
        found: dict[str, dict[str, int] | str | Reading] = {}
        lists: dict[str, list[str]] = {}
        for post in posts:
            kind = _urn_kind(post.remote_id)
            if kind is None:
                found[post.remote_id] = f"not offered for {post.remote_id.rsplit(':', 1)[0]} URNs"
            elif self._age_days(post) > STATS_DAYS:
                found[post.remote_id] = f"not offered for posts older than {STATS_DAYS} days"
            elif "statistics" in self.refused:
                found[post.remote_id] = self.refused["statistics"]
            else:
                lists.setdefault(URN_KINDS[kind][0], []).append(post.remote_id)
        if not lists:
            return found
        asked = [urn for urns in lists.values() for urn in urns]
        query = "".join(
            f"&{param}=List({','.join(quote(u, safe='') for u in dict.fromkeys(urns))})"
            for param, urns in lists.items()
        )
        got = self._get(
            f"/rest/organizationalEntityShareStatistics?q=organizationalEntity"
            f"&organizationalEntity={quote(org, safe='')}{query}"
        )
        if isinstance(got, Outcome):
            if _denied(got) and "Unpermitted fields" not in got.message:
                self.refused["statistics"] = NO_ORG_ADMIN
                found.update(dict.fromkeys(asked, NO_ORG_ADMIN))
            else:
                found.update(dict.fromkeys(asked, self._trouble(got, gone_on_404=False)))
            return found
        elements: dict[str, dict[str, Any]] = {}
        for element in got.get("elements") or []:
            if isinstance(element, dict):
                urn = element.get("share") or element.get("ugcPost")
                totals = element.get("totalShareStatistics")
                if isinstance(urn, str) and isinstance(totals, dict):
                    elements[urn] = totals
        for urn in asked:
            totals = elements.get(urn)
            if totals is None:
                # LinkedIn leaves out what it has no statistics for (deleted, not the org's): UNCONFIRMED
                found[urn] = "not in LinkedIn's share statistics"
            else:
                found[urn] = {
                    metric: totals[name] for name, metric in STATISTICS.items() if _is_count(totals.get(name))
                }
        return found

    def _organization_post(self, post: PostRef, stats: dict[str, int] | str | Reading) -> Reading:
        if isinstance(stats, Reading):
            return stats
        values: dict[str, int] = {}
        missing = {"saves": "not offered for organization posts"}
        if isinstance(stats, str):
            missing.update(dict.fromkeys(STATISTICS.values(), stats))
        else:
            values.update(stats)
            missing.update({m: "not in LinkedIn's share statistics" for m in STATISTICS.values() if m not in stats})
        counts = self._social_actions(post, NO_ORG_SOCIAL)
        if isinstance(counts, Reading):
            return counts
        _merge(counts, ("likes", "comments"), values, missing)
        return judged(values, missing)

    # --- member posts -------------------------------------------------------------------------
    def _member_post(self, post: PostRef) -> Reading:
        kind = _urn_kind(post.remote_id)
        if kind is None:
            return Reading("failed", detail=f"{post.remote_id!r} is not a LinkedIn share or ugcPost URN")
        queries = dict(MEMBER_QUERIES)
        missing = {"clicks": "not offered for member posts"}
        if self.publisher.settings.linkedin_version[:6] >= SAVES_VERSION:
            queries["POST_SAVE"] = "saves"
        else:
            missing["saves"] = f"not offered before LinkedIn-Version {SAVES_VERSION}"
        values: dict[str, int] = {}
        entity = f"({URN_KINDS[kind][1]}:{quote(post.remote_id, safe='')})"
        for query_type, metric in queries.items():
            if "analytics" in self.refused:
                break
            got = self._get(
                f"/rest/memberCreatorPostAnalytics?q=entity&entity={entity}&queryType={query_type}&aggregation=TOTAL"
            )
            if isinstance(got, Outcome):
                if not _denied(got):
                    return self._trouble(got)
                self.refused["analytics"] = NO_ANALYTICS
                break
            counts = [
                e["count"] for e in got.get("elements") or [] if isinstance(e, dict) and _is_count(e.get("count"))
            ]
            if counts:
                values[metric] = sum(counts)
            else:
                missing[metric] = f"not in LinkedIn's answer (queryType {query_type})"
        if "analytics" in self.refused:
            missing.update({m: NO_ANALYTICS for m in queries.values() if m not in values and m not in missing})
            if "likes" not in values or "comments" not in values:
                social = self._social_actions(post, NO_MEMBER_SOCIAL)
                if isinstance(social, Reading):
                    return social
                _merge(social, tuple(m for m in ("likes", "comments") if m not in values), values, missing)
        return judged(values, missing)

    # --- shared -------------------------------------------------------------------------------
    def _social_actions(self, post: PostRef, refusal: str) -> dict[str, int] | str | Reading:
        """likes and comments, the missing reason (`refusal` once refused), or a failure answer."""
        if "socialActions" in self.refused:
            return self.refused["socialActions"]
        got = self._get(f"/rest/socialActions/{quote(post.remote_id, safe='')}")
        if isinstance(got, Outcome):
            if not _denied(got):
                return self._trouble(got)
            self.refused["socialActions"] = refusal
            return refusal
        fields: dict[str, Any] = {
            "likes": (got.get("likesSummary") or {}).get("totalLikes"),
            "comments": (got.get("commentsSummary") or {}).get("aggregatedTotalComments"),
        }
        return {metric: value for metric, value in fields.items() if _is_count(value)}

    def _get(self, path: str) -> dict[str, Any] | Outcome:
        try:
            response = self.publisher._call("GET", path)
        except StepFailed as failed:
            return failed.outcome
        except ConfigError as exc:  # the secret has no token: an operator must fix it
            return Outcome("auth", code="config", message=str(exc)[:300])
        return http.json_object(response)

    def _trouble(self, outcome: Outcome, gone_on_404: bool = True) -> Reading:
        """What an error means for this post; sets `stop` when the rest must wait or fail too."""
        told = " ".join(str(p) for p in (outcome.status, outcome.code) if p)
        told = f"{told}: {outcome.message}"[:300]
        if outcome.code == "deadline":
            self.stop = Reading(
                "deferred", detail=f"the run's deadline came first ({told})", retry_after=outcome.retry_after
            )
            return self.stop
        if outcome.status == 429 or outcome.kind == "deferred":
            self.stop = Reading("deferred", detail=f"LinkedIn asked to wait ({told})", retry_after=outcome.retry_after)
            return self.stop
        if outcome.kind == "auth" or outcome.code == "unsafe_destination":
            self.stop = Reading("failed", detail=f"LinkedIn refused the token or the target is misconfigured ({told})")
            return self.stop
        if outcome.status == 404 and gone_on_404:
            return Reading("gone", detail=f"LinkedIn: the post no longer exists ({told})")
        return Reading("failed", detail=f"LinkedIn could not answer ({told}); read again next run")

    def _age_days(self, post: PostRef) -> float:
        published = post.published_at if post.published_at.tzinfo else post.published_at.replace(tzinfo=UTC)
        return (self.now - published).total_seconds() / 86400


def _merge(
    counts: dict[str, int] | str, metrics: tuple[str, ...], values: dict[str, int], missing: dict[str, str]
) -> None:
    """Put `metrics` from `counts` (or its missing reason) into values/missing."""
    for metric in metrics:
        if isinstance(counts, str):
            missing[metric] = counts
        elif metric in counts:
            values[metric] = counts[metric]
            missing.pop(metric, None)
        else:
            missing[metric] = "not in LinkedIn's socialActions answer"


def _denied(outcome: Outcome) -> bool:
    """LinkedIn's 403 ACCESS_DENIED (a scope or role the token lacks)."""
    return outcome.status == 403


def _urn_kind(urn: str) -> str | None:
    for kind in URN_KINDS:
        if urn.startswith(f"urn:li:{kind}:") and len(urn) > len(f"urn:li:{kind}:"):
            return kind
    return None


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
