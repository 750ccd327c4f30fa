"""Pure geometry for the variant builder: no I/O, no libvips, exhaustively testable.

Coordinates are in the *displayed* frame, i.e. after the EXIF orientation has been applied.
Aspect ratios are width / height.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

__all__ = [
    "GeometryError",
    "Box",
    "VariantPlan",
    "displayed_size",
    "crop_box",
    "output_size",
    "plan_variant",
    "shrink_on_load",
    "SWAPS_AXES",
]

# EXIF orientations whose display transform swaps width and height (a 90/270 degree turn).
SWAPS_AXES = frozenset({5, 6, 7, 8})
_EPS = 1e-9


class GeometryError(ValueError):
    """The image cannot satisfy the spec (e.g. too small to reach the aspect range)."""


class _SpecLike(Protocol):
    # Read-only: a VariantSpec is frozen.
    @property
    def min_aspect(self) -> float: ...
    @property
    def max_aspect(self) -> float: ...
    @property
    def max_width(self) -> int: ...
    @property
    def max_height(self) -> int: ...
    @property
    def max_pixels(self) -> int | None: ...
    @property
    def min_width(self) -> int | None: ...
    @property
    def min_height(self) -> int | None: ...
    @property
    def interesting(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Box:
    left: int
    top: int
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class VariantPlan:
    display: tuple[int, int]  # displayed (oriented) size of the source
    crop: Box  # crop window in displayed coordinates
    output: tuple[int, int]  # final output size

    @property
    def max_shrink(self) -> float:
        """How much the source may be shrunk (uniformly) and still cover the output."""
        return min(self.crop.width / self.output[0], self.crop.height / self.output[1])


def displayed_size(width: int, height: int, orientation: int | None) -> tuple[int, int]:
    """Size after applying EXIF ``orientation`` (1-8; anything else counts as 1)."""
    if width < 1 or height < 1:
        raise GeometryError(f"invalid image size {width}x{height}")
    if orientation in SWAPS_AXES:
        return height, width
    return width, height


def crop_box(
    width: int,
    height: int,
    min_aspect: float,
    max_aspect: float,
    focus: tuple[float, float] | None = None,
) -> Box:
    """The largest window of ``width``x``height`` whose aspect lies in [min, max].

    An image already in range is returned whole. Otherwise the long side is cut down to the
    nearest bound (rounded so that the result is *inside* the range), centred on ``focus``
    (a point in displayed coordinates) or on the image centre, and clamped to the image.
    Raises :class:`GeometryError` if no window of at least 1 px reaches the range.
    """
    if width < 1 or height < 1:
        raise GeometryError(f"invalid image size {width}x{height}")
    if not 0 < min_aspect <= max_aspect:
        raise GeometryError(f"invalid aspect range [{min_aspect}, {max_aspect}]")
    cw, ch = width, height
    aspect = width / height
    if aspect > max_aspect:
        cw = min(width, max(1, math.floor(height * max_aspect + _EPS)))
    elif aspect < min_aspect:
        ch = min(height, max(1, math.floor(width / min_aspect + _EPS)))
    if not (min_aspect - _EPS <= cw / ch <= max_aspect + _EPS):
        raise GeometryError(f"a {width}x{height} image has no crop with aspect in [{min_aspect:.4g}, {max_aspect:.4g}]")
    if focus is None:
        left, top = (width - cw) // 2, (height - ch) // 2
    else:
        left = min(max(0, round(focus[0] - cw / 2)), width - cw)
        top = min(max(0, round(focus[1] - ch / 2)), height - ch)
    return Box(left, top, cw, ch)


def output_size(
    crop_width: int,
    crop_height: int,
    max_width: int,
    max_height: int,
    max_pixels: int | None = None,
    min_aspect: float | None = None,
    max_aspect: float | None = None,
) -> tuple[int, int]:
    """Fit ``crop_width``x``crop_height`` in the box (and pixel cap), never upscaling.

    Rounding is corrected so that the result stays inside the box, under the pixel cap and,
    when given, inside the aspect range.
    """
    if crop_width < 1 or crop_height < 1:
        raise GeometryError(f"invalid crop size {crop_width}x{crop_height}")
    scale = min(1.0, max_width / crop_width, max_height / crop_height)
    if max_pixels is not None:
        scale = min(scale, math.sqrt(max_pixels / (crop_width * crop_height)))
    ow = min(max_width, crop_width, max(1, round(crop_width * scale)))
    oh = min(max_height, crop_height, max(1, round(crop_height * scale)))
    if max_pixels is not None:
        while ow * oh > max_pixels and (ow > 1 or oh > 1):
            if ow * crop_height >= oh * crop_width:  # trim the side that is relatively larger
                ow -= 1
            else:
                oh -= 1
    if max_aspect is not None and ow / oh > max_aspect + _EPS:
        ow = max(1, math.floor(oh * max_aspect + _EPS))
    if min_aspect is not None and ow / oh < min_aspect - _EPS:
        oh = max(1, math.floor(ow / min_aspect + _EPS))
    if (max_aspect is not None and ow / oh > max_aspect + _EPS) or (
        min_aspect is not None and ow / oh < min_aspect - _EPS
    ):
        raise GeometryError(f"output {ow}x{oh} cannot reach the aspect range")
    return ow, oh


# A crop anchored to an edge keeps that edge: its focus is the edge's midpoint, and crop_box
# clamps the window to the image (`so:crop:north` keeps the sky, `south` the foreground).
EDGES = {"north": (0.5, 0.0), "south": (0.5, 1.0), "west": (0.0, 0.5), "east": (1.0, 0.5)}


def edge_focus(width: int, height: int, interesting: str) -> tuple[float, float] | None:
    """The focus point of an edge anchor in displayed coordinates (None: centre or attention)."""
    at = EDGES.get(interesting)
    return None if at is None else (at[0] * width, at[1] * height)


def plan_variant(
    width: int,
    height: int,
    orientation: int | None,
    spec: _SpecLike,
    focus: tuple[float, float] | None = None,
) -> VariantPlan:
    """Everything about one variant's geometry, from the *stored* size and EXIF orientation."""
    dw, dh = displayed_size(width, height, orientation)
    box = crop_box(dw, dh, spec.min_aspect, spec.max_aspect, focus or edge_focus(dw, dh, spec.interesting))
    out = output_size(
        box.width,
        box.height,
        spec.max_width,
        spec.max_height,
        spec.max_pixels,
        spec.min_aspect,
        spec.max_aspect,
    )
    if spec.min_width is not None and out[0] < spec.min_width:
        raise GeometryError(
            f"output would be {out[0]}x{out[1]} px, below the target's minimum {spec.min_width} px width"
        )
    if spec.min_height is not None and out[1] < spec.min_height:
        raise GeometryError(
            f"output would be {out[0]}x{out[1]} px, below the target's minimum {spec.min_height} px height"
        )
    return VariantPlan((dw, dh), box, out)


def shrink_on_load(plans: list[VariantPlan], factors: tuple[int, ...] = (8, 4, 2, 1)) -> int:
    """Largest JPEG shrink-on-load factor that still leaves every variant enough pixels.

    libjpeg scales by 1/N with the size rounded *up*, so ``crop / N >= output`` is sufficient.
    """
    if not plans:
        return 1
    limit = min(p.max_shrink for p in plans)
    for n in sorted(factors, reverse=True):
        if n <= limit + _EPS:
            return n
    return 1
