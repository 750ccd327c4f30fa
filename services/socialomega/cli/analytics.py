"""`socialomega analytics`: the report (analytics/report.py) as a table, CSV, or an HTML file.

The table and the CSV have one row per post (photo x target): when it was published, its
figures, where each came from and when it was read. A figure nobody could read shows as "—"
(never 0); the CSV leaves it empty. The HTML report (analytics/html.py) is one self-contained
file with charts and the photos' thumbnails, read from the processed bucket and shrunk here.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from socialomega.cli import output

# The table's figures; the CSV and JSON carry every metric.
SHOWN = ("likes", "comments", "shares", "saves", "reach", "views")
UNREAD = "—"
THUMBNAIL_READERS = 8
MAX_REASONS = 8  # lines of "not available" reasons under the table


def _figure(post: dict[str, Any], metric: str) -> str:
    value = post["metrics"].get(metric)
    return UNREAD if value is None else str(value)


def _when(value: str | None) -> str | None:
    return value[:16].replace("T", " ") if value else None


def table(report: dict[str, Any]) -> str:
    """The posts as an aligned table (newest minute first, then by photo and target), the
    totals per target, what could not be read and why, and the failures by reason."""
    posts = sorted(report["posts"], key=lambda p: (p.get("title") or p["asset_id"], p["target"]))
    posts.sort(key=lambda p: _when(p["published_at"]) or "", reverse=True)  # stable: photo order kept
    rows = [
        [
            _when(p["published_at"]),
            (p.get("title") or p["asset_id"])[:28],
            p["target"],
            *(_figure(p, m) for m in SHOWN),
            _when(p.get("updated_at")) or ("webhooks" if p["sources"] else None),
        ]
        for p in posts
    ]
    span = f"{report['range']['since']} .. {report['range']['until']}"
    text = output.table(
        ["published (UTC)", "photo", "target", *SHOWN, "figures read"], rows, empty=f"no posts published {span}"
    )
    lines = [text]
    if report["posts"]:
        lines.append(f"\n{len(report['posts'])} post(s) published {span}:")
        for target, t in sorted(report["totals"].items()):
            figures = ", ".join(f"{t[m]} {m}" for m in SHOWN if m in t)
            lines.append(f"  {target}: {t['posts']} post(s)" + (f", {figures}" if figures else ""))
        unread: dict[tuple[str, str], list[str]] = {}
        for post in report["posts"]:
            for metric, why in post["missing"].items():
                names = unread.setdefault((post["target"], why), [])
                if metric not in names:
                    names.append(metric)
        if unread:
            lines.append(f"{UNREAD} not available:")
            why_not = [f"  {target} {', '.join(names)}: {why}" for (target, why), names in sorted(unread.items())]
            lines += why_not[:MAX_REASONS]
            if len(why_not) > MAX_REASONS:
                lines.append(f"  ... {len(why_not) - MAX_REASONS} more (--json has each post's reasons)")
    if report["failures"]:
        reasons: dict[str, int] = {}
        for failure in report["failures"]:
            reasons[failure["code"]] = reasons.get(failure["code"], 0) + 1
        lines.append(
            f"{len(report['failures'])} failed publication(s): "
            + ", ".join(f"{n} {code}" for code, n in sorted(reasons.items()))
        )
    return "\n".join(lines)


def csv_text(report: dict[str, Any]) -> str:
    """One row per post: identity, times, every metric (empty when not available) and its source."""
    metrics = report["metrics"]
    fields = ["published_at", "asset_id", "title", "target", "platform", "remote_id", "remote_url"]
    fields += ["seconds_to_publish", *metrics, *(f"{m}_source" for m in metrics), "updated_at"]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for post in report["posts"]:
        row = {k: post.get(k) for k in fields}
        row.update({m: post["metrics"].get(m) for m in metrics})
        row.update({f"{m}_source": post["sources"].get(m, "") for m in metrics})
        writer.writerow(row)
    return buffer.getvalue()


def thumbnails(report: dict[str, Any], read: Callable[[str], bytes | None]) -> dict[str, bytes]:
    """asset id -> a small JPEG of the variant that was posted (`read(key)`: the processed
    bucket's object, None when it is gone: a photo without a thumbnail is still reported)."""
    from socialomega.analytics.html import thumbnail

    keys: dict[str, str] = {}
    for post in report["posts"]:
        if post.get("thumbnail_key") and post["asset_id"] not in keys:
            keys[post["asset_id"]] = post["thumbnail_key"]

    def one(item: tuple[str, str]) -> tuple[str, bytes | None]:
        asset_id, key = item
        data = read(key)
        try:
            return asset_id, thumbnail(data) if data else None
        except ValueError:  # not an image we will decode (too large, unreadable)
            return asset_id, None

    with ThreadPoolExecutor(max_workers=THUMBNAIL_READERS) as pool:
        return {asset: data for asset, data in pool.map(one, keys.items()) if data}


def object_reader(s3: Any, bucket: str) -> Callable[[str], bytes | None]:
    """`read(key)` for `thumbnails`: the object's bytes, or None when it cannot be read."""
    from botocore.exceptions import BotoCoreError, ClientError

    def read(key: str) -> bytes | None:
        try:
            body: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except (BotoCoreError, ClientError):
            return None
        return body

    return read


def write_html(report: dict[str, Any], read: Callable[[str], bytes | None], path: str) -> None:
    """The self-contained HTML report, with the posted variants' thumbnails, written to `path`."""
    from socialomega.analytics import html

    page = html.render(report, thumbnails(report, read))
    with open(path, "w", encoding="utf-8") as out:
        out.write(page)
