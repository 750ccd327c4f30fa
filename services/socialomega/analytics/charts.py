"""Chart geometry for the HTML analytics report: scales, ticks, stacked bars and polylines.

Everything here is plain numbers and strings (no SVG text, no report parsing): `html.py` turns
the report into series, the builders below turn series into a `Chart` of shapes in pixels, and
the template draws the shapes as they are. Text is escaped by the template, never here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

WIDTH = 720
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 64, 16, 16, 52

# Okabe-Ito: distinguishable with the common colour-vision deficiencies, mid-luminance so that
# each reads on a white page, a dark page and in print. Known platforms keep their colour.
PLATFORM_COLORS = {
    "instagram": "#CC79A7",
    "facebook": "#0072B2",
    "linkedin": "#009E73",
    "x": "#E69F00",
    "rest": "#D55E00",
}
SPARE_COLORS = ("#56B4E9", "#8C6D31", "#7F7F7F", "#6A3D9A", "#B15928")
# Lines of one target differ by dash (and by their rank label); CSS border styles in the legend.
DASHES = (("", "solid"), ("6 4", "dashed"), ("2 3", "dotted"))


def assign_colors(targets: Iterable[tuple[str, str]]) -> dict[str, str]:
    """A colour per target name from (target, platform) pairs: its platform's colour when no
    other target took it first (targets in name order), else the next spare one."""
    pairs = sorted(set(targets))
    colors: dict[str, str] = {}
    for target, platform in pairs:
        color = PLATFORM_COLORS.get(platform)
        if target not in colors and color and color not in colors.values():
            colors[target] = color
    spare = [c for c in SPARE_COLORS + tuple(PLATFORM_COLORS.values()) if c not in colors.values()] or list(
        SPARE_COLORS
    )
    for i, target in enumerate(sorted({t for t, _ in pairs} - colors.keys())):
        colors[target] = spare[i % len(spare)]  # beyond ten targets, colours repeat
    return colors


@dataclass(frozen=True)
class Linear:
    """Maps [lo, hi] onto [start, end] in pixels (end < start for a y axis that grows upwards)."""

    lo: float
    hi: float
    start: float
    end: float

    def __call__(self, value: float) -> float:
        if self.hi == self.lo:
            return self.start
        return self.start + (value - self.lo) * (self.end - self.start) / (self.hi - self.lo)


def nice_ticks(top: float, count: int = 5) -> list[float]:
    """0, step, 2*step, ... up to the first tick >= top, with step 1, 2 or 5 times a power of ten."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    if step < 1 and top >= 1:
        step = 1.0  # counts are integers: no 0.5-post ticks
    n = math.ceil(top / step - 1e-9)
    return [i * step for i in range(n + 1)]


@dataclass(frozen=True)
class Band:
    """`count` equal slots over [start, end]; a bar leaves `padding` (a fraction) of its slot free."""

    count: int
    start: float
    end: float
    padding: float = 0.2

    @property
    def slot(self) -> float:
        return (self.end - self.start) / max(self.count, 1)

    @property
    def width(self) -> float:
        return self.slot * (1 - self.padding)

    def offset(self, i: int) -> float:
        return self.start + i * self.slot + self.slot * self.padding / 2

    def center(self, i: int) -> float:
        return self.start + (i + 0.5) * self.slot


@dataclass(frozen=True)
class Segment:
    """One series' part of a stacked bar, in pixels."""

    x: float
    y: float
    width: float
    height: float
    category: int
    series: str
    value: float


def stacked_columns(
    stacks: Sequence[Mapping[str, float]], order: Sequence[str], band: Band, y: Linear
) -> list[Segment]:
    """Vertical bars: stacks[i] drawn bottom-up in `order`; a zero or absent value draws nothing."""
    segments = []
    for i, stack in enumerate(stacks):
        base = 0.0
        for series in order:
            value = stack.get(series, 0)
            if value <= 0:
                continue
            top, bottom = y(base + value), y(base)
            segments.append(Segment(band.offset(i), top, band.width, bottom - top, i, series, value))
            base += value
    return segments


def stacked_rows(stacks: Sequence[Mapping[str, float]], order: Sequence[str], band: Band, x: Linear) -> list[Segment]:
    """Horizontal bars: stacks[i] drawn left to right in `order`."""
    segments = []
    for i, stack in enumerate(stacks):
        base = 0.0
        for series in order:
            value = stack.get(series, 0)
            if value <= 0:
                continue
            left, right = x(base), x(base + value)
            segments.append(Segment(left, band.offset(i), right - left, band.width, i, series, value))
            base += value
    return segments


def polyline(points: Iterable[tuple[float, float]]) -> str:
    """The `points` attribute of an SVG polyline."""
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in points)


def bucket(value: float, edges: Sequence[float]) -> int:
    """The index of the bucket [edges[i-1], edges[i]) holding value; len(edges) for the last, open one."""
    return next((i for i, edge in enumerate(edges) if value < edge), len(edges))


TIME_STEPS = [timedelta(hours=h) for h in (1, 3, 6, 12, 24, 48, 168)]


def time_ticks(lo: datetime, hi: datetime, max_ticks: int = 8) -> list[datetime]:
    """Round UTC times (whole hours, or midnights for steps of a day or more) within [lo, hi]."""
    step = next((s for s in TIME_STEPS if (hi - lo) / s <= max_ticks), TIME_STEPS[-1])
    lo = lo.astimezone(UTC)
    first = lo.replace(minute=0, second=0, microsecond=0)
    if step >= timedelta(days=1):
        first = first.replace(hour=0)
    else:
        first = first.replace(hour=first.hour - first.hour % int(step.total_seconds() // 3600))
    ticks: list[datetime] = []
    at = first if first >= lo else first + step
    while at <= hi and len(ticks) <= max_ticks:
        ticks.append(at)
        at += step
    return ticks


def fmt_number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


# --- What the template draws -------------------------------------------------------------


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    fill: str
    tip: str  # the tooltip (<title>) of a data mark


@dataclass(frozen=True)
class Line:
    points: str
    stroke: str
    dash: str
    tip: str


@dataclass(frozen=True)
class Dot:
    cx: float
    cy: float
    r: float
    fill: str
    tip: str


@dataclass(frozen=True)
class Picture:
    x: float
    y: float
    size: float
    href: str  # a data: URI, never a network address
    tip: str


@dataclass(frozen=True)
class Text:
    x: float
    y: float
    text: str
    anchor: str = "middle"  # start, middle, end
    kind: str = "tick"  # tick, axis (rotated when vertical), label
    vertical: bool = False


@dataclass(frozen=True)
class Rule:
    """A grid or axis line."""

    x1: float
    y1: float
    x2: float
    y2: float
    kind: str = "grid"  # grid or axis


@dataclass(frozen=True)
class Key:
    """A legend entry: a square for bars, a line (CSS border style) for lines."""

    label: str
    color: str
    line: str = ""  # "", or solid/dashed/dotted


@dataclass
class Chart:
    id: str
    title: str
    description: str
    height: float
    width: float = WIDTH
    empty: str | None = None  # the message drawn instead of marks
    rules: list[Rule] = field(default_factory=list)
    texts: list[Text] = field(default_factory=list)
    rects: list[Rect] = field(default_factory=list)
    placeholders: list[Rect] = field(default_factory=list)  # not data: a missing thumbnail
    lines: list[Line] = field(default_factory=list)
    dots: list[Dot] = field(default_factory=list)
    pictures: list[Picture] = field(default_factory=list)
    legend: list[Key] = field(default_factory=list)


def empty_chart(id: str, title: str, description: str, message: str, height: float = 160) -> Chart:
    return Chart(id, title, description, height, empty=message)


def _value_axis_y(chart: Chart, ticks: list[float], y: Linear, label: str) -> None:
    left, right = MARGIN_LEFT, chart.width - MARGIN_RIGHT
    for tick in ticks:
        chart.rules.append(Rule(left, y(tick), right, y(tick)))
        chart.texts.append(Text(left - 6, y(tick) + 4, fmt_number(tick), anchor="end"))
    chart.rules.append(Rule(left, y(0), right, y(0), kind="axis"))
    mid = (y(0) + y(ticks[-1])) / 2
    chart.texts.append(Text(14, mid, label, kind="axis", vertical=True))


def column_chart(
    id: str,
    title: str,
    description: str,
    categories: Sequence[str],
    stacks: Sequence[Mapping[str, float]],
    colors: Mapping[str, str],
    x_label: str,
    y_label: str,
    tips: Sequence[str] | None = None,
    unit: str = "",
    height: float = 280,
) -> Chart:
    """Stacked columns, one per category (labelled, thinned to about 12 labels); series in
    `colors` order. `tips` names each category in the tooltips (defaults to its label)."""
    chart = Chart(id, title, description, height)
    order = list(colors)
    top = max((sum(s.values()) for s in stacks), default=0)
    ticks = nice_ticks(top)
    y = Linear(0, ticks[-1], height - MARGIN_BOTTOM, MARGIN_TOP)
    band = Band(len(categories), MARGIN_LEFT, chart.width - MARGIN_RIGHT)
    _value_axis_y(chart, ticks, y, y_label)
    every = max(1, math.ceil(len(categories) / 12))
    for i, label in enumerate(categories):
        if i % every == 0:
            chart.texts.append(Text(band.center(i), height - MARGIN_BOTTOM + 16, label))
    chart.texts.append(Text((MARGIN_LEFT + chart.width - MARGIN_RIGHT) / 2, height - 8, x_label, kind="axis"))
    names = tips or categories
    for s in stacked_columns(stacks, order, band, y):
        tip = f"{names[s.category]} · {s.series}: {fmt_number(s.value)}{unit}"
        chart.rects.append(Rect(s.x, s.y, s.width, s.height, colors[s.series], tip))
    chart.legend = [Key(name, colors[name]) for name in order if any(s.get(name) for s in stacks)]
    return chart


def row_chart(
    id: str,
    title: str,
    description: str,
    categories: Sequence[str],
    stacks: Sequence[Mapping[str, float]],
    colors: Mapping[str, str],
    x_label: str,
    unit: str = "",
    label_width: int = 180,
) -> Chart:
    """Stacked horizontal bars, one row per category (label truncated, full text in the tooltip)."""
    row = 28
    height = MARGIN_TOP + row * len(categories) + MARGIN_BOTTOM
    chart = Chart(id, title, description, height)
    order = list(colors)
    top = max((sum(s.values()) for s in stacks), default=0)
    ticks = nice_ticks(top)
    x = Linear(0, ticks[-1], label_width, chart.width - MARGIN_RIGHT)
    band = Band(len(categories), MARGIN_TOP, height - MARGIN_BOTTOM, padding=0.25)
    for tick in ticks:
        chart.rules.append(Rule(x(tick), MARGIN_TOP, x(tick), height - MARGIN_BOTTOM))
        chart.texts.append(Text(x(tick), height - MARGIN_BOTTOM + 16, fmt_number(tick)))
    chart.rules.append(Rule(x(0), MARGIN_TOP, x(0), height - MARGIN_BOTTOM, kind="axis"))
    for i, label in enumerate(categories):
        chart.texts.append(Text(label_width - 8, band.center(i) + 4, truncate(label, 24), anchor="end"))
    chart.texts.append(Text((label_width + chart.width - MARGIN_RIGHT) / 2, height - 8, x_label, kind="axis"))
    for s in stacked_rows(stacks, order, band, x):
        tip = f"{categories[s.category]} · {s.series}: {fmt_number(s.value)}{unit}"
        chart.rects.append(Rect(s.x, s.y, s.width, s.height, colors[s.series], tip))
    chart.legend = [Key(name, colors[name]) for name in order if any(s.get(name) for s in stacks)]
    return chart


@dataclass(frozen=True)
class TimeSeries:
    label: str
    color: str
    dash: tuple[str, str]  # (SVG stroke-dasharray, CSS border style)
    points: Sequence[tuple[datetime, float]]


def line_chart(
    id: str, title: str, description: str, series: Sequence[TimeSeries], y_label: str, height: float = 300
) -> Chart:
    """One line per series over UTC time, a dot on its last point labelled with its rank (1..n),
    so that lines of one colour stay apart in greyscale too."""
    chart = Chart(id, title, description, height)
    times = [at for s in series for at, _ in s.points]
    lo, hi = min(times), max(times)
    if lo == hi:
        lo, hi = lo - timedelta(hours=1), hi + timedelta(hours=1)
    right = chart.width - MARGIN_RIGHT - 16  # room for the rank labels
    x = Linear(lo.timestamp(), hi.timestamp(), MARGIN_LEFT, right)
    ticks = nice_ticks(max((v for s in series for _, v in s.points), default=0))
    y = Linear(0, ticks[-1], height - MARGIN_BOTTOM, MARGIN_TOP)
    _value_axis_y(chart, ticks, y, y_label)
    daily = hi - lo > timedelta(days=2)
    for at in time_ticks(lo, hi):
        label = f"{at:%a} {at.day}" if daily else f"{at:%a %H:%M}"
        chart.rules.append(
            Rule(x(at.timestamp()), height - MARGIN_BOTTOM, x(at.timestamp()), height - MARGIN_BOTTOM + 4)
        )
        chart.texts.append(Text(x(at.timestamp()), height - MARGIN_BOTTOM + 16, label))
    chart.texts.append(Text((MARGIN_LEFT + right) / 2, height - 8, "Time (UTC)", kind="axis"))
    for rank, s in enumerate(series, start=1):
        pixels = [(x(at.timestamp()), y(v)) for at, v in s.points]
        tip = f"{rank}. {s.label}: {fmt_number(s.points[-1][1])} at {s.points[-1][0]:%a %d %b %H:%M} UTC"
        if len(pixels) > 1:
            chart.lines.append(Line(polyline(pixels), s.color, s.dash[0], tip))
        cx, cy = pixels[-1]
        chart.dots.append(Dot(cx, cy, 4, s.color, tip))
        chart.texts.append(Text(cx + 6, cy + 4, str(rank), anchor="start", kind="label"))
    chart.legend = [Key(f"{rank}. {s.label}", s.color, s.dash[1]) for rank, s in enumerate(series, start=1)]
    return chart


@dataclass(frozen=True)
class PhotoRow:
    label: str
    value: float
    color: str
    href: str | None  # the thumbnail's data: URI, None when there is none
    tip: str


def photo_chart(id: str, title: str, description: str, rows: Sequence[PhotoRow], width: float = 520) -> Chart:
    """One row per photo: its thumbnail, then its label over a bar of its value (the value at the
    bar's end). Narrower than the other charts: two fit side by side."""
    size, gap = 48, 10
    chart = Chart(id, title, description, MARGIN_TOP + (size + gap) * len(rows), width=width)
    top = max((r.value for r in rows), default=0) or 1
    bar_left = 8 + size + 12
    x = Linear(0, top, bar_left, width - MARGIN_RIGHT - 48)
    for i, r in enumerate(rows):
        y0 = MARGIN_TOP / 2 + i * (size + gap)
        if r.href:
            chart.pictures.append(Picture(8, y0, size, r.href, r.tip))
        else:
            chart.placeholders.append(Rect(8, y0, size, size, "none", f"{r.tip} (no thumbnail)"))
        chart.rects.append(Rect(bar_left, y0 + 26, max(x(r.value) - bar_left, 1), 16, r.color, r.tip))
        chart.texts.append(Text(bar_left, y0 + 18, truncate(r.label, 56), anchor="start", kind="label"))
        chart.texts.append(Text(x(r.value) + 6, y0 + 39, fmt_number(r.value), anchor="start", kind="label"))
    return chart


def truncate(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"
