"""Meta Graph reads shared by the Instagram and Facebook insights readers
(platforms/instagram/insights.py, platforms/facebook/insights.py): one read, its errors sorted
into "stop asking this run" and "this post only", a metric list asked whole and then one by one
when Graph refuses it, and the status a read settles on (platforms/insights.py)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from socialomega.core.config import ConfigError
from socialomega.core.http import ApiClient, Outcome, json_object
from socialomega.platforms.insights import PostInsights, PostRef, Status, judged
from socialomega.platforms.meta import errors as meta
from socialomega.publishers.platform import logger

GONE = (100, 33)  # "Unsupported get request. Object with ID ... does not exist"
INVALID_PARAMETER = 100


class GraphStop(Exception):
    """Ask nothing more this run: this post and every later one get `status` (deferred: the
    platform asked to wait or the deadline is near; failed: the token was refused)."""

    def __init__(self, status: Status, detail: str, retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.status: Status = status
        self.detail = detail
        self.retry_after = retry_after


class GraphRefused(Exception):
    """Graph refused one call with an error that concerns this post only."""

    def __init__(self, platform: str, outcome: Outcome, code: Any, subcode: Any) -> None:
        super().__init__(outcome.message)
        self.platform = platform
        self.outcome = outcome
        self.code = code if isinstance(code, int) else None
        self.subcode = subcode

    @property
    def gone(self) -> bool:
        return (self.code, self.subcode) == GONE

    @property
    def permission(self) -> bool:
        """Graph's permission errors: 10 and 200-299 (developers.facebook.com/docs/graph-api/
        guides/error-handling, "Error Codes")."""
        return self.code is not None and (self.code == 10 or 200 <= self.code <= 299)

    @property
    def invalid_parameter(self) -> bool:
        return self.code == INVALID_PARAMETER and not self.gone

    def result(self, post: PostRef) -> PostInsights:
        """`gone` for a post Graph says does not exist, else `failed` with Graph's message."""
        if self.gone:
            return PostInsights(post, "gone", detail=f"{self.platform} says the post no longer exists: {self}")
        return PostInsights(post, "failed", detail=f"{self} ({self.outcome.code or self.outcome.kind})")


def read_each(
    platform: str,
    posts: Sequence[PostRef],
    read_one: Callable[[PostRef], PostInsights],
    *,
    unsafe: Outcome | None = None,
) -> list[PostInsights]:
    """`read_one` for each post until a `GraphStop`; the rest get its status without a call."""
    log = logger(platform, posts[0].target if posts else None)
    stop = GraphStop("failed", unsafe.message) if unsafe is not None else None
    results: list[PostInsights] = []
    for post in posts:
        if stop is not None:
            detail = f"not asked this run: {stop.detail}"
            results.append(PostInsights(post, stop.status, detail=detail, retry_after=stop.retry_after))
            continue
        try:
            results.append(read_one(post))
        except GraphStop as reached:
            stop = reached
        except ConfigError as invalid:  # the target's secret or settings: no post can be read
            stop = GraphStop("failed", str(invalid))
        else:
            continue
        log.info("insights_stopped", status=stop.status, detail=stop.detail, retry_after=stop.retry_after)
        results.append(PostInsights(post, stop.status, detail=stop.detail, retry_after=stop.retry_after))
    return results


def graph_get(api: ApiClient, path: str, params: Mapping[str, str], platform: str) -> dict[str, Any]:
    """One Graph read: the answer's JSON object; raises GraphStop (throttled, deadline, token
    refused) or GraphRefused (any other error)."""
    response, outcome = api.call("GET", path, final=False, params=dict(params))
    if outcome.ok and response is not None:
        return json_object(response)
    code, subcode = meta.error_codes(response) if response is not None else (None, None)
    if response is None and outcome.code == "deadline":
        raise GraphStop("deferred", outcome.message, outcome.retry_after)
    if outcome.kind == "deferred" or outcome.status == 429 or code in meta.THROTTLE_CODES:
        raise GraphStop("deferred", f"{platform} asked to wait: {outcome.message}", outcome.retry_after)
    if outcome.kind == "auth":
        raise GraphStop("failed", f"{platform} refused the token: {outcome.message}")
    raise GraphRefused(platform, outcome, code, subcode)


def ask_metrics(
    api: ApiClient, path: str, names: Sequence[str], platform: str
) -> tuple[dict[str, int], dict[str, str]]:
    """(lifetime value by Graph metric name, Graph's refusal by name) from an insights edge.
    When Graph refuses the list as invalid (code 100), each metric is asked alone, so a metric
    it does not serve costs only itself. Other errors raise."""
    try:
        return lifetime_values(graph_get(api, path, {"metric": ",".join(names)}, platform)), {}
    except GraphRefused as refused:
        if not refused.invalid_parameter:
            raise
        if len(names) == 1:
            return {}, {names[0]: str(refused)}
    values: dict[str, int] = {}
    refusals: dict[str, str] = {}
    for name in names:
        found, refused_alone = ask_metrics(api, path, [name], platform)
        values.update(found)
        refusals.update(refused_alone)
    return values, refusals


def insights_edge(
    api: ApiClient,
    path: str,
    metrics: Mapping[str, str],
    scope: str,
    platform: str,
    post: PostRef,
    now: datetime,
    lag: timedelta,
) -> tuple[dict[str, int], dict[str, str]]:
    """The figures of one insights edge (`metrics`: Graph's name -> ours) and why any is
    missing: the edge's permission (`scope`) refused, a metric Graph refused for this post, or
    one it left out of its answer (`not_reported`). Any other error raises GraphRefused."""
    missing: dict[str, str] = {}
    try:
        found, refusals = ask_metrics(api, path, list(metrics), platform)
    except GraphRefused as refused:
        if not refused.permission:
            raise
        found, refusals = {}, {}
        missing.update({metric: f"no permission: {scope}" for metric in metrics.values()})
    values = {metrics[name]: value for name, value in found.items() if name in metrics}
    missing.update({metrics[name]: f"not offered for this post: {why}" for name, why in refusals.items()})
    for metric in metrics.values():
        if metric not in values and metric not in missing:
            missing[metric] = not_reported(platform, post, now, lag)
    return values, missing


def lifetime_values(body: Mapping[str, Any]) -> dict[str, int]:
    """{metric name: value} of an insights answer: `values[-1].value` (or `total_value.value`);
    a value that is not a count (a breakdown object) is left out."""
    found: dict[str, int] = {}
    for item in body.get("data") or []:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            continue
        series = item.get("values")
        if isinstance(series, list) and series and isinstance(series[-1], dict):
            value = count(series[-1].get("value"))
        else:
            total = item.get("total_value")
            value = count(total.get("value")) if isinstance(total, dict) else None
        if value is not None:
            found[item["name"]] = value
    return found


def count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def not_reported(platform: str, post: PostRef, now: datetime, lag: timedelta) -> str:
    """The reason for a metric the platform left out of its answer (never a 0)."""
    if now - post.published_at < lag:
        return f"not reported by {platform} yet (its insights can lag up to {lag.total_seconds() / 3600:g} hours)"
    return f"not reported by {platform}"


def settle(post: PostRef, values: Mapping[str, int], missing: Mapping[str, str]) -> PostInsights:
    """The post's result (platforms/insights.judged)."""
    return judged(values, missing).of(post)
