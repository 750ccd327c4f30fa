"""The analytics HTML report in real headless Chromium, over the DevTools protocol (cdp.py).

What a unit test cannot see: that the browser lays every chart out at a real size with its
shapes, decodes the embedded thumbnails, reports no console error or exception (a CSP violation
would be one), requests nothing but the file itself, and keeps the charts in dark mode and print.
The full page is captured to .build/analytics-report.png (a CI artifact).

Run: .venv/bin/python -m pytest -c tests/pytest.ini -m browser tests/browser
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from socialomega.analytics.html import render
from tests.browser.cdp import Chromium
from tests.browser.conftest import BUILD, sample_thumbnails

pytestmark = pytest.mark.browser

CHARTS = {
    "posts-per-day",
    "engagement-over-time",
    "top-photos",
    "engagement-by-hour",
    "failures-by-reason",
    "publish-latency",
}

# Per [data-chart]: its box, its svgs' boxes, its data marks (class "mark") and its text.
CHART_BOXES = """
[...document.querySelectorAll('[data-chart]')].map(el => {
  const box = el.getBoundingClientRect();
  const svgs = [...el.querySelectorAll('svg')];
  return {
    name: el.dataset.chart, width: box.width, height: box.height,
    svgs: svgs.map(s => { const b = s.getBoundingClientRect(); return [b.width, b.height]; }),
    marks: el.querySelectorAll(':is(rect, path, polyline, circle).mark').length,
    text: el.innerText + ' ' + svgs.map(s => s.textContent).join(' '),
  };
})
"""

# Each embedded thumbnail decoded by the browser: its natural width (0 = not an image).
THUMBNAILS_DECODED = """
Promise.all([...document.querySelectorAll('svg image')].map(async el => {
  const img = new Image();
  img.src = el.getAttribute('href');
  await img.decode();
  return img.naturalWidth;
}))
"""


@dataclass
class Page:
    browser: Chromium
    session: str
    url: str

    def evaluate(self, expression: str, promise: bool = False) -> Any:
        reply = self.browser.call(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": promise},
            session=self.session,
        )
        assert "exceptionDetails" not in reply, reply["exceptionDetails"]
        return reply["result"]["value"]

    def events(self, *methods: str) -> list[dict[str, Any]]:
        return [e for e in self.browser.events if e.get("sessionId") == self.session and e["method"] in methods]


@contextmanager
def open_page(browser: Chromium, path: Path) -> Iterator[Page]:
    """A new tab with Page, Runtime, Log and Network enabled, loaded from `path`."""
    target = browser.call("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = browser.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    for domain in ("Page", "Runtime", "Log", "Network"):
        browser.call(f"{domain}.enable", session=session)
    viewport = {"width": 1200, "height": 900, "deviceScaleFactor": 1, "mobile": False}
    browser.call("Emulation.setDeviceMetricsOverride", viewport, session=session)
    browser.call("Page.navigate", {"url": path.as_uri()}, session=session)
    browser.wait_for("Page.loadEventFired", session=session, timeout=20)
    browser.drain(0.5)  # late console messages or requests
    try:
        yield Page(browser, session, path.as_uri())
    finally:
        browser.call("Target.closeTarget", {"targetId": target})


@pytest.fixture(scope="module")
def page(chromium: Chromium, sample_report: dict[str, Any]) -> Iterator[Page]:
    path = BUILD / "analytics-report-sample.html"
    path.write_text(render(sample_report, sample_thumbnails(sample_report)), encoding="utf-8")
    with open_page(chromium, path) as loaded:
        yield loaded


def test_every_chart_is_laid_out_with_shapes(page):
    charts = page.evaluate(CHART_BOXES)
    assert {c["name"] for c in charts} == CHARTS
    for chart in charts:
        assert chart["width"] > 300 and chart["height"] > 100, chart["name"]
        assert chart["svgs"] and all(w > 300 and h > 40 for w, h in chart["svgs"]), chart["name"]
        assert chart["marks"] > 0, f"{chart['name']} has no data marks"
        assert "No posts in this range" not in chart["text"]


def test_thumbnails_are_decoded_from_data_uris(page, sample_report):
    widths = page.evaluate(THUMBNAILS_DECODED, promise=True)
    platforms = {p["platform"] for p in sample_report["posts"]}
    assert len(widths) >= len(platforms)  # at least the best photo of each platform
    assert all(width == 160 for width in widths)


def test_no_console_error_or_exception(page):
    exceptions = page.events("Runtime.exceptionThrown")
    console = [e for e in page.events("Runtime.consoleAPICalled") if e["params"]["type"] in ("error", "assert")]
    logged = [e for e in page.events("Log.entryAdded") if e["params"]["entry"]["level"] == "error"]
    assert not (exceptions or console or logged), exceptions + console + logged


def test_nothing_is_requested_but_the_file(page):
    requested = {e["params"]["request"]["url"] for e in page.events("Network.requestWillBeSent")}
    assert {url for url in requested if not url.startswith("data:")} == {page.url}
    # The hostile caption is text, not an element.
    assert page.evaluate("document.querySelectorAll('img, script, iframe, object, embed').length") == 0
    assert page.evaluate("document.body.innerText.includes('<img src=\"https://example.invalid/x.png\"')")


def test_full_page_screenshot(page):
    size = page.browser.call("Page.getLayoutMetrics", session=page.session)["cssContentSize"]
    clip = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
    shot = page.browser.call(
        "Page.captureScreenshot",
        {"format": "png", "clip": clip, "captureBeyondViewport": True},
        session=page.session,
        timeout=30,
    )
    png = base64.b64decode(shot["data"])
    (BUILD / "analytics-report.png").write_bytes(png)
    with Image.open(io.BytesIO(png)) as image:
        assert image.size == (round(size["width"]), round(size["height"]))
        assert image.height > 2000  # header, six charts and the posts table
        assert len(image.convert("RGB").getcolors(1 << 20) or []) > 50  # not a blank page


@pytest.mark.parametrize("media", ["dark", "print"])
def test_charts_stay_readable_in_dark_mode_and_print(page, media):
    emulated = {"features": [{"name": "prefers-color-scheme", "value": "dark"}]} if media == "dark" else {}
    if media == "print":
        emulated["media"] = "print"
    page.browser.call("Emulation.setEmulatedMedia", emulated, session=page.session)
    try:
        charts = page.evaluate(CHART_BOXES)
        colors = page.evaluate(
            "[getComputedStyle(document.body).backgroundColor,"
            " getComputedStyle(document.querySelector('svg text')).fill]"
        )
    finally:
        page.browser.call("Emulation.setEmulatedMedia", {"media": "", "features": []}, session=page.session)
    assert all(c["width"] > 300 and c["height"] > 100 and c["marks"] > 0 for c in charts)
    background, text = (_luminance(c) for c in colors)
    if media == "dark":
        assert background < 0.2 and text > 0.7, colors
    else:
        assert text < 0.05 and background > 0.95, colors


def test_empty_report_shows_each_charts_empty_state(chromium):
    path = BUILD / "analytics-report-empty.html"
    empty = {"generated_at": "2026-12-03T19:20:00+00:00", "range": {"since": "2026-11-26", "until": "2026-12-03"}}
    path.write_text(render(empty, {}), encoding="utf-8")
    with open_page(chromium, path) as page:
        charts = page.evaluate(CHART_BOXES)
        assert {c["name"] for c in charts} == CHARTS
        for chart in charts:
            assert chart["width"] > 300 and all(w > 300 and h > 50 for w, h in chart["svgs"]), chart["name"]
            assert chart["marks"] == 0
            assert "No posts in this range" in chart["text"] or "No failures in this range" in chart["text"]
        assert not page.events("Runtime.exceptionThrown")


def _luminance(css: str) -> float:
    """Relative luminance (0 black .. 1 white) of an rgb()/rgba() colour."""
    r, g, b = (int(v) / 255 for v in css[css.index("(") + 1 : css.index(")")].split(",")[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b
