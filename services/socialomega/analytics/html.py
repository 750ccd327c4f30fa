"""The analytics report as one self-contained HTML page (`socialomega analytics --html FILE`).

Input: the dict of `analytics/report.py` (`build_report`) and a JPEG thumbnail per asset_id
(`thumbnail()` makes them from the posted variants). Output: one HTML string that opens
offline: no script at all, charts as inline SVG drawn from `charts.py`, thumbnails as data:
URIs, CSS inline with system fonts. Its Content-Security-Policy allows nothing but inline
styles and data: images, so even a string that slipped past escaping could neither run nor
fetch anything.

Captions, titles, targets, codes and messages come from users and platforms: every string
reaches the page through Jinja2 with autoescape on (HTML text and quoted attributes alike),
and a post's link is kept only when it is an http(s) URL.

A null figure is shown as "—" with the report's `missing` reason as its tooltip, never as 0;
charts skip it. Engagement = likes + comments + shares + saves (the non-null ones); a post
with none of them has no engagement figure. Times are UTC and the page says so.
"""

from __future__ import annotations

import base64
import functools
import io
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, StrictUndefined, Template
from PIL import Image, ImageOps, UnidentifiedImageError

from socialomega.analytics import charts
from socialomega.analytics.charts import Chart, PhotoRow, TimeSeries
from socialomega.analytics.html_template import TEMPLATE

ENGAGEMENT = ("likes", "comments", "shares", "saves")
TABLE_METRICS = ("likes", "comments", "shares", "reach", "views")
TOP_LINES = 8
TOP_PHOTOS = 5
LATENCY_EDGES = (5, 15, 60, 300, 900, 3600)
LATENCY_LABELS = ("< 5 s", "5–15 s", "15–60 s", "1–5 min", "5–15 min", "15–60 min", "≥ 1 h")
NO_POSTS = "No posts in this range"
MAX_PIXELS = 50_000_000
JPEG_MAGIC = b"\xff\xd8\xff"


class ThumbnailError(ValueError):
    """The image cannot be made into a thumbnail: not a JPEG, unreadable, or too large."""


def thumbnail(jpeg: bytes, size: int = 160) -> bytes:
    """A JPEG at most `size` px on its long side, upright, with no EXIF, XMP, ICC or comment:
    the pixels are copied into a new image, so no metadata of the original (GPS, camera serial)
    can reach the page. The pixel count is checked from the header, before decoding."""
    if size <= 0:
        raise ThumbnailError(f"thumbnail size must be positive, not {size}")
    try:
        with Image.open(io.BytesIO(jpeg), formats=["JPEG"]) as image:
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise ThumbnailError(
                    f"image of {width}x{height} px ({width * height / 1e6:.0f} MP) is over the "
                    f"{MAX_PIXELS / 1e6:.0f} MP limit for thumbnails"
                )
            image.draft("RGB", (size, size))  # JPEG DCT scaling: decode at about the target size
            upright = ImageOps.exif_transpose(image).convert("RGB")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as error:
        raise ThumbnailError(f"not a readable JPEG: {error}") from error
    upright.thumbnail((size, size), Image.Resampling.LANCZOS)
    clean = Image.new("RGB", upright.size)
    clean.paste(upright)
    out = io.BytesIO()
    clean.save(out, format="JPEG", quality=82, optimize=True)
    return out.getvalue()


# --- Reading the report ------------------------------------------------------------------


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        return None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _figure(value: Any) -> float | None:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def engagement(values: Mapping[str, Any]) -> float | None:
    """likes + comments + shares + saves over the non-null ones; None when all are null."""
    figures = [f for name in ENGAGEMENT if (f := _figure(values.get(name))) is not None]
    return sum(figures) if figures else None


def _photo(post: Mapping[str, Any]) -> str:
    return str(post.get("title") or post.get("asset_id") or "(untitled)")


def _when(at: datetime | None) -> str:
    return f"{at:%a} {at.day} {at:%b %H:%M}" if at else "—"


def _permalink(url: Any) -> str | None:
    """The post's URL when it is a plain http(s) one (never javascript:, data: and the like)."""
    if not isinstance(url, str):
        return None
    parts = urlsplit(url)
    return url if parts.scheme in ("https", "http") and parts.netloc else None


def _days(span: Mapping[str, Any], posts: Sequence[Mapping[str, Any]]) -> list[date]:
    """The report's range (inclusive), or the posts' own days when the range is absent."""
    try:
        since, until = date.fromisoformat(span["since"]), date.fromisoformat(span["until"])
    except (KeyError, TypeError, ValueError):
        published = [at.date() for p in posts if (at := _time(p.get("published_at")))]
        if not published:
            return []
        since, until = min(published), max(published)
    return [since + timedelta(days=i) for i in range((until - since).days + 1)][:366]


# --- The charts --------------------------------------------------------------------------


def posts_per_day(posts: Sequence[Mapping[str, Any]], days: Sequence[date], colors: Mapping[str, str]) -> Chart:
    title = "Posts per day and target"
    description = "Stacked bars: how many photos were published each day (UTC), per target."
    index = {day: i for i, day in enumerate(days)}
    stacks: list[Counter[str]] = [Counter() for _ in days]
    for post in posts:
        at = _time(post.get("published_at"))
        if at and at.date() in index:
            stacks[index[at.date()]][post["target"]] += 1
    if not any(stacks):
        return charts.empty_chart("posts-per-day-svg", title, description, NO_POSTS)
    return charts.column_chart(
        "posts-per-day-svg",
        title,
        description,
        categories=[f"{d:%a} {d.day}" for d in days],
        tips=[f"{d:%a} {d.day} {d:%b}" for d in days],
        stacks=stacks,
        colors=colors,
        x_label="Day published (UTC)",
        y_label="Posts",
    )


def _ranked(posts: Iterable[Mapping[str, Any]]) -> list[tuple[float, Mapping[str, Any]]]:
    """Posts with an engagement figure, highest first (newest first among equals: posts come newest first)."""
    scored = [(e, p) for p in posts if (e := engagement(p.get("metrics") or {})) is not None]
    return sorted(scored, key=lambda item: -item[0])


def engagement_over_time(posts: Sequence[Mapping[str, Any]], colors: Mapping[str, str]) -> Chart:
    title = f"Engagement over time, top {TOP_LINES} posts"
    description = (
        "Lines: likes + comments + shares + saves of each post at each pulled snapshot (UTC); "
        "a post without snapshots is a single point at its last update."
    )
    lines = []
    per_target: Counter[str] = Counter()
    for _, post in _ranked(posts):
        points = [
            (at, value)
            for snapshot in post.get("series") or []
            if (at := _time(snapshot.get("at"))) and (value := engagement(snapshot.get("values") or {})) is not None
        ]
        if not points:
            at = _time(post.get("updated_at")) or _time(post.get("published_at"))
            value = engagement(post.get("metrics") or {})
            points = [(at, value)] if at and value is not None else []
        if not points:
            continue
        target = post["target"]
        dash = charts.DASHES[per_target[target] % len(charts.DASHES)]
        per_target[target] += 1
        lines.append(TimeSeries(f"{_photo(post)} · {target}", colors[target], dash, points))
        if len(lines) == TOP_LINES:
            break
    if not lines:
        message = NO_POSTS if not posts else "No engagement figures yet"
        return charts.empty_chart("engagement-over-time-svg", title, description, message)
    return charts.line_chart("engagement-over-time-svg", title, description, lines, y_label="Engagement")


def top_photos(posts: Sequence[Mapping[str, Any]], colors: Mapping[str, str], uris: Mapping[str, str]) -> list[Chart]:
    by_platform: defaultdict[str, list[tuple[float, Mapping[str, Any]]]] = defaultdict(list)
    for score, post in _ranked(posts):
        by_platform[str(post.get("platform") or post["target"])].append((score, post))
    result = []
    for i, platform in enumerate(sorted(by_platform)):
        rows = [
            PhotoRow(
                label=f"{_photo(post)} · {post['target']}",
                value=score,
                color=colors[post["target"]],
                href=uris.get(str(post.get("asset_id"))),
                tip=f"{_photo(post)} on {post['target']}: engagement {charts.fmt_number(score)}",
            )
            for score, post in by_platform[platform][:TOP_PHOTOS]
        ]
        result.append(
            charts.photo_chart(
                f"top-photos-svg-{i}",
                f"Top photos on {platform}",
                f"Thumbnails and engagement (likes + comments + shares + saves) of the best posts on {platform}.",
                rows,
            )
        )
    if not result:
        message = NO_POSTS if not posts else "No engagement figures yet"
        title = "Top photos per platform"
        return [charts.empty_chart("top-photos-svg-0", title, "Thumbnails of the best posts per platform.", message)]
    return result


def engagement_by_hour(posts: Sequence[Mapping[str, Any]], colors: Mapping[str, str]) -> Chart:
    title = "Engagement by hour posted (UTC)"
    description = "Stacked bars: total engagement of the posts published in each hour of the day, UTC, per target."
    stacks: list[defaultdict[str, float]] = [defaultdict(float) for _ in range(24)]
    counted: Counter[int] = Counter()
    for post in posts:
        at, value = _time(post.get("published_at")), engagement(post.get("metrics") or {})
        if at and value is not None:
            stacks[at.hour][post["target"]] += value
            counted[at.hour] += 1
    if not counted:
        message = NO_POSTS if not posts else "No engagement figures yet"
        return charts.empty_chart("engagement-by-hour-svg", title, description, message)
    return charts.column_chart(
        "engagement-by-hour-svg",
        title,
        description,
        categories=[f"{h:02d}" for h in range(24)],
        tips=[f"{h:02d}:00–{h:02d}:59 UTC ({counted[h]} posts)" for h in range(24)],
        stacks=stacks,
        colors=colors,
        x_label="Hour published (UTC)",
        y_label="Engagement",
    )


def failures_by_reason(failures: Sequence[Mapping[str, Any]], colors: Mapping[str, str]) -> Chart:
    title = "Failures by reason"
    description = "Stacked bars: publications that failed or stayed unconfirmed, by the platform's code, per target."
    stacks: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for failure in failures:
        stacks[str(failure.get("code") or "(no code)")][failure["target"]] += 1
    if not stacks:
        return charts.empty_chart("failures-by-reason-svg", title, description, "No failures in this range")
    codes = sorted(stacks, key=lambda code: (-sum(stacks[code].values()), code))
    return charts.row_chart(
        "failures-by-reason-svg",
        title,
        description,
        categories=codes,
        stacks=[stacks[code] for code in codes],
        colors=colors,
        x_label="Failed publications",
    )


def publish_latency(posts: Sequence[Mapping[str, Any]], colors: Mapping[str, str]) -> Chart:
    title = "Detection to publish"
    description = "Stacked bars: how long after Lightroom's change was detected each photo was published, per target."
    stacks: list[Counter[str]] = [Counter() for _ in LATENCY_LABELS]
    for post in posts:
        seconds = _figure(post.get("seconds_to_publish"))
        if seconds is not None:
            stacks[charts.bucket(seconds, LATENCY_EDGES)][post["target"]] += 1
    if not any(stacks):
        message = NO_POSTS if not posts else "No detection times recorded"
        return charts.empty_chart("publish-latency-svg", title, description, message)
    return charts.column_chart(
        "publish-latency-svg",
        title,
        description,
        categories=LATENCY_LABELS,
        stacks=stacks,
        colors=colors,
        x_label="Time from detection to published",
        y_label="Posts",
    )


# --- The page ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Panel:
    name: str  # the data-chart attribute
    heading: str
    note: str
    charts: list[Chart]
    captions: bool = False  # several charts: show each one's title


@dataclass(frozen=True)
class Cell:
    text: str
    tip: str = ""
    missing: bool = False


@dataclass
class Row:
    published: str
    photo: str
    link: str | None
    target: str
    cells: list[Cell] = field(default_factory=list)
    updated: str = "—"


def _cell(post: Mapping[str, Any], name: str) -> Cell:
    value = _figure((post.get("metrics") or {}).get(name))
    if value is None:
        return Cell("—", (post.get("missing") or {}).get(name) or "not available", missing=True)
    source = (post.get("sources") or {}).get(name)
    return Cell(charts.fmt_number(value), f"from {source}" if source else "")


def _rows(posts: Sequence[Mapping[str, Any]]) -> list[Row]:
    return [
        Row(
            published=_when(_time(post.get("published_at"))),
            photo=_photo(post),
            link=_permalink(post.get("remote_url")),
            target=str(post["target"]),
            cells=[_cell(post, name) for name in TABLE_METRICS],
            updated=_when(_time(post.get("updated_at"))),
        )
        for post in posts
    ]


def _totals(totals: Mapping[str, Mapping[str, Any]]) -> list[tuple[str, list[Cell]]]:
    result = []
    for target in sorted(totals):
        figures = totals[target] or {}
        cells = [
            Cell(charts.fmt_number(v))
            if (v := _figure(figures.get(name))) is not None
            else Cell("—", "no figures", True)
            for name in ("posts", *TABLE_METRICS)
        ]
        result.append((target, cells))
    return result


def _data_uri(jpeg: bytes) -> str | None:
    """A data: URI for JPEG bytes; None for anything else (it would not display as image/jpeg)."""
    if not jpeg.startswith(JPEG_MAGIC):
        return None
    return "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")


@functools.cache
def _template() -> Template:
    env = Environment(autoescape=True, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["px"] = lambda value: f"{value:.1f}".removesuffix(".0")
    return env.from_string(TEMPLATE)


def render(report: Mapping[str, Any], thumbnails: Mapping[str, bytes]) -> str:
    """The report as a self-contained HTML page. `thumbnails` maps asset_id to small JPEG bytes."""
    posts = [p for p in report.get("posts") or [] if p.get("target")]
    failures = [f for f in report.get("failures") or [] if f.get("target")]
    colors = charts.assign_colors((str(x["target"]), str(x.get("platform") or "")) for x in [*posts, *failures])
    uris = {asset: uri for asset, jpeg in thumbnails.items() if (uri := _data_uri(jpeg))}
    span = report.get("range") or {}
    best = top_photos(posts, colors, uris)
    panels = [
        Panel(
            "posts-per-day",
            "Posts per day",
            "Each photo counts once per target it was posted to.",
            [posts_per_day(posts, _days(span, posts), colors)],
        ),
        Panel(
            "engagement-over-time",
            "Engagement over time",
            f"The {TOP_LINES} posts with the most engagement (likes + comments + shares + saves); "
            "the number at a line's end is its rank in the legend.",
            [engagement_over_time(posts, colors)],
        ),
        Panel(
            "top-photos",
            "Top photos per platform",
            f"The {TOP_PHOTOS} posts with the most engagement (likes + comments + shares + saves) on each platform.",
            best,
            captions=not best[0].empty,
        ),
        Panel(
            "engagement-by-hour",
            "Engagement by hour posted",
            "Hours are UTC. Hover a bar for the number of posts.",
            [engagement_by_hour(posts, colors)],
        ),
        Panel(
            "failures-by-reason",
            "Failures by reason",
            "Every publication that failed in this range (a photo posted later, after a fix, still counts here).",
            [failures_by_reason(failures, colors)],
        ),
        Panel(
            "publish-latency",
            "Detection to publish",
            "From the moment a photo's change was seen in Lightroom.",
            [publish_latency(posts, colors)],
        ),
    ]
    return _template().render(
        environment=str(report.get("environment") or ""),
        since=str(span.get("since") or "—"),
        until=str(span.get("until") or "—"),
        generated=_when(_time(report.get("generated_at"))),
        panels=panels,
        totals=_totals(report.get("totals") or {}),
        metrics=TABLE_METRICS,
        rows=_rows(posts),
        failures=len(failures),
    )
