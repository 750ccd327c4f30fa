"""The demo's result table: one row per photo and target, read back from the store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from socialomega.analytics.daily import read_day
from socialomega.core import store as keys
from socialomega.core.ports import Documents
from socialomega.core.store import MetadataStore, status_key


@dataclass
class Row:
    asset_id: str
    title: str
    version: str
    target: str
    status: str
    remote: str
    seconds: float | None
    engagement: str = ""


def rows(store: MetadataStore, targets: list[str]) -> list[Row]:
    result: list[Row] = []
    for key in sorted(store.list_keys("metadata/assets/")):
        doc = store.get(key)
        if doc is None:
            continue
        asset = doc.data
        analytics = store.get(status_key(asset["asset_id"]))
        engagement = (analytics.data.get("engagement") or {}) if analytics else {}
        version = asset.get("latest_version", "")
        detected = (asset.get("versions", {}).get(version) or {}).get("detected_at")
        title = (asset.get("metadata") or {}).get("title") or ""
        processing = (asset.get("versions", {}).get(version) or {}).get("processing") or {}
        for target in targets:
            pub = store.get(keys.publication_key(asset["asset_id"], version, target))
            if pub is None:
                target_failure = (processing.get("failures") or {}).get(target)
                if processing.get("status") == "rejected" or target_failure:
                    status, remote = "rejected", target_failure or processing.get("reason", "")
                else:
                    status, remote = "pending", ""
                result.append(Row(asset["asset_id"], title, version, target, status, remote, None))
                continue
            data = pub.data
            error = data.get("error") or data.get("last_error") or {}
            remote = data.get("remote_id") or (f"{error.get('code', '')}: {error.get('message', '')}" if error else "")
            seconds = None
            if data.get("published_at") and detected:
                seconds = (
                    datetime.fromisoformat(data["published_at"]) - datetime.fromisoformat(detected)
                ).total_seconds()
            result.append(
                Row(
                    asset["asset_id"],
                    title,
                    version,
                    target,
                    data.get("status", "?"),
                    remote,
                    seconds,
                    _engagement_text(engagement.get(target) or {}),
                )
            )
    return result


def _engagement_text(counts: dict[str, Any]) -> str:
    shown = {name: max(0, int(counts.get(name) or 0)) for name in ("likes", "comments", "shares")}
    return ", ".join(f"{n} {name[:-1] if n == 1 else name}" for name, n in shown.items() if n)


def render(table: list[Row]) -> str:
    headers = ("photo", "asset", "target", "status", "remote id / error", "detect->publish", "engagement")
    lines = [
        (
            r.title[:28],
            r.asset_id[:12],
            r.target,
            r.status,
            r.remote[:60],
            "" if r.seconds is None else f"{r.seconds:6.2f} s",
            r.engagement,
        )
        for r in table
    ]
    widths = [max(len(h), *(len(str(line[i])) for line in lines)) if lines else len(h) for i, h in enumerate(headers)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    out = [fmt.format(*headers), fmt.format(*("-" * w for w in widths))]
    out += [fmt.format(*line) for line in lines]
    return "\n".join(line.rstrip() for line in out)


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
