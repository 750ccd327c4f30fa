"""The insights puller's run: each recent post's figures read from its platform and kept.

For every enabled target whose platform has an `insights.py` (platforms/insights.py: Instagram,
Facebook, X, LinkedIn; a REST target has none), every post it published in the last
`max_age_days` days (the aggregator's markers, analytics/posts.py) is read through the target's
own publisher (the one HTTP policy, its token and its renewal) and folded into the post's
series document (analytics/series.py). A post the platform says is gone is not asked again.
Posts are read least recently checked first, so a run the platform's rate limit or the deadline
cuts short still moves every post forward over the following runs.

One target's failure never stops the others: it is that target's line in the result, its log
line and its metrics (`InsightsRead`, `InsightsFailed`, `InsightsDeferred` per Target).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from socialomega import platforms
from socialomega.analytics import posts, series
from socialomega.core import config, metrics
from socialomega.core.config import ConfigError, Configuration
from socialomega.core.deadline import DeadlineReached
from socialomega.core.logging import get_logger
from socialomega.core.ports import Documents, ListedDocuments
from socialomega.core.targets import load_targets
from socialomega.platforms.insights import PostInsights, PostRef

MAX_AGE_VARIABLE = "SO_INSIGHTS_MAX_AGE_DAYS"
DEFAULT_MAX_AGE_DAYS = 30.0

PublisherFor = Callable[[Configuration, str], tuple[Any, dict[str, Any]]]


@dataclass(frozen=True)
class PullSettings:
    """`max_age_days`: posts published longer ago are no longer read (Terraform's
    `insights_max_age_days`, variable SO_INSIGHTS_MAX_AGE_DAYS)."""

    max_age_days: float = DEFAULT_MAX_AGE_DAYS

    @classmethod
    def from_env(cls, variables: Mapping[str, str] | None = None) -> PullSettings:
        variables = config.environ() if variables is None else variables
        return cls(config.days_variable(variables, MAX_AGE_VARIABLE, DEFAULT_MAX_AGE_DAYS))


def _ref(marker: dict[str, Any]) -> PostRef:
    return PostRef(
        target=str(marker["target"]),
        platform=str(marker.get("platform") or ""),
        asset_id=str(marker["asset_id"]),
        remote_id=str(marker["remote_id"]),
        published_at=posts.published_at(marker),
        remote_url=marker.get("remote_url"),
    )


def due(store: Documents, markers: Sequence[dict[str, Any]], since: datetime) -> list[PostRef]:
    """The posts to read: published since `since`, not gone, least recently checked first."""
    found: list[tuple[str, PostRef]] = []
    for marker in markers:
        ref = _ref(marker)
        if ref.published_at < since:
            continue
        doc = series.read(store, ref.target, ref.remote_id)
        if doc is not None and doc.get("status") == "gone":
            continue
        found.append((str((doc or {}).get("checked_at") or ""), ref))
    return [ref for _, ref in sorted(found, key=lambda pair: pair[0])]


def pull(
    configuration: Configuration,
    store: ListedDocuments,
    settings: PullSettings,
    *,
    now: datetime | None = None,
    targets: Sequence[str] | None = None,
    publisher_for: PublisherFor | None = None,
) -> list[dict[str, Any]]:
    """Read every due post of every target with insights; one line per target (what was read,
    failed, deferred, and why), in configuration order."""
    if publisher_for is None:
        from socialomega.publishers import bootstrap  # the publisher image's code

        publisher_for = bootstrap.publisher_for
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    since = moment - timedelta(days=settings.max_age_days)
    enabled = [t for t in load_targets(configuration) if targets is None or t.name in targets]
    with_insights = [t for t in enabled if platforms.get(t.platform).has_module("insights")]
    markers = posts.published(
        store, posts.days(since.date(), moment.date() + timedelta(days=1)), [t.name for t in with_insights]
    )
    lines = []
    for target in with_insights:
        refs = due(store, [m for m in markers if m.get("target") == target.name], since)
        lines.append(_pull_target(configuration, store, target.name, target.platform, refs, moment, publisher_for))
    return lines


def _pull_target(
    configuration: Configuration,
    store: Documents,
    name: str,
    platform: str,
    refs: list[PostRef],
    moment: datetime,
    publisher_for: PublisherFor,
) -> dict[str, Any]:
    log = get_logger().bind(target=name)
    line: dict[str, Any] = {"target": name, "platform": platform, "posts": len(refs), "statuses": {}, "detail": ""}
    if refs:
        try:
            publisher, _ = publisher_for(configuration, name)
            results = platforms.get(platform).module("insights").read(publisher, refs, moment)
        except DeadlineReached as exc:
            results = [PostInsights(ref, "deferred", detail=f"deadline: {exc}") for ref in refs]
        except (ConfigError, LookupError) as exc:  # no secret, invalid settings: an operator fixes it
            results = [PostInsights(ref, "failed", detail=str(exc)[:300]) for ref in refs]
        at = moment.isoformat()
        for result in results:
            series.record(store, result.as_dict(), at)
            line["statuses"][result.status] = line["statuses"].get(result.status, 0) + 1
        problems = [r.detail for r in results if r.status not in ("ok", "partial") and r.detail]
        line["detail"] = problems[0] if problems else ""
    counts = line["statuses"]
    metrics.emit(
        {
            "InsightsRead": counts.get("ok", 0) + counts.get("partial", 0),
            "InsightsFailed": counts.get("failed", 0) + counts.get("no_permission", 0),
            "InsightsDeferred": counts.get("deferred", 0),
        },
        {"Target": name},
    )
    log.info("insights_pulled", platform=platform, posts=len(refs), statuses=counts, detail=line["detail"])
    return line
