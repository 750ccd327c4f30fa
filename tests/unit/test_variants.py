"""The libvips variant builder (processor.variants), on real encoded images."""

from __future__ import annotations

import io
import os
import struct
import zlib

import pytest
import pyvips
from PIL import Image, ImageOps

from socialomega.processor import variants as V
from socialomega.processor.specs import DEFAULT_SPECS, VariantSpec
from socialomega.processor.variants import (
    ImageRejected,
    Limits,
    Variant,
    VariantsIncomplete,
    build_variants,
)

SPECS = list(DEFAULT_SPECS.values())
REST = DEFAULT_SPECS["rest"]
RED, GREEN, BLUE, GREY = (230, 20, 20), (20, 200, 20), (20, 20, 230), (128, 128, 128)
GPS = {1: "N", 2: (52.0, 22.0, 12.5), 3: "E", 4: (4.0, 53.0, 30.2)}


def marked_image(w: int, h: int) -> Image.Image:
    """Grey, red block top-left, green block top-right, blue block bottom-left (stored frame)."""
    im = Image.new("RGB", (w, h), GREY)
    bw, bh = max(1, w // 4), max(1, h // 4)
    im.paste(RED, (0, 0, bw, bh))
    im.paste(GREEN, (w - bw, 0, w, bh))
    im.paste(BLUE, (0, h - bh, bw, h))
    return im


def jpeg(
    im: Image.Image,
    orientation: int = 1,
    gps: bool = True,
    icc: bytes | None = None,
    xmp: bytes | None = None,
    quality: int = 95,
) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "TestCam"
    if gps:
        exif[0x8825] = GPS
    kw = {"exif": exif.tobytes(), "quality": quality}
    if icc:
        kw["icc_profile"] = icc
    if xmp:
        kw["xmp"] = xmp
    out = io.BytesIO()
    im.save(out, "JPEG", **kw)
    return out.getvalue()


def noisy(w: int, h: int, seed: int = 1, tile: int = 512) -> Image.Image:
    """Camera-like noise (gaussian, sigma 60, per band) that JPEG cannot compress away. One tile
    of at most `tile` px is generated and repeated: each 8x8 block JPEG codes has the statistics of
    full-frame noise, at a fraction of the cost (generating 4800x3200 of it took 1.6 s)."""
    tw, th = min(w, tile), min(h, tile)
    img = (
        pyvips.Image.gaussnoise(tw, th, sigma=60, mean=128, seed=seed)
        .bandjoin(
            [
                pyvips.Image.gaussnoise(tw, th, sigma=60, mean=128, seed=seed + 1),
                pyvips.Image.gaussnoise(tw, th, sigma=60, mean=128, seed=seed + 2),
            ]
        )
        .cast("uchar")
        .copy_memory()
    )  # computed once, not once per repeat
    img = img.replicate(-(-w // tw), -(-h // th)).crop(0, 0, w, h)
    return Image.frombytes("RGB", (w, h), img.write_to_memory())


def spec(**kw) -> VariantSpec:
    base = REST.model_dump()
    base.update(kw)
    return VariantSpec(**base)


def decode(v: Variant) -> Image.Image:
    im = Image.open(io.BytesIO(v.data))
    assert im.format == "JPEG"
    return im


def close(a, b, tol=40) -> bool:
    return all(abs(x - y) <= tol for x, y in zip(a, b, strict=False))


# ---------------------------------------------------------------- orientation
@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_is_applied(orientation):
    data = jpeg(marked_image(400, 300), orientation)
    reference = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
    [v] = build_variants(data, [REST])
    out = decode(v).convert("RGB")
    assert out.size == reference.size == (v.width, v.height)
    assert out.size == ((300, 400) if orientation in (5, 6, 7, 8) else (400, 300))
    w, h = out.size
    probes = [
        (w // 10, h // 10),
        (w - 1 - w // 10, h // 10),
        (w // 10, h - 1 - h // 10),
        (w - 1 - w // 10, h - 1 - h // 10),
        (w // 2, h // 2),
    ]
    for xy in probes:
        assert close(out.getpixel(xy), reference.getpixel(xy)), (orientation, xy)
    # the output is upright: no orientation tag left to apply
    assert 0x0112 not in out.getexif()
    colours = {out.getpixel(xy) for xy in probes[:4]}
    assert any(close(c, RED) for c in colours) and any(close(c, GREEN) for c in colours)


@pytest.mark.parametrize("orientation", [1, 6])
def test_orientation_with_crop_and_shrink(orientation):
    # 3000x2000 stored; portrait when rotated -> IG crops to 4:5 in the displayed frame.
    data = jpeg(marked_image(3000, 2000), orientation)
    [v] = build_variants(data, [DEFAULT_SPECS["instagram"]])
    if orientation == 6:
        assert (v.width, v.height) == (1080, 1350)
    else:
        assert (v.width, v.height) == (1080, 720)


# ---------------------------------------------------------------- specs respected
def test_all_default_specs_on_a_camera_like_image():
    data = jpeg(noisy(3000, 2000), gps=True)
    variants = build_variants(data, SPECS)
    assert [v.target for v in variants] == [s.target for s in SPECS]
    for v, s in zip(variants, SPECS, strict=False):
        im = decode(v)
        assert im.size == (v.width, v.height)
        assert v.size == len(v.data) <= s.max_bytes
        assert s.min_aspect - 1e-9 <= v.width / v.height <= s.max_aspect + 1e-9
        assert v.width <= min(s.max_width, 3000) and v.height <= min(s.max_height, 2000)
        if s.max_pixels:
            assert v.width * v.height <= s.max_pixels
        assert v.format == "jpeg" and v.quality == s.quality
    assert (variants[0].width, variants[0].height) == (1080, 720)  # instagram
    assert (variants[1].width, variants[1].height) == (3000, 2000)  # x: never upscaled
    assert (variants[2].width, variants[2].height) == (2048, 1365)  # facebook


@pytest.mark.parametrize("w,h", [(2000, 200), (200, 2000), (1, 1), (5000, 1), (1, 5000)])
def test_extreme_aspect_ratios(w, h):
    data = jpeg(marked_image(w, h))
    try:
        variants = build_variants(data, SPECS)
        failures = {}
    except VariantsIncomplete as exc:
        variants, failures = exc.variants, exc.failures
    built = {v.target: v for v in variants}
    for s in SPECS:
        if s.target in failures:
            # only "too small for the target" is acceptable here
            assert "minimum" in failures[s.target] or "aspect" in failures[s.target]
            continue
        v = built[s.target]
        assert decode(v).size == (v.width, v.height)
        assert s.min_aspect - 1e-9 <= v.width / v.height <= s.max_aspect + 1e-9
        assert v.width <= w or v.height <= h
    if (w, h) in ((1, 1), (5000, 1), (1, 5000)):
        assert variants == [] and set(failures) == {s.target for s in SPECS}  # below every minimum
    if (w, h) == (2000, 200):
        assert (built["instagram"].width, built["instagram"].height) == (382, 200)  # 1.91:1
        assert (built["rest"].width, built["rest"].height) == (2000, 200)  # 10:1 ok
    if (w, h) == (200, 2000):
        assert "instagram" in failures  # 200 px wide < 320
        assert (built["x"].width, built["x"].height) == (200, 800)  # 1:4


def test_attention_crop_finds_the_detail():
    im = Image.new("RGB", (2000, 500), (90, 90, 90))
    im.paste((255, 240, 0), (1700, 150, 1900, 350))  # a bright, saturated detail on the right
    s = DEFAULT_SPECS["instagram"].model_copy(update={"interesting": "attention"})
    [v] = build_variants(jpeg(im), [s])
    out = decode(v).convert("RGB")
    assert (v.width, v.height) == (955, 500)
    assert any(close(out.getpixel((x, 250)), (255, 240, 0)) for x in range(0, v.width, 10))
    [c] = build_variants(jpeg(im), [DEFAULT_SPECS["instagram"]])  # centre crop misses it
    outc = decode(c).convert("RGB")
    assert not any(close(outc.getpixel((x, 250)), (255, 240, 0)) for x in range(0, c.width, 10))


# ---------------------------------------------------------------- metadata
def test_no_exif_xmp_iptc_gps_in_outputs():
    xmp = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/'
        b'22-rdf-syntax-ns#"><rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" '
        b'exif:GPSLatitude="52,22.2N"/></rdf:RDF></x:xmpmeta>'
    )
    data = jpeg(noisy(1600, 1200), orientation=6, gps=True, xmp=xmp)
    src = pyvips.Image.new_from_buffer(data, "")
    assert any("GPS" in f for f in src.get_fields()) and "xmp-data" in src.get_fields()
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(0x8825)
    for v in build_variants(data, SPECS):
        im = decode(v)
        assert len(im.getexif()) == 0 and not im.getexif().get_ifd(0x8825)
        assert "exif" not in im.info and "xmp" not in im.info and "photoshop" not in im.info
        assert b"Exif\0\0" not in v.data and b"GPS" not in v.data and b"xmpmeta" not in v.data
        fields = pyvips.Image.new_from_buffer(v.data, "").get_fields()
        leaked = [f for f in fields if f.startswith(("exif-", "xmp", "iptc", "orientation")) or "GPS" in f]
        assert leaked == [], (v.target, leaked)
        assert "icc-profile-data" not in fields  # no profile in -> none out


# ---------------------------------------------------------------- colour
def _p3_image() -> tuple[bytes, bytes]:
    srgb = (pyvips.Image.black(64, 64) + [200, 100, 50]).cast("uchar").copy(interpretation="srgb")
    p3 = srgb.icc_transform("p3", input_profile="srgb")
    profile = p3.get("icc-profile-data")
    im = Image.frombytes("RGB", (64, 64), p3.write_to_memory())
    return jpeg(im, icc=profile, quality=98), profile


def test_non_srgb_profile_is_converted_and_tagged_srgb():
    data, profile = _p3_image()
    assert V._icc_description(profile) and not V._is_srgb(profile)
    src_px = Image.open(io.BytesIO(data)).convert("RGB").getpixel((32, 32))
    [v] = build_variants(data, [REST])
    out = pyvips.Image.new_from_buffer(v.data, "")
    assert V._is_srgb(out.get("icc-profile-data"))
    px = decode(v).convert("RGB").getpixel((32, 32))
    assert close(px, (200, 100, 50), tol=6)  # back to the sRGB colour it was made from
    assert not close(px, src_px, tol=6)  # i.e. actually converted, not passed through
    assert not [f for f in out.get_fields() if f.startswith(("exif-", "xmp", "iptc"))]


def test_srgb_profile_is_kept_without_conversion(monkeypatch):
    from PIL import ImageCms

    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    im = Image.new("RGB", (64, 64), (200, 100, 50))
    calls = []
    real = pyvips.Image.icc_transform
    monkeypatch.setattr(pyvips.Image, "icc_transform", lambda self, *a, **k: calls.append(a) or real(self, *a, **k))
    [v] = build_variants(jpeg(im, icc=srgb), [REST])
    assert calls == []  # no costly transform for sRGB input
    assert pyvips.Image.new_from_buffer(v.data, "").get("icc-profile-data") == srgb
    assert close(decode(v).convert("RGB").getpixel((32, 32)), (200, 100, 50), tol=4)


def test_no_profile_means_no_conversion(monkeypatch):
    calls = []
    real = pyvips.Image.icc_transform
    monkeypatch.setattr(pyvips.Image, "icc_transform", lambda self, *a, **k: calls.append(a) or real(self, *a, **k))
    build_variants(jpeg(marked_image(300, 200)), [REST])
    assert calls == []


def test_png_with_alpha_and_16bit_becomes_flat_srgb_jpeg():
    rgba = Image.new("RGBA", (120, 80), (255, 0, 0, 0))  # fully transparent
    buf = io.BytesIO()
    rgba.save(buf, "PNG")
    [v] = build_variants(buf.getvalue(), [REST])
    assert close(decode(v).convert("RGB").getpixel((60, 40)), (255, 255, 255), tol=3)
    grey16 = pyvips.Image.black(50, 40).cast("ushort").copy(interpretation="grey16") + 30000
    [g] = build_variants(grey16.pngsave_buffer(), [REST])
    assert decode(g).mode == "RGB" and (g.width, g.height) == (50, 40)


# ---------------------------------------------------------------- rejection
def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def png_bomb(w: int = 100_000, h: int = 100_000) -> bytes:
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 1024)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


def test_png_bomb_header_is_rejected_before_decoding(monkeypatch):
    data = png_bomb()
    assert len(data) < 200
    copies = []
    monkeypatch.setattr(pyvips.Image, "copy_memory", lambda self: copies.append(self) or 1 / 0)
    with pytest.raises(ImageRejected, match="pixels") as exc:
        build_variants(data, SPECS)
    assert exc.value.permanent and copies == []


def test_pixel_limit_is_configurable():
    data = jpeg(marked_image(400, 300))
    with pytest.raises(ImageRejected, match="120000 pixels"):
        build_variants(data, [REST], Limits(max_pixels=100_000))
    assert build_variants(data, [REST], Limits(max_pixels=120_000))


@pytest.mark.parametrize("threads", [1, 2])
def test_truncated_jpeg_is_rejected(threads):
    # whole-frame variants, light resize after shrink-on-load (4200 / 2 = 2100 -> 2048)
    data = jpeg(noisy(4200, 2800))
    with pytest.raises(ImageRejected, match="corrupt or truncated"):
        build_variants(
            data[: len(data) // 2], [DEFAULT_SPECS["facebook"], DEFAULT_SPECS["instagram"]], Limits(threads=threads)
        )


def test_truncated_jpeg_with_a_crop_is_rejected():
    # a cropped variant: the intermediate is materialised first, the error surfaces there
    data = jpeg(noisy(2000, 400))
    with pytest.raises(ImageRejected, match="corrupt or truncated"):
        build_variants(data[: len(data) // 2], SPECS)


def scan_cut(data: bytes, keep: float = 0.5) -> bytes:
    """`data` with its scan data cut at `keep` of its length and the EOI marker put back: to
    libjpeg only a warning ("premature end of data segment"), and the missing rows grey."""
    sos = data.index(b"\xff\xda")
    return data[: sos + int((len(data) - sos) * keep)] + b"\xff\xd9"


def sof_claiming(data: bytes, width: int, height: int) -> bytes:
    """`data` with its baseline SOF0 header claiming another size (the scan data unchanged)."""
    sof = data.index(b"\xff\xc0")
    return data[: sof + 5] + struct.pack(">HH", height, width) + data[sof + 9 :]


@pytest.mark.parametrize("threads", [1, 2])
def test_scan_data_that_ends_early_is_rejected_not_posted_grey(threads):
    data = scan_cut(jpeg(noisy(2400, 1600)))
    with pytest.raises(ImageRejected, match="corrupt or truncated.*premature end of data segment"):
        build_variants(data, SPECS, Limits(threads=threads))
    # Why fail_on="warning": under "error" (and "truncated") libvips 8.18 decodes it, grey.
    for lax in ("error", "truncated"):
        assert build_variants(data, [REST], Limits(fail_on=lax))


def test_a_small_scan_under_a_header_claiming_a_huge_frame_is_rejected():
    # The case: 64x64 of scan data under an SOF claiming 9000x9000 became a 4096x4096
    # grey X post. Under the pixel limit, so only the decode can tell.
    data = sof_claiming(jpeg(noisy(64, 64)), 9000, 9000)
    assert pyvips.Image.new_from_buffer(data, "").width == 9000
    with pytest.raises(ImageRejected, match="corrupt or truncated"):
        build_variants(data, SPECS)


def test_sound_camera_like_jpegs_still_load_under_the_strict_decode():
    # Progressive, restart markers, 4:4:4, greyscale, CMYK, trailing bytes after EOI (as some
    # cameras write an MPF preview there): none of them is a decoder warning.
    im = noisy(1200, 800)
    samples = []
    for kw in ({"progressive": True}, {"subsampling": 0}, {"quality": 60, "optimize": True}):
        out = io.BytesIO()
        im.save(out, "JPEG", **kw)
        samples.append(out.getvalue())
    samples.append(jpeg(im) + jpeg(noisy(160, 120)))  # a second image after EOI
    for mode in ("L", "CMYK"):
        out = io.BytesIO()
        im.convert(mode).save(out, "JPEG")
        samples.append(out.getvalue())
    restart = pyvips.Image.new_from_buffer(jpeg(im), "").jpegsave_buffer(restart_interval=4)
    samples.append(restart)
    for data in samples:
        assert [v.target for v in build_variants(data, SPECS)] == [s.target for s in SPECS]


def test_garbage_after_the_header_is_rejected():
    data = jpeg(noisy(600, 400))
    sof = data.index(b"\xff\xc0")  # keep SOI..SOF, then garbage instead of scan data
    with pytest.raises(ImageRejected):
        build_variants(data[: sof + 19] + b"\x00" * 5000, [REST])


@pytest.mark.parametrize(
    "data",
    [b"", os.urandom(4096), b"hello world" * 100, b"<svg xmlns='http://www.w3.org/2000/svg' width='10' height='10'/>"],
)
def test_not_an_image_is_rejected(data):
    with pytest.raises(ImageRejected):
        build_variants(data, SPECS)


def test_blocked_formats_are_rejected():
    gif = io.BytesIO()
    Image.new("RGB", (40, 40)).save(gif, "GIF")
    with pytest.raises(ImageRejected, match="not a supported image"):
        build_variants(gif.getvalue(), [REST])
    png = io.BytesIO()
    Image.new("RGB", (40, 40)).save(png, "PNG")
    with pytest.raises(ImageRejected, match="not a supported image|not accepted"):
        build_variants(png.getvalue(), [REST], Limits(allowed_loaders=("jpeg",)))
    V.harden_libvips()  # restore the default allow-list for other tests
    assert build_variants(png.getvalue(), [REST])


def test_oversized_input_is_rejected():
    with pytest.raises(ImageRejected, match="above the 1000 limit"):
        build_variants(jpeg(noisy(100, 100)), [REST], Limits(max_input_bytes=1000))


# ---------------------------------------------------------------- byte budget
def test_max_bytes_lowers_quality_until_it_fits():
    data = jpeg(noisy(800, 600))
    [first] = build_variants(data, [spec(quality=90)])
    budget = int(first.size * 0.8)
    [v] = build_variants(data, [spec(quality=90, max_bytes=budget, min_quality=30)])
    assert v.size <= budget and v.quality < 90
    assert decode(v).size == (800, 600)


def test_max_bytes_unreachable_fails_that_variant_only():
    data = jpeg(noisy(800, 600))
    tight = spec(target="tight", max_bytes=1024, quality=85, min_quality=60)
    with pytest.raises(VariantsIncomplete) as exc:
        build_variants(data, [REST, tight])
    err = exc.value
    assert isinstance(err, ImageRejected) and err.permanent
    assert list(err.failures) == ["tight"] and "max_bytes 1024" in err.failures["tight"]
    assert "quality 60" in err.failures["tight"]
    assert [v.target for v in err.variants] == ["rest"]


def test_bounded_reencodes(monkeypatch):
    data = jpeg(noisy(400, 300))
    saves = []
    real = pyvips.Image.jpegsave_buffer
    monkeypatch.setattr(pyvips.Image, "jpegsave_buffer", lambda self, **k: saves.append(k["Q"]) or real(self, **k))
    with pytest.raises(VariantsIncomplete):
        build_variants(data, [spec(max_bytes=1024, quality=95, min_quality=5)], Limits(max_encodes=3, threads=1))
    assert len(saves) == 3 and saves[0] == 95 and saves == sorted(saves, reverse=True)


# ---------------------------------------------------------------- decode once
def test_decodes_once_with_the_largest_useful_shrink(monkeypatch):
    opened = []
    real = pyvips.Image.new_from_source

    def spy(source, options, **kw):
        opened.append(kw)
        return real(source, options, **kw)

    monkeypatch.setattr(pyvips.Image, "new_from_source", staticmethod(spy))
    data = jpeg(noisy(4800, 3200))
    variants = build_variants(data, [DEFAULT_SPECS["instagram"], DEFAULT_SPECS["facebook"]])
    # header open + one decode, shrink 2 (2400 px still covers 2048), sequential, strict
    assert len(opened) == 2
    assert opened[1]["shrink"] == 2
    assert all(kw["access"] == "sequential" and kw["fail_on"] == "warning" for kw in opened)
    assert [(v.width, v.height) for v in variants] == [(1080, 720), (2048, 1365)]


def test_outputs_are_deterministic_across_thread_counts_and_dedupe():
    data = jpeg(noisy(2400, 1600))
    a = build_variants(data, SPECS, Limits(threads=1))
    b = build_variants(data, SPECS, Limits(threads=2))
    c = build_variants(data, SPECS, Limits(threads=2, dedupe=False))
    assert [v.data for v in a] == [v.data for v in b] == [v.data for v in c]
    by = {v.target: v for v in b}
    assert by["facebook"].data == by["linkedin"].data == by["rest"].data  # shared encode


def test_empty_spec_list_returns_nothing():
    assert build_variants(b"whatever", []) == []


def test_memory_is_trimmed_only_above_the_ceiling(monkeypatch):
    trims = []
    monkeypatch.setattr(V, "_malloc_trim", trims.append)
    monkeypatch.setattr(V, "_resident_mb", lambda: 300.0)
    assert V.release_memory(512) is False and V.release_memory(None) is False
    assert V.release_memory(256) is True and V.release_memory(0) is True
    monkeypatch.setattr(V, "_resident_mb", lambda: None)  # unknown: trim to be safe
    assert V.release_memory(512) is True
    assert trims == [0, 0, 0]


def test_trim_ceiling_defaults_to_half_the_lambda_memory(monkeypatch):
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "2048")
    assert Limits().trim_above_mb == 1024
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
    assert Limits().trim_above_mb == 512
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "3008")
    assert Limits().trim_above_mb == 1504


def test_build_variants_trims_when_asked(monkeypatch):
    trims = []
    monkeypatch.setattr(V, "_malloc_trim", trims.append)
    data = jpeg(noisy(600, 400))
    build_variants(data, [REST], Limits(trim_above_mb=None))
    assert trims == []
    build_variants(data, [REST], Limits(trim_above_mb=0))
    assert trims == [0]
