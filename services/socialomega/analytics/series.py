"""The figures pulled from a platform for one post, latest and over time:
`analytics/insights/<target>/<remote_id>.json` (core/store.insights_key).

    {"target", "platform", "asset_id", "remote_id", "status", "detail", "missing": {metric: why},
     "latest": {"at", "values": {metric: n}} | null,   # the newest figures read (status ok/partial)
     "checked_at": <the last run's time, whatever its status>,
     "series": [{"at", "values"}, ...]}                # oldest first

A run appends a point only when a figure changed (a post nobody touches adds none), so a post
read hourly for 30 days keeps at most a few hundred points. The insights puller is the only
writer, one run at a time (its schedule's function has a reserved concurrency of 1): the
compare-and-swap never contends, it only guards against a run overlapping its predecessor.
"""

from __future__ import annotations

from typing import Any

from socialomega.core.ports import Documents
from socialomega.core.store import insights_key

MAX_POINTS = 2000  # far beyond 30 days of hourly changes; the oldest go first past it
READ = frozenset({"ok", "partial"})  # statuses whose `values` are figures


def record(store: Documents, result: dict[str, Any], at: str) -> dict[str, Any] | None:
    """Fold one read (`platforms.insights.PostInsights.as_dict()`) taken `at` (ISO 8601) into the
    post's document. A read that brought no figures (deferred, failed, no permission, gone)
    keeps the last figures and says why in `status` and `detail`."""

    def change(doc: dict[str, Any] | None) -> dict[str, Any] | None:
        doc = doc or {
            "target": result["target"],
            "platform": result["platform"],
            "asset_id": result["asset_id"],
            "remote_id": result["remote_id"],
            "latest": None,
            "series": [],
        }
        new = {**doc, "status": result["status"], "detail": result["detail"], "checked_at": at}
        if result["status"] not in READ:
            return new
        values = dict(result["values"])
        series = list(doc.get("series") or [])
        if not series or series[-1]["values"] != values:
            series = [*series, {"at": at, "values": values}][-MAX_POINTS:]
        return {**new, "missing": dict(result["missing"]), "latest": {"at": at, "values": values}, "series": series}

    return store.update(insights_key(result["target"], result["remote_id"]), change)


def read(store: Any, target: str, remote_id: str) -> dict[str, Any] | None:
    doc = store.get(insights_key(target, remote_id))
    return None if doc is None else dict(doc.data)
