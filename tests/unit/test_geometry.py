"""Pure geometry (processor.geometry) and spec parsing (processor.specs)."""

from __future__ import annotations

import itertools
import json
import math
import random

import pytest
from pydantic import ValidationError

from socialomega.processor.geometry import (
    Box,
    GeometryError,
    crop_box,
    displayed_size,
    output_size,
    plan_variant,
    shrink_on_load,
)
from socialomega.processor.specs import DEFAULT_SPECS, SpecError, VariantSpec, parse_specs

EPS = 1e-9
SPECS = list(DEFAULT_SPECS.values())


def check_plan(w, h, orientation, spec, plan):
    dw, dh = plan.display
    c = plan.crop
    ow, oh = plan.output
    assert (dw, dh) == ((h, w) if orientation in (5, 6, 7, 8) else (w, h))
    # crop inside the displayed image, aspect in range
    assert c.left >= 0 and c.top >= 0 and c.left + c.width <= dw and c.top + c.height <= dh
    assert spec.min_aspect - EPS <= c.width / c.height <= spec.max_aspect + EPS
    # output in range, inside the box and pixel cap, never upscaled
    assert spec.min_aspect - EPS <= ow / oh <= spec.max_aspect + EPS
    assert 1 <= ow <= min(spec.max_width, c.width) and 1 <= oh <= min(spec.max_height, c.height)
    if spec.max_pixels:
        assert ow * oh <= spec.max_pixels


# ---------------------------------------------------------------- orientation
@pytest.mark.parametrize("orientation", range(1, 9))
def test_displayed_size_every_orientation(orientation):
    expected = (300, 400) if orientation in (5, 6, 7, 8) else (400, 300)
    assert displayed_size(400, 300, orientation) == expected


@pytest.mark.parametrize("orientation", [None, 0, 9, -1])
def test_displayed_size_invalid_orientation_means_upright(orientation):
    assert displayed_size(400, 300, orientation) == (400, 300)


def test_displayed_size_rejects_empty():
    with pytest.raises(GeometryError):
        displayed_size(0, 10, 1)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_portrait_camera_frame_is_planned_in_display_orientation(orientation):
    # A camera stores 6000x4000 and flags portrait with orientation 6 or 8.
    plan = plan_variant(6000, 4000, orientation, DEFAULT_SPECS["instagram"])
    if orientation in (5, 6, 7, 8):
        # portrait 4000x6000 (0.667) is taller than 4:5 -> cropped to 4:5, 1080x1350
        assert plan.display == (4000, 6000)
        assert plan.crop == Box(0, 500, 4000, 5000)
        assert plan.output == (1080, 1350)
    else:
        assert plan.display == (6000, 4000)
        assert plan.crop == Box(0, 0, 6000, 4000)
        assert plan.output == (1080, 720)


# ---------------------------------------------------------------- crop
def test_crop_in_range_is_whole_image():
    assert crop_box(1200, 800, 0.8, 1.91) == Box(0, 0, 1200, 800)


def test_crop_too_wide_cuts_width_centred():
    b = crop_box(1000, 100, 0.8, 1.91)
    assert (b.width, b.height) == (191, 100)
    assert b.left == (1000 - 191) // 2 and b.top == 0


def test_crop_too_tall_cuts_height_centred():
    b = crop_box(100, 1000, 0.8, 1.91)
    assert (b.width, b.height) == (100, 125)
    assert b.top == (1000 - 125) // 2 and b.left == 0


def test_crop_exactly_on_bounds_is_untouched():
    assert crop_box(800, 1000, 0.8, 1.91) == Box(0, 0, 800, 1000)
    assert crop_box(191, 100, 0.8, 1.91) == Box(0, 0, 191, 100)


def test_crop_focus_moves_window_and_is_clamped():
    assert crop_box(1000, 100, 0.8, 1.91, focus=(990, 50)).left == 1000 - 191
    assert crop_box(1000, 100, 0.8, 1.91, focus=(0, 50)).left == 0
    assert crop_box(1000, 100, 0.8, 1.91, focus=(300, 50)).left == round(300 - 191 / 2)


def test_crop_impossible_range_raises():
    with pytest.raises(GeometryError):
        crop_box(1, 1, 2.0, 3.0)
    with pytest.raises(GeometryError):
        crop_box(10, 10, 2.0, 1.0)


def test_crop_is_maximal_and_in_range_exhaustively():
    for w, h in itertools.product(range(1, 41), range(1, 41)):
        for spec in SPECS:
            try:
                b = crop_box(w, h, spec.min_aspect, spec.max_aspect)
            except GeometryError:
                # only tiny images can miss the range; then no 1-px-step crop works either
                assert min(w, h) <= 4
                continue
            assert spec.min_aspect - EPS <= b.width / b.height <= spec.max_aspect + EPS
            assert b.width == w or b.height == h
            if b.width < w:  # one more column would leave the range
                assert (b.width + 1) / b.height > spec.max_aspect
            if b.height < h:
                assert b.width / (b.height + 1) < spec.min_aspect


# ---------------------------------------------------------------- output size
def test_output_never_upscales():
    assert output_size(300, 200, 2048, 2048) == (300, 200)


def test_output_fits_box_on_long_edge():
    assert output_size(6000, 4000, 4096, 4096) == (4096, 2731)
    assert output_size(4000, 6000, 2048, 2048) == (1365, 2048)
    assert output_size(6000, 4000, 1080, 1350) == (1080, 720)


def test_output_respects_pixel_cap():
    ow, oh = output_size(8000, 6000, 10000, 10000, max_pixels=36_152_319)
    assert ow * oh <= 36_152_319
    assert abs(ow / oh - 8000 / 6000) < 1e-3
    assert ow * oh > 36_152_319 * 0.999  # and not much smaller than it may be


def test_output_one_pixel():
    assert output_size(1, 1, 1080, 1350, None, 0.8, 1.91) == (1, 1)


def test_output_sweep_random_sizes():
    rnd = random.Random(7)
    sizes = [(rnd.randint(1, 20000), rnd.randint(1, 20000)) for _ in range(1500)]
    sizes += [(10000, 1000), (1000, 10000), (1, 1), (2, 1), (1, 2), (65000, 3), (3, 65000)]
    for (w, h), orientation in itertools.product(sizes, (1, 6)):
        for spec in SPECS:
            try:
                plan = plan_variant(w, h, orientation, spec)
            except GeometryError as exc:
                # only allowed for images too small for the target
                assert "minimum" in str(exc) or min(w, h) <= 4
                continue
            check_plan(w, h, orientation, spec, plan)


@pytest.mark.parametrize("name", sorted(DEFAULT_SPECS))
@pytest.mark.parametrize("w,h", [(10000, 1000), (1000, 10000), (1, 1), (6000, 4000), (8256, 5504)])
def test_each_spec_bounds_on_extreme_and_camera_sizes(name, w, h):
    spec = DEFAULT_SPECS[name]
    try:
        plan = plan_variant(w, h, 1, spec)
    except GeometryError as exc:
        assert (w, h) == (1, 1) and "minimum" in str(exc)  # below every platform's minimum
        return
    check_plan(w, h, 1, spec, plan)


def test_instagram_extremes_are_cropped_to_bounds():
    ig = DEFAULT_SPECS["instagram"]
    wide = plan_variant(10000, 1000, 1, ig)
    assert wide.output[0] / wide.output[1] == pytest.approx(1.91, abs=0.01)
    tall = plan_variant(1000, 10000, 1, ig)
    assert tall.output[0] / tall.output[1] == pytest.approx(0.8, abs=0.01)
    assert tall.output == (1000, 1250)  # 1:10 -> 4:5, not upscaled to 1080


def test_min_width_fails_small_images():
    with pytest.raises(GeometryError, match="minimum 320"):
        plan_variant(300, 300, 1, DEFAULT_SPECS["instagram"])
    assert plan_variant(320, 320, 1, DEFAULT_SPECS["instagram"]).output == (320, 320)


def test_every_platform_has_a_minimum_size():
    # No 1x1 posts: a platform added without a minimum fails here (see specs.MINIMUM_SIZES).
    for name, spec in DEFAULT_SPECS.items():
        assert spec.min_width is not None and spec.min_width >= 32, name
        lowest = spec.min_height or math.ceil(spec.min_width / spec.max_aspect)
        assert lowest >= 32, name


@pytest.mark.parametrize(
    "name,w,h,refused",
    [
        ("x", 199, 1000, "minimum 200 px width"),
        ("x", 1000, 150, "minimum 200 px height"),  # cropped to 4:1 -> 600x150
        ("facebook", 150, 150, "minimum 200 px width"),
        ("linkedin", 800, 199, "minimum 200 px height"),
        ("rest", 31, 100, "minimum 32 px width"),
        ("instagram", 319, 319, "minimum 320 px width"),
    ],
)
def test_below_a_platform_minimum_is_refused_with_the_reason(name, w, h, refused):
    spec = DEFAULT_SPECS[name]
    with pytest.raises(GeometryError, match=refused) as exc:
        plan_variant(w, h, 1, spec)
    assert f"{min(w, round(h * spec.max_aspect))}x" in str(exc.value)  # says what the output would be
    ok_w = max(w, spec.min_width or 1, round((spec.min_height or 1) * spec.min_aspect) + 1)
    ok_h = max(h, spec.min_height or 1, math.ceil((spec.min_width or 1) / spec.max_aspect) + 1)
    plan_variant(ok_w, ok_h, 1, spec)  # at or above the minimum: planned


def test_a_minimum_above_the_box_is_a_configuration_error():
    with pytest.raises(SpecError, match="min_height"):
        parse_specs([{"name": "x", "platform": "x", "spec": {"max_height": 100}}])
    with pytest.raises(SpecError, match="min_width"):
        parse_specs([{"name": "small", "platform": "instagram", "spec": {"max_width": 300}}])
    [spec] = parse_specs([{"name": "small", "platform": "x", "spec": {"min_width": 8, "min_height": 8}}])
    assert plan_variant(10, 10, 1, spec).output == (10, 10)  # a target may lower its minimum


# ---------------------------------------------------------------- shrink on load
def test_shrink_on_load_for_default_specs():
    assert shrink_on_load([plan_variant(6000, 4000, 1, s) for s in SPECS]) == 1  # x: 4096
    assert shrink_on_load([plan_variant(8256, 5504, 1, s) for s in SPECS]) == 2
    assert shrink_on_load([plan_variant(6000, 4000, 1, DEFAULT_SPECS["instagram"])]) == 4
    assert shrink_on_load([plan_variant(9000, 6000, 1, DEFAULT_SPECS["instagram"])]) == 8
    assert shrink_on_load([]) == 1


def test_shrink_on_load_always_leaves_enough_pixels():
    rnd = random.Random(3)
    for _ in range(500):
        w, h = rnd.randint(320, 12000), rnd.randint(320, 12000)
        plans = [plan_variant(w, h, 1, s) for s in rnd.sample(SPECS, rnd.randint(1, 5))]
        n = shrink_on_load(plans)
        for p in plans:
            assert p.crop.width / n >= p.output[0] - EPS and p.crop.height / n >= p.output[1] - EPS
        if n < 8:  # and the next factor would not
            assert any(
                p.crop.width / (2 * n) < p.output[0] - EPS or p.crop.height / (2 * n) < p.output[1] - EPS for p in plans
            )


# ---------------------------------------------------------------- specs
def test_default_specs_match_platform_limits():
    assert set(DEFAULT_SPECS) == {"instagram", "x", "facebook", "linkedin", "rest"}
    ig = DEFAULT_SPECS["instagram"]
    assert (ig.min_aspect, ig.max_aspect, ig.max_width, ig.max_bytes) == (0.8, 1.91, 1080, 8 * 2**20)
    assert DEFAULT_SPECS["x"].max_bytes == 5 * 2**20
    assert DEFAULT_SPECS["facebook"].max_bytes < 10 * 2**20
    assert DEFAULT_SPECS["linkedin"].max_pixels < 36_152_320
    assert all(s.format == "jpeg" for s in SPECS)


def test_parse_specs_from_ssm_json_with_defaults_and_overrides():
    raw = json.dumps(
        [
            {"name": "rest", "platform": "rest", "endpoint": "http://127.0.0.1:9/x", "spec": {}},
            {
                "name": "ig-square",
                "platform": "instagram",
                "spec": {"min_aspect": 1.0, "max_aspect": 1.0, "interesting": "center"},
            },
            {
                "name": "custom",
                "platform": "acme",
                "spec": {"min_aspect": 0.5, "max_aspect": 2, "max_width": 800, "max_height": 800, "max_bytes": 1000000},
            },
        ]
    )
    specs = parse_specs(raw)
    assert [s.target for s in specs] == ["rest", "ig-square", "custom"]
    assert specs[0] == DEFAULT_SPECS["rest"]
    assert specs[1].platform == "instagram" and specs[1].max_bytes == 8 * 2**20
    assert (specs[1].min_aspect, specs[1].max_aspect, specs[1].interesting) == (1.0, 1.0, "centre")
    assert specs[2].max_width == 800 and specs[2].quality == 85
    assert parse_specs({"targets": json.loads(raw)}) == specs


@pytest.mark.parametrize(
    "bad",
    [
        "not json",
        {"no": "targets"},
        [{"platform": "x"}],
        [{"name": "a", "platform": "instagram", "spec": {"min_aspect": 3, "max_aspect": 1}}],
        [{"name": "a", "platform": "instagram", "spec": {"format": "png"}}],
        [{"name": "a", "platform": "instagram", "spec": {"unknown_field": 1}}],
        [{"name": "a", "platform": "acme", "spec": {"max_width": 10}}],  # incomplete
        [{"name": "a", "platform": "x"}, {"name": "a", "platform": "x"}],  # duplicate
        [{"name": "a b", "platform": "x"}],  # unsafe S3 key
    ],
)
def test_parse_specs_rejects_bad_config(bad):
    with pytest.raises(SpecError):
        parse_specs(bad)


def test_spec_is_immutable():
    with pytest.raises(ValidationError):
        DEFAULT_SPECS["x"].max_bytes = 1  # type: ignore[misc]
    assert isinstance(DEFAULT_SPECS["x"], VariantSpec) and math.isclose(DEFAULT_SPECS["x"].max_aspect, 4)


@pytest.mark.parametrize(
    ("anchor", "expected"),
    [("north", (1000, 0)), ("south", (1000, 0)), ("west", (0, 0)), ("east", (2000, 0)), ("centre", (1000, 0))],
)
def test_an_edge_anchor_keeps_that_edge_of_a_tall_photo(anchor, expected):
    """Cut to 1:1: on a tall photo north keeps the top and south the bottom; on a wide one west
    keeps the left and east the right; the other anchors stay centred on the side not cut."""
    spec = DEFAULT_SPECS["instagram"].model_copy(update={"min_aspect": 1.0, "max_aspect": 1.0, "interesting": anchor})
    wide = plan_variant(4000, 3000, 6, spec)  # EXIF 6: displayed 3000 wide, 4000 tall
    assert (wide.crop.width, wide.crop.height) == (3000, 3000)
    assert (wide.crop.left, wide.crop.top) == (0, {"north": 0, "south": 1000}.get(anchor, 500))
    landscape = plan_variant(4000, 2000, 1, spec)  # 2:1, cut to 2000x2000 across
    assert (landscape.crop.left, landscape.crop.top) == expected
