"""The analytics report: every post published in a date range with its figures, failures, totals.

What `socialomega analytics` prints (table, `--json`, `--csv`) and renders (`--html`, html.py);
the shape is documented on `build_report`. It reads, never writes:
* the posts: the aggregator's markers by publication day (posts.py);
* the figures pulled from each platform (series.py: latest and over time);
* the figures counted from webhooks: net engagement per post in the daily shards (daily.py),
  over every day from the oldest post's publication to today;
* the photo's title (metadata/assets/<asset>.json) and the failures of the range from the event
  log (`events/PublishFailed/<day>/`).

Which source wins, per metric and post (the same rule on every platform; each platform's
insights.py says what it can read and with which permission):
1. the platform's own figure, when the last pull read it: it is the platform's lifetime total,
   which already holds every action a webhook told us about, so the two are never added;
2. else, for a counter the platform's webhooks deliver (`Platform.notified`: Instagram comments;
   Facebook, LinkedIn and X likes, comments, shares), the net count of those notifications
   (a notification delivered twice counts once, aggregate.py; below 0 reads as 0);
3. else nothing: `null`, with the reason in `missing` (no permission, not offered, not read yet),
   never 0.
Between pulls a figure read from the platform does not move with newer webhooks; `updated_at`
says when it was read.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from typing import Any

from socialomega import platforms
from socialomega.analytics import daily, posts, series
from socialomega.core.store import asset_key, event_log_prefix, variant_key
from socialomega.platforms.insights import METRICS

READERS = 8


def build_report(
    store: Any,
    *,
    since: date,
    until: date,
    environment: str,
    targets: Iterable[str] | None = None,
    asset_id: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The report of posts published from `since` to `until` (UTC days, inclusive), only
    `targets`' and `asset_id`'s when given:

        {"environment", "generated_at", "range": {"since", "until"}, "metrics": METRICS,
         "posts": [{asset_id, target, platform, title, version, remote_id, remote_url,
                    published_at, detected_at, seconds_to_publish,
                    metrics: {m: n | null}, sources: {m: "pull" | "webhook"}, missing: {m: why},
                    webhook: {m: n}, updated_at, insights_status, insights_detail,
                    series: [{at, values}], thumbnail_key}],           # newest first
         "failures": [{asset_id, target, platform, status, code, message, at}],  # newest first
         "totals": {target: {"posts": n, m: sum of the non-null figures}}}
    """
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    wanted = None if targets is None else list(targets)
    markers = posts.published(store, posts.days(since, until), wanted)
    if asset_id is not None:
        markers = [m for m in markers if m.get("asset_id") == asset_id]
    oldest = min((posts.published_at(m).date() for m in markers), default=moment.date())
    engagement = daily.post_engagement(store, posts.days(oldest, moment.date() + timedelta(days=1)))
    with ThreadPoolExecutor(max_workers=READERS) as pool:
        pulled = list(pool.map(lambda m: series.read(store, str(m["target"]), str(m["remote_id"])), markers))
        titles = _titles(store, {str(m["asset_id"]) for m in markers}, pool)
    rows = [
        _row(marker, pulled_doc, engagement.get((str(marker["target"]), str(marker["remote_id"]))) or {}, titles)
        for marker, pulled_doc in zip(markers, pulled, strict=True)
    ]
    return {
        "environment": environment,
        "generated_at": moment.isoformat(),
        "range": {"since": since.isoformat(), "until": until.isoformat()},
        "metrics": list(METRICS),
        "posts": rows,
        "failures": failures(store, since, until, wanted, asset_id),
        "totals": _totals(rows),
    }


def _titles(store: Any, assets: set[str], pool: ThreadPoolExecutor) -> dict[str, str | None]:
    """Each photo's title, from its metadata (None when it has none)."""

    def title(asset: str) -> str | None:
        doc = store.get(asset_key(asset))
        value = (doc.data.get("metadata") or {}).get("title") if doc else None
        return str(value) if value else None

    ordered = sorted(assets)
    return dict(zip(ordered, pool.map(title, ordered), strict=True))


def _row(
    marker: dict[str, Any], pulled: dict[str, Any] | None, webhook: dict[str, int], titles: dict[str, str | None]
) -> dict[str, Any]:
    platform = str(marker.get("platform") or "")
    try:
        notified = set(platforms.get(platform).notified)
    except LookupError:
        notified = set()
    latest = (pulled or {}).get("latest") or {}
    read = latest.get("values") or {}
    told = (pulled or {}).get("missing") or {}
    values: dict[str, int | None] = {}
    sources: dict[str, str] = {}
    missing: dict[str, str] = {}
    for metric in METRICS:
        if metric in read:
            values[metric], sources[metric] = int(read[metric]), "pull"
        elif metric in notified:
            values[metric], sources[metric] = max(0, int(webhook.get(metric, 0))), "webhook"
        else:
            values[metric] = None
            missing[metric] = told.get(metric) or _why_not_read(pulled, platform)
    version = str(marker.get("version") or "")
    return {
        "asset_id": marker["asset_id"],
        "target": marker["target"],
        "platform": platform,
        "title": titles.get(str(marker["asset_id"])),
        "version": version or None,
        "remote_id": marker["remote_id"],
        "remote_url": marker.get("remote_url"),
        "published_at": marker.get("published_at"),
        "detected_at": marker.get("detected_at"),
        "seconds_to_publish": marker.get("seconds_to_publish"),
        "metrics": values,
        "sources": sources,
        "missing": missing,
        "webhook": {k: max(0, int(v)) for k, v in sorted(webhook.items()) if k in METRICS},
        "updated_at": latest.get("at"),
        "insights_status": (pulled or {}).get("status"),
        "insights_detail": (pulled or {}).get("detail") or "",
        "series": list((pulled or {}).get("series") or []),
        "thumbnail_key": variant_key(str(marker["asset_id"]), version, str(marker["target"])) if version else None,
    }


def _why_not_read(pulled: dict[str, Any] | None, platform: str) -> str:
    if platform not in platforms.PLATFORMS or not platforms.get(platform).has_module("insights"):
        return f"{platform or 'this platform'} reports no figures"
    if pulled is None:
        return "not read yet: the insights puller has not reached this post"
    if pulled.get("status") in ("failed", "no_permission", "deferred", "gone"):
        return f"{pulled['status']}: {pulled.get('detail') or 'no reason given'}"
    return f"not offered by {platform}"


def failures(
    store: Any, since: date, until: date, targets: list[str] | None, asset_id: str | None
) -> list[dict[str, Any]]:
    """Every PublishFailed of the range (the event log, by the day it happened), newest first."""
    keys = [
        key
        for day in posts.days(since, until)
        for key in store.list_keys(event_log_prefix("PublishFailed", date.fromisoformat(day)))
    ]
    with ThreadPoolExecutor(max_workers=READERS) as pool:
        docs = list(pool.map(store.get, keys))
    found = []
    for doc in docs:
        event = (doc.data.get("event") or {}) if doc else {}
        payload = event.get("payload") or {}
        if not payload or (targets is not None and payload.get("target") not in targets):
            continue
        if asset_id is not None and event.get("asset_id") != asset_id:
            continue
        error = payload.get("error") or {}
        found.append(
            {
                "asset_id": event.get("asset_id"),
                "target": payload.get("target"),
                "platform": payload.get("platform"),
                "status": payload.get("status") or "failed",
                "code": str(error.get("code") or "unknown"),
                "message": str(error.get("message") or ""),
                "at": payload.get("failed_at") or event.get("occurred_at"),
            }
        )
    return sorted(found, key=lambda f: str(f["at"] or ""), reverse=True)


def _totals(rows: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    totals: dict[str, dict[str, int]] = {}
    for row in rows:
        into = totals.setdefault(str(row["target"]), {"posts": 0})
        into["posts"] += 1
        for metric, value in row["metrics"].items():
            if value is not None:
                into[metric] = into.get(metric, 0) + value
    return totals
