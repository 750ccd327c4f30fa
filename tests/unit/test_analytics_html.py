"""The HTML analytics report (analytics/html.py, charts.py): every chart drawn from the report's
figures with the right shapes, empty states, escaping of users' strings, null figures shown as
"—" with their reason, thumbnails embedded without metadata, and nothing loaded from the network.
The page in a real browser: tests/browser."""

from __future__ import annotations

import base64
import io
from collections import defaultdict
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

import pytest
from PIL import Image

from socialomega.analytics import charts
from socialomega.analytics import html as report_html
from socialomega.analytics.html import ThumbnailError, render, thumbnail

CHARTS = [
    "posts-per-day",
    "engagement-over-time",
    "top-photos",
    "engagement-by-hour",
    "failures-by-reason",
    "publish-latency",
]
METRICS = ["likes", "comments", "shares", "saves", "views", "reach", "clicks"]
VOID = {"meta", "link", "br", "img", "input", "hr", "source", "col", "area", "base", "wbr", "embed"}


class Page(HTMLParser):
    """The page's elements as (tag, attributes, chart), chart being the `data-chart` section an
    element is in; its text as (text, chart, parent tag)."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str], str | None]] = []
        self.texts: list[tuple[str, str | None, str]] = []
        self.svg_titles: list[bool] = []  # per svg: does a <title> come first?
        self.cells: list[tuple[dict[str, str], str]] = []  # every <td>: attributes, text
        self._stack: list[tuple[str, str | None]] = []
        self.feed(text)
        self.close()

    def _chart(self, attrs: dict[str, str]) -> str | None:
        return attrs.get("data-chart") or (self._stack[-1][1] if self._stack else None)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        chart = self._chart(a)
        if self.elements and self.elements[-1][0] == "svg":
            self.svg_titles.append(tag == "title")
        self.elements.append((tag, a, chart))
        if tag == "td":
            self.cells.append((a, ""))
        if tag not in VOID:
            self._stack.append((tag, chart))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.elements.append((tag, a, self._chart(a)))

    def handle_endtag(self, tag: str) -> None:
        while self._stack:
            if self._stack.pop()[0] == tag:
                break

    def handle_data(self, data: str) -> None:
        if self._stack and self._stack[-1][0] == "td":
            attrs, text = self.cells[-1]
            self.cells[-1] = (attrs, text + data)
        if self._stack and data.strip():
            self.texts.append((data, self._stack[-1][1], self._stack[-1][0]))

    def marks(self, chart: str, tag: str | None = None) -> list[dict[str, str]]:
        return [
            a
            for t, a, c in self.elements
            if c == chart and "mark" in a.get("class", "").split() and (tag is None or t == tag)
        ]

    def tips(self, chart: str) -> list[str]:
        return [text for text, c, parent in self.texts if c == chart and parent == "title"]

    def text(self, chart: str | None = None) -> str:
        return " ".join(text for text, c, _ in self.texts if chart is None or c == chart)


def _post(asset: str, target: str, published: str, **overrides: Any) -> dict[str, Any]:
    platform = {"portfolio": "rest"}.get(target, target)
    post: dict[str, Any] = {
        "asset_id": asset,
        "target": target,
        "platform": platform,
        "title": f"Photo {asset}",
        "remote_id": f"r-{asset}-{target}",
        "remote_url": f"https://{platform}.example/p/{asset}",
        "published_at": published,
        "detected_at": None,
        "seconds_to_publish": 7.0,
        "metrics": dict.fromkeys(METRICS, 1) | {"likes": 10},
        "sources": dict.fromkeys(METRICS, "pull"),
        "missing": {},
        "updated_at": "2026-12-03T19:00:00+00:00",
        "series": [],
        "thumbnail_key": None,
    }
    return post | overrides


def _series(*points: tuple[str, int]) -> list[dict[str, Any]]:
    return [{"at": at, "values": {"likes": likes, "views": likes * 10}} for at, likes in points]


def _report(posts: list[dict[str, Any]], failures: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "environment": "local",
        "generated_at": "2026-12-03T19:20:00+00:00",
        "range": {"since": "2026-11-26", "until": "2026-12-03"},
        "metrics": METRICS,
        "posts": posts,
        "failures": failures or [],
        "totals": {},
    }


def _jpeg(size: tuple[int, int] = (64, 48), **save: Any) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 120, 40)).save(buf, format="JPEG", **save)
    return buf.getvalue()


@pytest.fixture(scope="module")
def sample() -> dict[str, Any]:
    posts = [
        _post(
            "a1",
            "instagram",
            "2026-12-02T09:00:05+00:00",
            series=_series(("2026-12-02T10:00:00+00:00", 3), ("2026-12-02T12:00:00+00:00", 9)),
            seconds_to_publish=3.2,
        ),
        _post("a1", "x", "2026-12-01T09:00:09+00:00", seconds_to_publish=11.0),
        _post("a2", "instagram", "2026-11-28T18:30:00+00:00", seconds_to_publish=400.0),
        _post("a3", "portfolio", "2026-11-28T18:45:00+00:00", seconds_to_publish=None),
    ]
    failures = [
        {"asset_id": "a4", "target": "x", "platform": "x", "status": "failed", "code": "rate_limited", "at": "x"},
        {"asset_id": "a5", "target": "x", "platform": "x", "status": "failed", "code": "rate_limited", "at": "x"},
        {"asset_id": "a5", "target": "instagram", "platform": "instagram", "status": "unconfirmed", "code": "timeout"},
    ]
    return _report(posts, failures)


@pytest.fixture(scope="module")
def sample_page(sample) -> Page:
    return Page(render(sample, {"a1": _jpeg(), "a2": _jpeg()}))


def test_every_chart_is_drawn_from_the_figures(sample_page):
    page = sample_page
    sections = [a["data-chart"] for _, a, _ in page.elements if "data-chart" in a]
    assert sections == CHARTS
    # One bar segment per (day, target) that had posts.
    assert {
        "Sat 28 Nov · instagram: 1",
        "Sat 28 Nov · portfolio: 1",
        "Tue 1 Dec · x: 1",
        "Wed 2 Dec · instagram: 1",
    } <= set(page.tips("posts-per-day"))
    assert len(page.marks("posts-per-day", "rect")) == 4
    # Four posts with engagement: the one with a series is a line, the others single points.
    assert len(page.marks("engagement-over-time", "polyline")) == 1
    assert len(page.marks("engagement-over-time", "circle")) == 4
    # Top photos: one chart per platform, a bar per post, a thumbnail per photo we have.
    assert len([1 for t, _, c in page.elements if t == "svg" and c == "top-photos"]) == 3
    assert len(page.marks("top-photos", "rect")) == 4
    assert len([1 for t, _, c in page.elements if t == "image" and c == "top-photos"]) == 3
    assert any(tip.startswith("09:00–09:59 UTC") for tip in page.tips("engagement-by-hour"))
    assert {"rate_limited · x: 2", "timeout · instagram: 1"} <= set(page.tips("failures-by-reason"))
    assert {"< 5 s · instagram: 1", "5–15 s · x: 1", "5–15 min · instagram: 1"} <= set(page.tips("publish-latency"))
    assert "No posts in this range" not in page.text()


def test_every_svg_is_labelled_for_assistive_technology(sample_page):
    svgs = [a for t, a, _ in sample_page.elements if t == "svg"]
    ids = {a["id"] for _, a, _ in sample_page.elements if "id" in a}
    assert len(svgs) == len(sample_page.svg_titles) == 8 and all(sample_page.svg_titles)
    for svg in svgs:
        assert svg["role"] == "img"
        assert set(svg["aria-labelledby"].split()) <= ids
    assert "Hour published (UTC)" in sample_page.text("engagement-by-hour")


def test_stacked_bars_measure_the_counts(sample_page):
    """posts-per-day: the two posts of Sat 28 Nov stack to twice the height of Tue 1's and Wed 2's one."""
    bars: defaultdict[str, float] = defaultdict(float)
    for rect in sample_page.marks("posts-per-day", "rect"):
        bars[rect["x"]] += float(rect["height"])
    one, other, two = sorted(bars.values())
    assert one == pytest.approx(other) and two == pytest.approx(2 * one) and one > 20


@pytest.mark.parametrize("report", [_report([]), {}], ids=["no posts", "nothing at all"])
def test_an_empty_report_draws_each_charts_empty_state(report):
    page = Page(render(report, {}))
    for chart in CHARTS:
        expected = "No failures in this range" if chart == "failures-by-reason" else "No posts in this range"
        assert expected in page.text(chart), chart
        assert [t for t, _, c in page.elements if t == "svg" and c == chart], chart
        assert not page.marks(chart), chart
    assert "No posts in this range." in page.text()  # the posts table


def test_posts_without_any_engagement_figure_say_so_instead_of_zero():
    none = dict.fromkeys(METRICS)
    page = Page(render(_report([_post("a1", "x", "2026-12-02T09:00:00+00:00", metrics=none)]), {}))
    for chart in ("engagement-over-time", "top-photos", "engagement-by-hour"):
        assert "No engagement figures yet" in page.text(chart)
        assert not page.marks(chart)
    assert page.marks("posts-per-day")  # the post itself still counts


HOSTILE = ["<script>alert(1)</script>", '"><svg onload=alert(1)>', "'><img src=x onerror=alert(1)>"]


@pytest.mark.parametrize("payload", HOSTILE)
def test_users_strings_are_escaped_everywhere(payload):
    post = _post(
        payload,
        payload,
        "2026-12-02T09:00:00+00:00",
        title=payload,
        platform=payload,
        remote_url="javascript:alert(1)",
        missing={"shares": payload},
        metrics=dict.fromkeys(METRICS, 2) | {"shares": None},
    )
    failure = {"asset_id": payload, "target": payload, "platform": payload, "code": payload, "message": payload}
    report = _report([post], [failure]) | {"environment": payload, "totals": {payload: {"posts": 1}}}
    out = render(report, {payload: _jpeg()})
    page = Page(out)
    assert payload not in out
    assert not [t for t, _, _ in page.elements if t in ("script", "img", "iframe", "object", "embed")]
    assert not [(t, k) for t, a, _ in page.elements for k in a if k.startswith("on")]
    assert len([t for t, _, _ in page.elements if t == "svg"]) == 6  # none made by the payload
    assert not [a for t, a, _ in page.elements if t == "a"]  # javascript: is not a link
    assert payload in page.text()  # shown as text, not dropped
    assert any(a.get("title") == payload for t, a, _ in page.elements if t == "td")


def test_null_figures_show_a_dash_with_the_reason_never_zero():
    post = _post(
        "a1",
        "facebook",
        "2026-12-02T09:00:00+00:00",
        metrics=dict.fromkeys(METRICS, 5) | {"shares": None, "reach": None, "views": 0},
        missing={"shares": "no permission: pages_read_engagement"},
    )
    cells = Page(render(_report([post]), {})).cells
    assert ({"class": "num missing", "title": "no permission: pages_read_engagement"}, "—") in cells
    assert ({"class": "num missing", "title": "not available"}, "—") in cells  # reach: no reason given
    assert ({"class": "num", "title": "from pull"}, "0") in cells  # a real 0 stays 0
    assert sum(text == "—" for _, text in cells) == 2


def test_thumbnails_are_embedded_as_data_uris_and_only_jpegs():
    jpeg = _jpeg()
    report = _report([_post("a1", "x", "2026-12-02T09:00:00+00:00"), _post("a2", "x", "2026-12-02T10:00:00+00:00")])
    page = Page(render(report, {"a1": jpeg, "a2": b"<svg onload=alert(1)>"}))
    images = [a["href"] for t, a, _ in page.elements if t == "image"]
    assert images == ["data:image/jpeg;base64," + base64.b64encode(jpeg).decode()]
    assert len([1 for t, a, _ in page.elements if t == "rect" and a.get("class") == "placeholder"]) == 1


def test_the_page_loads_nothing_from_the_network(sample_page, sample):
    out = render(sample, {"a1": _jpeg()})
    for tag, attrs, _ in Page(out).elements:
        assert tag not in ("script", "iframe", "object", "embed", "base")
        for name in ("src", "href", "srcset", "poster", "data", "action", "xlink:href", "background"):
            value = attrs.get(name)
            if value is None:
                continue
            if tag == "a":  # links to the posts: followed only when clicked
                assert value.startswith("https://"), value
            else:
                assert value.startswith("data:"), (tag, name, value)
    assert "url(" not in out and "@import" not in out
    assert "default-src 'none'; img-src data:; style-src 'unsafe-inline'" in out


# --- thumbnail() ---------------------------------------------------------------------------


def _with_exif(size: tuple[int, int] = (400, 300), orientation: int = 1) -> bytes:
    image = Image.new("RGB", size, (10, 120, 200))
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "CameraMaker"
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (48.0, 51.0, 29.0), 3: "E", 4: (2.0, 17.0, 40.0)})
    buf = io.BytesIO()
    image.save(buf, format="JPEG", exif=exif, comment=b"secret location notes")
    return buf.getvalue()


def test_thumbnail_strips_exif_gps_and_comments():
    original = _with_exif()
    with Image.open(io.BytesIO(original)) as image:
        assert image.getexif().get_ifd(0x8825)  # the test photo does carry GPS
    small = thumbnail(original, size=160)
    with Image.open(io.BytesIO(small)) as image:
        assert image.format == "JPEG" and max(image.size) == 160
        assert not image.getexif() and not image.getexif().get_ifd(0x8825)
        assert not {"exif", "comment", "icc_profile", "xmp"} & set(image.info)
    assert b"Exif" not in small and b"secret" not in small and b"CameraMaker" not in small


def test_thumbnail_turns_the_photo_upright():
    with Image.open(io.BytesIO(thumbnail(_with_exif((400, 200), orientation=6), size=100))) as image:
        assert image.size == (50, 100)  # orientation 6: rotated 90 degrees


def test_thumbnail_refuses_too_many_pixels_before_decoding(monkeypatch):
    monkeypatch.setattr(report_html, "MAX_PIXELS", 20 * 20 - 1)
    with pytest.raises(ThumbnailError, match="over the 0 MP limit"):
        thumbnail(_jpeg((20, 20)))
    assert thumbnail(_jpeg((19, 21)))  # 399 px: allowed


@pytest.mark.parametrize("data", [b"", b"not an image", b"\xff\xd8\xff\xe0 truncated"])
def test_thumbnail_refuses_what_is_not_a_jpeg(data):
    with pytest.raises(ThumbnailError):
        thumbnail(data)


def test_thumbnail_refuses_other_formats():
    buf = io.BytesIO()
    Image.new("RGB", (10, 10)).save(buf, format="PNG")
    with pytest.raises(ThumbnailError, match="not a readable JPEG"):
        thumbnail(buf.getvalue())


# --- charts.py geometry --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("top", "ticks"),
    [(0, [0, 1]), (3, [0, 1, 2, 3]), (7, [0, 2, 4, 6, 8]), (143, [0, 50, 100, 150]), (0.3, [0, 0.1, 0.2, 0.3])],
)
def test_nice_ticks(top, ticks):
    assert charts.nice_ticks(top) == pytest.approx(ticks)


def test_linear_scale_maps_and_inverts_for_y():
    y = charts.Linear(0, 10, 200, 0)  # y grows upwards
    assert (y(0), y(5), y(10)) == (200, 100, 0)
    assert charts.Linear(3, 3, 50, 100)(3) == 50  # a flat domain does not divide by zero


def test_stacked_columns_stack_in_order_and_skip_zeros():
    band = charts.Band(2, 0, 100, padding=0)
    y = charts.Linear(0, 10, 100, 0)
    segments = charts.stacked_columns([{"a": 2, "b": 3}, {"b": 0, "a": 5}], ["a", "b"], band, y)
    assert [(s.series, s.x, s.y, s.height) for s in segments] == [
        ("a", 0, 80, 20),
        ("b", 0, 50, 30),  # on top of a
        ("a", 50, 50, 50),  # b's 0 draws nothing
    ]
    rows = charts.stacked_rows(
        [{"a": 2, "b": 3}], ["a", "b"], charts.Band(1, 0, 10, padding=0), charts.Linear(0, 5, 0, 100)
    )
    assert [(s.x, s.width) for s in rows] == [(0, 40), (40, 60)]


def test_polyline_bucket_truncate():
    assert charts.polyline([(1, 2), (3.25, 4.04)]) == "1.0,2.0 3.2,4.0"
    edges = (5, 15, 60)
    assert [charts.bucket(v, edges) for v in (0, 4.9, 5, 59.9, 60, 10_000)] == [0, 0, 1, 2, 3, 3]
    assert charts.truncate("abcdef", 4) == "abc…" and charts.truncate("abc", 4) == "abc"


def test_time_ticks_are_round_and_inside_the_range():
    lo, hi = (datetime(2026, 11, 26, 7, 30, tzinfo=UTC), datetime(2026, 12, 3, 19, 0, tzinfo=UTC))
    ticks = charts.time_ticks(lo, hi)
    assert ticks[0] == datetime(2026, 11, 27, tzinfo=UTC) and all(lo <= t <= hi for t in ticks)
    assert {(t.hour, t.minute) for t in ticks} == {(0, 0)} and len(ticks) <= 8
    hourly = charts.time_ticks(lo, datetime(2026, 11, 26, 13, 0, tzinfo=UTC))
    assert hourly == [datetime(2026, 11, 26, h, tzinfo=UTC) for h in range(8, 14)]


def test_target_colours_are_fixed_per_platform_and_distinct():
    colors = charts.assign_colors([("instagram", "instagram"), ("shop", "rest"), ("blog", "rest"), ("x", "x")])
    assert colors["instagram"] == charts.PLATFORM_COLORS["instagram"]
    assert colors["x"] == charts.PLATFORM_COLORS["x"]
    assert colors["blog"] == charts.PLATFORM_COLORS["rest"]  # first by name
    assert colors["shop"] == charts.SPARE_COLORS[0]
    assert len(set(colors.values())) == 4
    assert charts.assign_colors([("x", "x"), ("instagram", "instagram")]) == {
        "instagram": colors["instagram"],
        "x": colors["x"],
    }
