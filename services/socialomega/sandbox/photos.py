"""Deterministic generated photos for the sandbox Lightroom catalog.

`generate_photos(seed)` returns a list of `SeedPhoto`: master JPEG bytes made with Pillow
plus the metadata the fake Lightroom API reports for them. The same seed always gives the
same photos (pixels, EXIF, titles, capture dates, ids), so tests can rely on them.

What the set exercises downstream:
- sizes from 1200x800 up to 6000x4000 and a 4:1 panorama (6000x1500);
- aspect ratios 3:2, 2:3, 1:1, 16:9, 9:16, 4:5, 4:1;
- EXIF Orientation 1, 2, 3, 5, 6, 8: the *displayed* image always has a red top-left
  quadrant, a green top-right, a blue bottom-left and a white bottom-right one, so a test can
  check that autorotation was done (`ImageOps.exif_transpose(img).getpixel((5, 5))` is red);
- GPS IFD on some photos (must be stripped before publishing), camera Make/Model/Lens and
  exposure EXIF on most, an sRGB ICC profile on some;
- titles (one with non-ASCII text, one empty), descriptions (one longer than 280 characters),
  keywords (some carry `publish`);
- album membership: most photos are in the "Publish" album; a few are not;
- two photos share a capture date (a burst), which exercises Lightroom's rule that a page may
  hold more than `limit` assets when the boundary assets share a capture date;
- optionally a corrupt asset: a JPEG truncated in the middle of its entropy-coded data.
"""

from __future__ import annotations

import functools
import hashlib
import io
import random
import struct
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from PIL import Image, ImageCms, ImageDraw

PUBLISH_ALBUM = "Publish"
OTHER_ALBUM = "Archive"
PUBLISH_KEYWORD = "publish"

# Inverse of what ImageOps.exif_transpose applies for each EXIF orientation: stored pixels =
# INVERSE[o](displayed pixels), so that exif_transpose(stored) == displayed.
_INVERSE = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}

QUADRANT_COLOURS = {
    "top_left": (220, 30, 30),
    "top_right": (30, 200, 60),
    "bottom_left": (30, 60, 220),
    "bottom_right": (240, 240, 240),
}


@dataclass(frozen=True)
class _Spec:
    width: int  # displayed (upright) size
    height: int
    orientation: int
    camera: tuple[str, str, str] | None  # make, model, lens
    gps: tuple[float, float, str] | None  # latitude, longitude, city
    in_album: bool
    icc: bool = False


_CAMERAS = [
    ("Canon", "Canon EOS R5", "RF24-70mm F2.8 L IS USM"),
    ("SONY", "ILCE-7M4", "FE 24-105mm F4 G OSS"),
    ("NIKON CORPORATION", "NIKON Z 6_2", "NIKKOR Z 24-70mm f/4 S"),
    ("FUJIFILM", "X-T5", "XF16-55mmF2.8 R LM WR"),
    ("Apple", "iPhone 15 Pro", "iPhone 15 Pro back triple camera 6.86mm f/1.78"),
]

_PLACES = [
    (52.520008, 13.404954, "Berlin"),
    (48.856613, 2.352222, "Paris"),
    (47.376888, 8.541694, "Zürich"),
    (-33.868820, 151.209296, "Sydney"),
    (40.712776, -74.005974, "New York"),
    (35.676192, 139.650311, "Tokyo"),
]

# Twelve photos; sizes are the displayed size. Kept small enough that seeding takes ~1-2 s.
_SPECS = [
    _Spec(3000, 2000, 1, _CAMERAS[0], _PLACES[0], True, icc=True),  # 3:2
    _Spec(2000, 3000, 6, _CAMERAS[1], _PLACES[1], True),  # 2:3, stored sideways
    _Spec(1600, 1600, 1, _CAMERAS[3], None, True),  # 1:1
    _Spec(1920, 1080, 3, _CAMERAS[4], _PLACES[4], True),  # 16:9, stored upside down
    _Spec(1080, 1920, 8, _CAMERAS[4], _PLACES[5], True),  # 9:16, stored sideways
    _Spec(6000, 1500, 1, _CAMERAS[2], _PLACES[3], True),  # 4:1 panorama
    _Spec(6000, 4000, 1, _CAMERAS[2], _PLACES[2], True, icc=True),  # 24 MP 3:2
    _Spec(1200, 800, 1, None, None, False),  # small, no camera EXIF, not in the album
    _Spec(1600, 2000, 5, _CAMERAS[3], None, True),  # 4:5, transposed
    _Spec(2400, 1600, 2, _CAMERAS[0], _PLACES[0], True),  # mirrored
    _Spec(2048, 1536, 1, _CAMERAS[1], None, False),  # 4:3, not in the album
    _Spec(1500, 1000, 1, _CAMERAS[0], _PLACES[1], True),  # 3:2 small
]

_TITLES = [
    "Morning light over the Spree",
    "Rue de Rivoli in the rain",
    "Still life with lemons",
    "Brooklyn Bridge at dusk",
    "Shibuya crossing, vertical",
    "Harbour panorama",
    "Café à Zürich — Altstadt 🌄",
    "",  # untitled: consumers must fall back to something sensible
    "Portrait of a fern",
    "Mirror lake",
    "Test chart",
    "Evening walk",
]

_KEYWORD_POOL = [
    "landscape",
    "city",
    "street",
    "travel",
    "night",
    "portrait",
    "nature",
    "architecture",
    "water",
    "bridge",
    "panorama",
    "minimal",
    "colour",
    "rain",
]

_LONG_DESCRIPTION = ("A very long description to exercise caption limits on the social networks. " * 5).strip()


@dataclass
class SeedPhoto:
    """One generated photo: the master bytes and what Lightroom would know about it."""

    index: int
    asset_id: str  # 32 hex, deterministic per (seed, index)
    master: bytes = field(repr=False)
    file_name: str
    stored_width: int  # pixel size of the master as stored (before EXIF orientation)
    stored_height: int
    width: int  # displayed (upright) size
    height: int
    orientation: int
    capture_date: str  # Lightroom style, no zone: "2024-05-01T10:00:00.000"
    title: str
    description: str
    keywords: list[str]
    make: str | None
    model: str | None
    lens: str | None
    f_number: tuple[int, int] | None
    exposure_time: tuple[int, int] | None
    iso: int | None
    gps: tuple[float, float, str] | None
    in_album: bool
    corrupt: bool = False

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.master).hexdigest()


def hex_id(seed: int, *parts: Any) -> str:
    """A deterministic 32-hex Lightroom-style id."""
    text = ":".join([str(seed), *map(str, parts)])
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def generate_photos(seed: int = 1, count: int | None = None, include_corrupt: bool = False) -> list[SeedPhoto]:
    """The seeded photo set. `count` (default 12) repeats the spec list cyclically with
    different content, so large catalogs for pagination tests stay cheap (the big ones are
    only generated once per cycle of 12)."""
    count = len(_SPECS) if count is None else count
    photos = [_make_photo(seed, i) for i in range(count)]
    if include_corrupt:
        photos.append(make_corrupt_photo(seed, count))
    return photos


def make_photo(seed: int, index: int) -> SeedPhoto:
    return _make_photo(seed, index)


def _make_photo(seed: int, index: int) -> SeedPhoto:
    rng = random.Random(f"{seed}:{index}")
    spec = _SPECS[index % len(_SPECS)]
    cycle = index // len(_SPECS)
    width, height = spec.width, spec.height
    if cycle:  # further cycles: smaller copies, so count=100 stays fast
        scale = min(1.0, 1600 / max(width, height))
        width, height = max(16, int(width * scale)), max(16, int(height * scale))

    displayed = _draw(rng, width, height, index)
    inverse = _INVERSE[spec.orientation]
    stored = displayed.transpose(inverse) if inverse is not None else displayed

    # Capture dates descend with the index (newest first, like Lightroom's default listing);
    # photos 3 and 4 form a burst with the same capture date.
    date_index = index - 1 if index % len(_SPECS) == 4 else index
    hours = random.Random(f"{seed}:{date_index}:capture").randint(0, 9)
    base = datetime(2024, 6, 30, 18, 0, 0) - timedelta(days=date_index * 3, hours=hours)
    capture = base.replace(microsecond=0)

    camera = spec.camera
    f_number = exposure = None
    iso = None
    if camera:
        f_number = rng.choice([(28, 10), (4, 1), (56, 10), (8, 1), (11, 1)])
        exposure = rng.choice([(1, 60), (1, 125), (1, 250), (1, 1000), (1, 30)])
        iso = rng.choice([100, 200, 400, 800, 3200])

    exif = Image.Exif()
    exif[0x0112] = spec.orientation
    exif[0x0131] = "SocialOmega sandbox"  # Software
    exif_ifd = exif.get_ifd(0x8769)
    exif_ifd[0x9003] = capture.strftime("%Y:%m:%d %H:%M:%S")  # DateTimeOriginal
    if camera:
        assert f_number is not None and exposure is not None  # drawn above whenever there is a camera
        exif[0x010F], exif[0x0110] = camera[0], camera[1]  # Make, Model
        exif_ifd[0xA434] = camera[2]  # LensModel
        exif_ifd[0x829D] = f_number[0] / f_number[1]  # FNumber
        exif_ifd[0x829A] = exposure[0] / exposure[1]  # ExposureTime
        exif_ifd[0x8827] = iso  # ISOSpeedRatings
    if spec.gps:
        lat, lon, _city = spec.gps
        gps = exif.get_ifd(0x8825)
        gps[0] = b"\x02\x03\x00\x00"  # GPSVersionID
        gps[1] = "N" if lat >= 0 else "S"
        gps[2] = _dms(abs(lat))
        gps[3] = "E" if lon >= 0 else "W"
        gps[4] = _dms(abs(lon))

    buf = io.BytesIO()
    save_kwargs: dict[str, Any] = {"quality": 85, "exif": exif}
    if spec.icc:
        save_kwargs["icc_profile"] = _srgb_profile()
    stored.save(buf, "JPEG", **save_kwargs)

    title = _TITLES[index % len(_TITLES)]
    if cycle and title:
        title = f"{title} #{cycle + 1}"
    keywords = sorted(set(rng.sample(_KEYWORD_POOL, k=rng.randint(1, 4))))
    if index % 3 == 0:
        keywords.append(PUBLISH_KEYWORD)
    description = (
        _LONG_DESCRIPTION
        if index % len(_SPECS) == 5
        else (f"{title or 'Untitled'} — generated sandbox photo {index} (seed {seed}).")
    )
    return SeedPhoto(
        index=index,
        asset_id=hex_id(seed, "asset", index),
        master=buf.getvalue(),
        file_name=f"IMG_{1000 + index:04d}.jpg",
        stored_width=stored.width,
        stored_height=stored.height,
        width=width,
        height=height,
        orientation=spec.orientation,
        capture_date=capture.strftime("%Y-%m-%dT%H:%M:%S.000"),
        title=title,
        description=description,
        keywords=keywords,
        make=camera[0] if camera else None,
        model=camera[1] if camera else None,
        lens=camera[2] if camera else None,
        f_number=f_number,
        exposure_time=exposure,
        iso=iso,
        gps=spec.gps,
        in_album=spec.in_album,
    )


def make_corrupt_photo(seed: int, index: int) -> SeedPhoto:
    """A photo whose bytes are a JPEG cut off in the middle of the scan data: the header
    parses (so size sniffing works) but decoding fails or yields a truncated image."""
    good = _make_photo(seed, index)
    truncated = good.master[: max(200, len(good.master) // 3)]
    good.master = truncated
    good.asset_id = hex_id(seed, "corrupt", index)
    good.file_name = f"IMG_{1000 + index:04d}_corrupt.jpg"
    good.title = "Corrupt upload"
    good.description = "Truncated JPEG bytes (sandbox fault photo)."
    good.keywords = sorted({*good.keywords, PUBLISH_KEYWORD})
    good.in_album = True
    good.corrupt = True
    return good


@functools.cache
def _srgb_profile() -> bytes:
    """lcms's sRGB profile with a fixed creation date (header bytes 24-35), so the same seed
    gives byte-identical files in every process. Profile ID (84-99) stays zero (not computed)."""
    data = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    data[24:36] = struct.pack(">6H", 2024, 1, 1, 0, 0, 0)
    return bytes(data)


def _dms(value: float) -> tuple[float, float, float]:
    degrees = int(value)
    minutes_full = (value - degrees) * 60
    minutes = int(minutes_full)
    seconds = round((minutes_full - minutes) * 60, 4)
    return (float(degrees), float(minutes), seconds)


def _draw(rng: random.Random, width: int, height: int, index: int) -> Image.Image:
    """Displayed (upright) content: a colour gradient, coloured quadrant markers in the
    corners and a few shapes, cheap to draw at 24 MP."""
    small_w, small_h = max(8, width // 8), max(8, height // 8)
    grad = Image.linear_gradient("L").resize((small_w, small_h))
    radial = Image.radial_gradient("L").resize((small_w, small_h))
    tint = Image.new("L", (small_w, small_h), rng.randint(40, 200))
    channels = [grad, radial, tint]
    rng.shuffle(channels)
    small = Image.merge("RGB", channels)
    draw = ImageDraw.Draw(small)
    for _ in range(6):
        x0, y0 = rng.randint(0, small_w - 1), rng.randint(0, small_h - 1)
        x1, y1 = (
            min(small_w, x0 + rng.randint(4, max(5, small_w // 3))),
            min(small_h, y0 + rng.randint(4, max(5, small_h // 3))),
        )
        colour = (rng.randint(0, 255), rng.randint(0, 255), rng.randint(0, 255))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)((x0, y0, x1, y1), fill=colour)
    img = small.resize((width, height), Image.Resampling.BILINEAR)
    # Orientation markers: solid squares in the displayed corners (10% of the short edge).
    m = max(8, min(width, height) // 10)
    draw = ImageDraw.Draw(img)
    draw.rectangle((0, 0, m, m), fill=QUADRANT_COLOURS["top_left"])
    draw.rectangle((width - m - 1, 0, width - 1, m), fill=QUADRANT_COLOURS["top_right"])
    draw.rectangle((0, height - m - 1, m, height - 1), fill=QUADRANT_COLOURS["bottom_left"])
    draw.rectangle((width - m - 1, height - m - 1, width - 1, height - 1), fill=QUADRANT_COLOURS["bottom_right"])
    return img
