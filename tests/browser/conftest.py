"""The browser tier: the analytics HTML report opened in real headless Chromium.

`sample_report` is a realistic week (the shape of analytics/report.py's `build_report`): five
targets, photos posted to several of them, hourly pulled snapshots, webhook-only posts with no
series, figures a platform does not give (null with a reason), failures, and thumbnails made
with Pillow. One caption is hostile: unescaped, it would fetch from the network or run script,
which the browser test would see.
"""

from __future__ import annotations

import io
import random
import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw

from tests.browser.cdp import Chromium

CHROMIUM = "/usr/bin/chromium"
BUILD = Path(__file__).resolve().parents[2] / ".build"

GENERATED = datetime(2026, 12, 3, 19, 20, tzinfo=UTC)
SINCE = GENERATED.replace(hour=0, minute=0) - timedelta(days=7)
METRICS = ["likes", "comments", "shares", "saves", "views", "reach", "clicks"]
# target -> (platform, metrics it never gives, with the reason the report carries)
TARGETS: dict[str, tuple[str, dict[str, str]]] = {
    "instagram": ("instagram", {"shares": "not offered for images", "clicks": "not offered by instagram"}),
    "facebook": ("facebook", {"saves": "not offered by facebook", "reach": "no permission: read_insights"}),
    "x": ("x", {"saves": "not offered by x", "reach": "not offered by x"}),
    "linkedin": ("linkedin", {"saves": "not offered by linkedin", "views": "no permission: r_organization_social"}),
    "portfolio": ("rest", {m: "not offered by rest" for m in METRICS if m not in ("likes", "clicks")}),
}
TITLES = [
    "Sunrise over the harbour",
    "Fog on the ridge",
    "Market at dusk",
    "Heron, low tide",
    "Old town in the rain",
    '<img src="https://example.invalid/x.png" onerror="alert(1)">Night ferry',
    "Lighthouse, long exposure",
    None,  # a photo without caption: shown by its asset id
    "Frost on the pier",
    "Blue hour skyline",
]


def _figures(rng: random.Random, hours: float, weight: float) -> dict[str, int]:
    """Engagement that grows fast at first, then levels off."""
    growth = weight * (1 - 0.5 ** (hours / 6))
    views = int(800 * growth)
    return {
        "likes": int(60 * growth),
        "comments": int(9 * growth),
        "shares": int(5 * growth),
        "saves": int(7 * growth),
        "views": views,
        "reach": int(views * 0.8),
        "clicks": int(12 * growth) + rng.randint(0, 2),
    }


def _post(rng: random.Random, asset: str, title: str | None, target: str, published: datetime) -> dict[str, Any]:
    platform, never = TARGETS[target]
    weight = rng.uniform(0.3, 2.0)
    age = (GENERATED - published).total_seconds() / 3600
    pulled = target != "portfolio"  # the REST target only reports by webhook: no series
    series = []
    if pulled:
        for hour in range(1, min(int(age), 48) + 1, 2):
            values = _figures(rng, hour, weight)
            series.append(
                {
                    "at": (published + timedelta(hours=hour)).isoformat(),
                    "values": {k: v for k, v in values.items() if k not in never},
                }
            )
    latest = _figures(rng, age, weight)
    metrics: dict[str, Any] = {m: (None if m in never else latest[m]) for m in METRICS}
    updated = published + timedelta(hours=min(age, 48)) if series else published + timedelta(hours=age * 0.7)
    seconds = round(rng.choice([rng.uniform(2, 14), rng.uniform(20, 90), rng.uniform(200, 2000)]), 1)
    return {
        "asset_id": asset,
        "target": target,
        "platform": platform,
        "title": title,
        "remote_id": f"{target}-{asset}",
        "remote_url": f"https://{platform}.example.invalid/p/{asset}" if target != "portfolio" else None,
        "published_at": published.isoformat(),
        "detected_at": (published - timedelta(seconds=seconds)).isoformat(),
        "seconds_to_publish": seconds,
        "metrics": metrics,
        "sources": {m: ("pull" if pulled else "webhook") for m, v in metrics.items() if v is not None},
        "missing": dict(never),
        "updated_at": updated.isoformat(),
        "series": series,
        "thumbnail_key": f"processed/{asset}/v1/{target}.jpg",
    }


def build_sample_report(seed: int = 7) -> dict[str, Any]:
    rng = random.Random(seed)
    posts = []
    for i, title in enumerate(TITLES):
        asset = f"a{i:02d}{rng.randrange(16**6):06x}"
        detected = SINCE + timedelta(days=i * 0.72, hours=rng.randint(6, 20), minutes=rng.randint(0, 59))
        for target in rng.sample(sorted(TARGETS), rng.randint(2, 5)):
            posts.append(_post(rng, asset, title, target, detected + timedelta(seconds=rng.uniform(2, 40))))
    posts.sort(key=lambda p: p["published_at"], reverse=True)
    failures = [
        {"asset_id": posts[1]["asset_id"], "target": "x", "platform": "x", "status": "failed", "code": "rate_limited"},
        {"asset_id": posts[4]["asset_id"], "target": "x", "platform": "x", "status": "failed", "code": "rate_limited"},
        {"asset_id": posts[6]["asset_id"], "target": "instagram", "platform": "instagram", "status": "failed"},
        {"asset_id": posts[9]["asset_id"], "target": "linkedin", "platform": "linkedin", "status": "unconfirmed"},
    ]
    codes = ["rate_limited", "rate_limited", "meta:190", "timeout"]
    for failure, code, days in zip(failures, codes, (1, 2, 3, 5), strict=True):
        failure |= {
            "code": code,
            "message": f"{code} from the platform",
            "at": (GENERATED - timedelta(days=days)).isoformat(),
        }
    totals: dict[str, dict[str, int]] = {}
    for post in posts:
        total = totals.setdefault(post["target"], {"posts": 0})
        total["posts"] += 1
        for name, value in post["metrics"].items():
            if value is not None:
                total[name] = total.get(name, 0) + value
    return {
        "environment": "local",
        "generated_at": GENERATED.isoformat(),
        "range": {"since": SINCE.date().isoformat(), "until": GENERATED.date().isoformat()},
        "metrics": METRICS,
        "posts": posts,
        "failures": failures,
        "totals": totals,
    }


def sample_thumbnails(report: dict[str, Any]) -> dict[str, bytes]:
    """A 160 px JPEG per asset: a gradient and a sun, a different hue for each photo."""
    thumbnails = {}
    for i, asset in enumerate(sorted({p["asset_id"] for p in report["posts"]})):
        image = Image.new("RGB", (160, 120))
        draw = ImageDraw.Draw(image)
        for y in range(120):
            draw.line([(0, y), (160, y)], fill=((40 + 20 * i + y) % 256, 90 + y // 2, (200 - 15 * i) % 256))
        draw.ellipse([100 - 4 * i, 20, 130 - 4 * i, 50], fill=(255, 220, 120))
        buf = io.BytesIO()
        image.save(buf, format="JPEG", quality=80)
        thumbnails[asset] = buf.getvalue()
    return thumbnails


@pytest.fixture(scope="session")
def sample_report() -> dict[str, Any]:
    return build_sample_report()


@pytest.fixture(scope="session")
def chromium() -> Iterator[Chromium]:
    if not Path(CHROMIUM).exists():
        # Not a skip: `make test-browser` installs it (`make chromium`), so its absence is a failure.
        pytest.fail(f"{CHROMIUM} is not installed: run `make chromium` (Debian's chromium package)")
    profile = tempfile.mkdtemp(prefix="so-chromium-")
    BUILD.mkdir(exist_ok=True)
    try:
        with Chromium(CHROMIUM, profile, log_path=BUILD / "chromium.log") as browser:
            yield browser
    finally:
        shutil.rmtree(profile, ignore_errors=True)
