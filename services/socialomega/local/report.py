"""The demo's result table: one row per photo and target, read back from the store."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from socialomega.analytics.daily import read_day
from socialomega.cli import output
from socialomega.cli import status as photo_status
from socialomega.core.ports import Documents
from socialomega.core.store import MetadataStore

# One reading of the store for the demo and `socialomega status` (cli/status.py).
_engagement_text = photo_status.engagement_text


@dataclass
class Row:
    asset_id: str
    title: str
    version: str
    target: str
    status: str
    remote: str
    seconds: float | None


def rows(store: MetadataStore, targets: list[str]) -> list[Row]:
    """The demo's view of `cli/status.photo_statuses`: the remote id, else the reason."""
    return [
        Row(
            s.asset_id,
            s.title,
            s.version,
            s.target,
            s.state,
            s.remote_id or s.reason,
            s.seconds_to_publish,
        )
        for s in photo_status.photo_statuses(store, targets)
    ]


def render(table: list[Row]) -> str:
    """The rows as the operator command's tables are drawn (cli/output.table: the one renderer)."""
    headers = ["photo", "asset", "target", "status", "remote id / error", "detect->publish"]
    cells = [
        [
            r.title[:28],
            r.asset_id[:12],
            r.target,
            r.status,
            r.remote[:60],
            None if r.seconds is None else f"{r.seconds:.2f} s",
        ]
        for r in table
    ]
    return output.table(headers, cells, empty="no photos")


def day_lines(store: Documents, day: str) -> list[str]:
    """One day's analytics (yyyy-mm-dd), summed over its shards: results and net engagement per target."""
    totals = read_day(store, day)
    lines = [f"{day}: {totals['events']} event(s) counted"]
    for target in sorted(set(totals["counts"]) | set(totals["engagement"])):
        counts = totals["counts"].get(target, {})
        results = ", ".join(f"{n} {name.removeprefix('Publish').lower()}" for name, n in sorted(counts.items()))
        engaged = _engagement_text(totals["engagement"].get(target) or {})
        lines.append(f"  {target}: " + "; ".join(part for part in (results, engaged) if part))
    return lines


def summary(table: list[Row]) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for row in table:
        counts[row.status] = counts.get(row.status, 0) + 1
    return counts
