"""Build every target's variant of one image with libvips, decoding the source once.

Pipeline (see ``build_variants``):

1. Open the header only (libvips is lazy) with ``fail_on=Limits.fail_on`` ("warning") and
   reject, before any pixel is decoded: empty/oversized input, unknown formats, loaders outside
   the allow-list, and images whose declared width x height exceeds ``Limits.max_pixels``
   (decompression bombs).
2. Plan every variant geometrically (:mod:`.geometry`): displayed size after EXIF orientation,
   crop window into the spec's aspect range, output size fitted in the box, never upscaled.
3. Decode ONCE: JPEGs reopen with the largest shrink-on-load factor (DCT scaling 1/2/4/8) that
   still leaves every variant enough pixels, with sequential access. In the same pipeline the
   image is resized to the *intermediate*: the smallest uniform scale that still covers every
   variant (usually the largest variant itself), colour-managed if needed, and materialised in
   memory. libvips overlaps the single-threaded JPEG decode with the resize on its worker
   threads, and never holds the full-size decode in memory.
4. Apply the EXIF orientation to the (small) intermediate; derive each variant from it by crop
   + resize, encode baseline JPEG with all metadata stripped, and keep within ``max_bytes`` by
   re-encoding at lower quality in bounded steps. Variants are encoded in a small thread pool
   (libvips releases the GIL). Targets with identical geometry and quality share one render
   and encode (each still gets its own byte-budget check); a smaller variant is derived from
   the smallest larger render that covers it (a fixed pyramid, so outputs are deterministic).
5. If the process's resident memory is then above ``Limits.trim_above_mb``, ``malloc_trim``
   (glibc) gives freed heap back to the OS, so a warm Lambda's RSS stays bounded.

Measured and dropped (paired runs on 24 and 45 MP): streaming the intermediate into the
variant jobs through a strip cache so the largest encode overlaps the decode (slower at both
sizes: the cache costs more than the overlap gains), one libvips thread per job pipeline and a
third worker thread (no gain), Catmull-Rom (as fast as lanczos2, a little softer), and reusing
one intermediate buffer across calls (saves ~8,000 page faults, ~30 ms of CPU, but no wall
time: the decode, not the CPU, bounds that phase).

Damaged data: the decode fails on libjpeg's *warnings* too (``fail_on="warning"``), because a
JPEG whose scan data ends early is only a warning to libjpeg ("Corrupt JPEG data: premature end
of data segment"), which fills the missing rows with grey: under ``fail_on="error"`` and
``"truncated"`` alike (measured, libvips 8.18), 64x64 of scan data under an SOF claiming
9000x9000 (issue 12's case: a 4096x4096 grey X post), or a JPEG cut mid-scan with its EOI
marker put back, decoded to grey.
Measured on the 88 JPEGs of github.com/ianare/exif-samples (cameras and phones of many makes,
several with malformed EXIF), through ``build_variants`` with every default spec: the 87 sound
ones decode under "warning" (25 of them are thumbnails that the minimum sizes then refuse for
some or all targets); the one that fails (``corrupted.jpg``) already failed under "error".
EXIF parsing problems are not decoder warnings and do not count. Not every damage warns: bytes
zeroed mid-scan can decode silently to wrong pixels, and are not detected.

Not done: WebP/PNG/TIFF shrink-on-load (only JPEG has a DCT shrink; others decode at full
size, still once).

Colour: with no ICC profile the pixels are taken as sRGB and nothing is converted (conversion
is costly); an embedded sRGB profile is kept as is; any other profile (Display P3, Adobe RGB,
CMYK, ...) is converted to sRGB and the output carries the sRGB profile. Only the ICC block
survives saving (``keep=ICC``); EXIF (including GPS and orientation), XMP and IPTC never do.

Loaders: libvips' untrusted loaders are blocked, and so is every other loader except JPEG, PNG,
WebP and TIFF (``Limits.allowed_loaders`` narrows this further per call). Lightroom renditions
are JPEG; PNG/WebP/TIFF cover the inbox. HEIF, GIF, SVG, PDF, FITS, Matlab, ImageMagick etc. are
refused: they are either not needed or not hardened against hostile input.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Literal

import pyvips
from pydantic import BaseModel, ConfigDict, Field

from .geometry import Box, GeometryError, VariantPlan, displayed_size, plan_variant, shrink_on_load
from .specs import VariantSpec

__all__ = [
    "ImageRejected",
    "VariantsIncomplete",
    "Variant",
    "Limits",
    "build_variants",
    "harden_libvips",
    "release_memory",
    "SUPPORTED_LOADERS",
    "RESAMPLE_KERNEL",
]

# Loader families that may ever run, mapped to their libvips base classes.
SUPPORTED_LOADERS: dict[str, str] = {
    "jpeg": "VipsForeignLoadJpeg",
    "png": "VipsForeignLoadPng",
    "webp": "VipsForeignLoadWebp",
    "tiff": "VipsForeignLoadTiff",
}

_KEEP_NONE = int(pyvips.enums.ForeignKeep.NONE)
_KEEP_ICC = int(pyvips.enums.ForeignKeep.ICC)

# Resampling kernel for every downscale. lanczos2 (a two-lobe windowed sinc) instead of
# libvips' default lanczos3: ~5% faster per photo (paired runs, 24 and 45 MP), and the outputs
# differ from lanczos3's by 48 dB PSNR (52 dB for a 2:1 step) on the bench's noisy camera
# image, while the Q85 JPEG encode that follows differs from its own input by 36 dB: the
# kernel's difference is ~16x smaller than the compression error every variant carries.
RESAMPLE_KERNEL = "lanczos2"


class ImageRejected(Exception):
    """The input can never be processed (corrupt, truncated, not an image, bomb, unsupported).

    Permanent: retrying will not help; the handler routes the message to the DLQ.
    """

    permanent = True

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class VariantsIncomplete(ImageRejected):
    """Some variants could not meet their spec (e.g. byte budget, minimum width).

    ``variants`` holds the ones that were built (publishable); ``failures`` maps each failed
    target to its reason. Permanent for the failed targets only.
    """

    def __init__(self, variants: list[Variant], failures: dict[str, str]) -> None:
        reason = "; ".join(f"{t}: {r}" for t, r in failures.items())
        super().__init__(f"{len(failures)} variant(s) failed: {reason}")
        self.variants = variants
        self.failures = failures


@dataclass(frozen=True, slots=True)
class Variant:
    target: str
    data: bytes = field(repr=False)
    width: int
    height: int
    format: str = "jpeg"
    quality: int = 0

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def content_type(self) -> str:
        return "image/jpeg"


class Limits(BaseModel):
    """Safety and performance knobs for one ``build_variants`` call."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_pixels: int = Field(default=100_000_000, ge=1)  # declared width*height
    max_input_bytes: int = Field(default=100 * 1024 * 1024, ge=1)
    # libvips' fail_on for every load: "warning" also rejects data libjpeg only warns about
    # (scan data that ends early, decoded as grey); see the module docstring.
    fail_on: Literal["none", "truncated", "error", "warning"] = "warning"
    allowed_loaders: tuple[str, ...] = ("jpeg", "png", "webp", "tiff")
    quality_step: int = Field(default=8, ge=1, le=50)
    max_encodes: int = Field(default=5, ge=1, le=20)  # per variant, incl. the first
    optimize_coding: bool = False
    # Targets whose geometry and encoding parameters are identical share one render + encode.
    dedupe: bool = True
    # After a call, give freed heap back to the OS only if resident memory is above this
    # (None: never; 0: always). See release_memory.
    trim_above_mb: int | None = Field(default_factory=lambda: _default_trim_above_mb(), ge=0)
    threads: int = Field(default_factory=lambda: max(1, min(2, os.cpu_count() or 1)), ge=1)


def _load_malloc_trim() -> Callable[[int], int] | None:
    try:
        import ctypes
        import ctypes.util

        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
        trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
        return trim
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to do
        return None


_malloc_trim = _load_malloc_trim()


def _default_trim_above_mb() -> int:
    """Half the function's memory (the Lambda runtime sets AWS_LAMBDA_FUNCTION_MEMORY_SIZE),
    else 512 MB."""
    try:
        return max(128, int(os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]) // 2)
    except (KeyError, ValueError):
        return 512


def _resident_mb() -> float | None:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return None


def release_memory(above_mb: int | None = 0) -> bool:
    """Give freed heap pages back to the OS (glibc only) if resident memory is above
    ``above_mb`` (or unknown). Returns whether it trimmed.

    libvips frees tens of MB per call in many blocks, and glibc keeps them in per-thread
    arenas for reuse. Measured (30 calls alternating 24 and 45 MP): resting RSS levels off at
    ~350 MB untrimmed, against ~190 MB when trimming after every call; but trimming every call
    costs 20-30 ms of a ~360 ms call (the trim, then page faults on the next call's fresh
    memory). So trimming is a ceiling, not a habit: the default, half the Lambda's memory, is
    only reached by unusually large inputs. The processor image also sets MALLOC_ARENA_MAX=2,
    which keeps resting RSS near 200 MB without any trimming.
    """
    if _malloc_trim is None or above_mb is None:
        return False
    resident = _resident_mb()
    if resident is not None and resident <= above_mb:
        return False
    _malloc_trim(0)
    return True


_harden_lock = threading.Lock()
_hardened: tuple[str, ...] | None = None


def harden_libvips(allowed: Iterable[str] = SUPPORTED_LOADERS) -> None:
    """Process-wide: block untrusted loaders and every loader outside ``allowed``.

    Idempotent; call again with a different set to change it. Unknown names raise ValueError.
    """
    global _hardened
    wanted = tuple(sorted(set(allowed)))
    unknown = [a for a in wanted if a not in SUPPORTED_LOADERS]
    if unknown:
        raise ValueError(f"unsupported loaders {unknown}; choose from {sorted(SUPPORTED_LOADERS)}")
    with _harden_lock:
        if _hardened == wanted:
            return
        pyvips.block_untrusted_set(True)
        pyvips.operation_block_set("VipsForeignLoad", True)
        for name, cls in SUPPORTED_LOADERS.items():
            pyvips.operation_block_set(cls, name not in wanted)
        _hardened = wanted


def _first_line(err: Exception) -> str:
    text = str(err).strip()
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    # pyvips.Error: "unable to call X\n  detail..." - the detail is the useful bit.
    return (lines[-1] if lines else text)[:300]


def _loader_family(image: pyvips.Image) -> str:
    loader = image.get("vips-loader") if "vips-loader" in image.get_fields() else ""
    return loader.split("load", 1)[0] if "load" in loader else loader


def _orientation(image: pyvips.Image) -> int:
    if "orientation" in image.get_fields():
        try:
            o = int(image.get("orientation"))
        except (TypeError, ValueError):
            return 1
        return o if 1 <= o <= 8 else 1
    return 1


def _icc_description(profile: bytes) -> str:
    """The 'desc' text of an ICC profile (v2 textDescription or v4 mluc), or ''."""
    try:
        count = int.from_bytes(profile[128:132], "big")
        for i in range(min(count, 100)):
            off = 132 + 12 * i
            sig = profile[off : off + 4]
            if sig != b"desc":
                continue
            start = int.from_bytes(profile[off + 4 : off + 8], "big")
            size = int.from_bytes(profile[off + 8 : off + 12], "big")
            tag = profile[start : start + size]
            if tag[:4] == b"desc":
                n = int.from_bytes(tag[8:12], "big")
                return tag[12 : 12 + n].rstrip(b"\0").decode("latin-1")
            if tag[:4] == b"mluc":
                rec_len_off = 20
                length = int.from_bytes(tag[rec_len_off : rec_len_off + 4], "big")
                str_off = int.from_bytes(tag[rec_len_off + 4 : rec_len_off + 8], "big")
                return tag[str_off : str_off + length].decode("utf-16-be", "replace")
    except Exception:  # malformed profile: treat as "not sRGB" and convert
        return ""
    return ""


def _is_srgb(profile: bytes) -> bool:
    return "srgb" in _icc_description(profile).lower().replace(" ", "")


def _to_srgb8(image: pyvips.Image) -> tuple[pyvips.Image, int]:
    """Colour-manage to 8-bit sRGB without alpha. Returns (image, keep flags for saving)."""
    keep = _KEEP_NONE
    fields = image.get_fields()
    if "icc-profile-data" in fields:
        profile = image.get("icc-profile-data")
        if _is_srgb(profile) and image.interpretation in ("srgb", "rgb16"):
            keep = _KEEP_ICC  # already sRGB: no conversion, pass the profile through
        else:
            image = image.icc_transform("srgb", embedded=True, depth=8)
            keep = _KEEP_ICC  # icc_transform attached the sRGB profile
    elif image.interpretation == "cmyk":
        image = image.icc_transform("srgb", input_profile="cmyk", depth=8)
        keep = _KEEP_ICC
    if image.interpretation not in ("srgb",) or image.format != "uchar":
        image = image.colourspace("srgb")
        if image.format != "uchar":
            image = image.cast("uchar")
    if image.hasalpha():
        image = image.flatten(background=[255, 255, 255])
        if image.format != "uchar":
            image = image.cast("uchar")
    if image.bands > 3:
        image = image.extract_band(0, n=3)
    return image, keep


def _attention_focus(inter: pyvips.Image, plan: VariantPlan) -> tuple[float, float]:
    """Attention centre, in displayed coordinates, found on a small proxy of the intermediate."""
    scale = min(1.0, 512 / max(inter.width, inter.height))
    proxy = inter.resize(scale) if scale < 1 else inter
    dw, dh = plan.display
    cw = max(1, min(proxy.width, round(plan.crop.width * proxy.width / dw)))
    ch = max(1, min(proxy.height, round(plan.crop.height * proxy.height / dh)))
    _, opts = proxy.smartcrop(cw, ch, interesting="attention", attention_x=True, attention_y=True)
    return opts["attention_x"] * dw / proxy.width, opts["attention_y"] * dh / proxy.height


def _render(source: pyvips.Image, covers: Box, plan: VariantPlan) -> pyvips.Image:
    """Crop + resize ``source`` (an image of the displayed-frame box ``covers``) to the plan."""
    fx, fy = source.width / covers.width, source.height / covers.height
    left = min(source.width - 1, max(0, round((plan.crop.left - covers.left) * fx)))
    top = min(source.height - 1, max(0, round((plan.crop.top - covers.top) * fy)))
    cw = max(1, min(source.width - left, round(plan.crop.width * fx)))
    ch = max(1, min(source.height - top, round(plan.crop.height * fy)))
    region = source
    if (left, top, cw, ch) != (0, 0, source.width, source.height):
        region = source.crop(left, top, cw, ch)
    ow, oh = plan.output
    if (cw, ch) != (ow, oh):
        region = region.resize(ow / cw, vscale=oh / ch, kernel=RESAMPLE_KERNEL)
        if (region.width, region.height) != (ow, oh):  # guard against rounding by libvips
            region = region.gravity("centre", ow, oh, extend="copy")
    return region


@dataclass(eq=False)
class _Job:
    """One render + encode, shared by every target with the same geometry and quality."""

    spec: VariantSpec  # the first target's spec (geometry/quality are shared)
    plan: VariantPlan
    budgets: dict[str, int]  # target -> its max_bytes (the group shares pixels, not budgets)
    targets: list[str]
    parent: _Job | None = None
    children: list[_Job] = field(default_factory=list)
    source: pyvips.Image | None = None  # materialised render, when children derive from it
    result: dict[str, Variant | str] | None = None
    error: BaseException | None = None

    @property
    def pixels(self) -> int:
        return self.plan.output[0] * self.plan.output[1]

    def scale(self) -> tuple[float, float]:
        return (self.plan.output[0] / self.plan.crop.width, self.plan.output[1] / self.plan.crop.height)


def _covers(parent: _Job, child: _Job) -> bool:
    """Can ``child`` be derived from ``parent``'s output without losing resolution?"""
    if "attention" in (parent.spec.interesting, child.spec.interesting):
        return False  # attention crops move; keep them independent
    p, c = parent.plan.crop, child.plan.crop
    inside = (
        p.left <= c.left
        and p.top <= c.top
        and c.left + c.width <= p.left + p.width
        and c.top + c.height <= p.top + p.height
    )
    (psx, psy), (csx, csy) = parent.scale(), child.scale()
    return inside and psx >= csx - 1e-9 and psy >= csy - 1e-9


def _plan_jobs(specs: Sequence[VariantSpec], plans: dict[str, VariantPlan], dedupe: bool) -> list[_Job]:
    """Group identical variants; give each the smallest earlier render it can derive from.

    Deriving a 1080 px variant from the 2048 px render (instead of the large intermediate) is
    a pyramid: fewer pixels read, and deterministic because the tree is fixed up front.
    """
    groups: dict[tuple[object, ...], _Job] = {}
    for spec in specs:
        plan = plans.get(spec.target)
        if plan is None:
            continue
        key = (plan, spec.interesting, spec.quality, spec.min_quality) if dedupe else (spec.target,)
        job = groups.get(key)
        if job is None:
            groups[key] = _Job(spec, plan, {spec.target: spec.max_bytes}, [spec.target])
        else:
            job.targets.append(spec.target)
            job.budgets[spec.target] = spec.max_bytes
    jobs = sorted(groups.values(), key=lambda j: j.pixels, reverse=True)
    for i, job in enumerate(jobs):
        candidates = [p for p in jobs[:i] if _covers(p, job)]
        if candidates:
            job.parent = min(candidates, key=lambda p: p.pixels)
            job.parent.children.append(job)
    return jobs


class _Runner:
    """Render and encode every job; a job's children start as soon as its pixels exist.

    A class rather than closures, and every job link is cut at the end: reference cycles
    would keep the (large) intermediate alive until the cyclic GC happens to run.
    """

    def __init__(
        self,
        inter: pyvips.Image,
        full: Box,
        keep: int,
        limits: Limits,
        replan: Callable[[VariantSpec, VariantPlan, tuple[float, float]], VariantPlan],
    ) -> None:
        self.inter, self.full, self.keep, self.limits, self.replan = inter, full, keep, limits, replan
        self.done = threading.Semaphore(0)
        self.pool: ThreadPoolExecutor | None = None
        self.queue: list[_Job] = []

    def submit(self, job: _Job) -> None:
        if self.pool is not None:
            self.pool.submit(self.run, job)
        else:
            self.queue.append(job)

    def run(self, job: _Job) -> None:
        try:
            parent = job.parent
            if parent is not None and parent.source is not None:
                source, covers = parent.source, parent.plan.crop
            else:
                source, covers = self.inter, self.full
            plan = job.plan
            try:
                if job.spec.interesting == "attention" and (plan.crop.width, plan.crop.height) != plan.display:
                    plan = self.replan(job.spec, plan, _attention_focus(self.inter, plan))
                out = _render(source, covers, plan)
                if job.children and out is not source:
                    job.source = out = out.copy_memory()
                elif job.children:
                    job.source = out  # the intermediate itself: already cached, never copied
            finally:
                for child in job.children:
                    self.submit(child)
            encoded = _encode(out, job.spec, job.budgets, self.keep, self.limits)
            job.result = {
                t: r if isinstance(r, str) else Variant(t, r[0], out.width, out.height, "jpeg", r[1])
                for t, r in encoded.items()
            }
        except GeometryError as exc:
            job.result = {t: str(exc) for t in job.targets}
        except BaseException as exc:  # unexpected: surfaced to the caller, not swallowed
            job.error = exc
        finally:
            self.done.release()

    def run_all(self, jobs: list[_Job]) -> None:
        workers = min(self.limits.threads, len(jobs))
        if workers > 1:
            self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="variant")
        try:
            for job in jobs:
                if job.parent is None:
                    self.submit(job)
            while self.queue:
                self.run(self.queue.pop(0))
            for _ in jobs:
                self.done.acquire()
        finally:
            if self.pool is not None:
                self.pool.shutdown(wait=True)
            self.pool = None
            self.inter = None
            for job in jobs:
                job.source, job.parent, job.children = None, None, []


def _encode(
    image: pyvips.Image, spec: VariantSpec, budgets: dict[str, int], keep: int, limits: Limits
) -> dict[str, tuple[bytes, int] | str]:
    """Encode from ``spec.quality`` down in bounded steps; each target (with its own byte
    budget) gets the first, i.e. highest-quality, encode that fits, or a failure reason."""
    quality = spec.quality
    attempts = 0
    sizes: list[str] = []
    result: dict[str, tuple[bytes, int] | str] = {}
    while True:
        attempts += 1
        buf = image.jpegsave_buffer(
            Q=quality,
            keep=keep,
            optimize_coding=limits.optimize_coding,
            interlace=False,
        )
        sizes.append(f"Q{quality}={len(buf)}")
        for target, budget in budgets.items():
            if target not in result and len(buf) <= budget:
                result[target] = (buf, quality)
        waiting = {t: b for t, b in budgets.items() if t not in result}
        if not waiting:
            return result
        if quality <= spec.min_quality or attempts >= limits.max_encodes:
            for target, budget in waiting.items():
                result[target] = (
                    f"encoded size exceeds max_bytes {budget} even at quality {quality} (tried {', '.join(sizes)})"
                )
            return result
        # Bytes shrink faster than linearly with Q near the top; step harder when far over.
        over = len(buf) / max(waiting.values())
        step = limits.quality_step * (2 if over > 1.5 else 1)
        quality = max(spec.min_quality, quality - step)


def build_variants(data: bytes, specs: Sequence[VariantSpec], limits: Limits | None = None) -> list[Variant]:
    """Build one variant per spec from the encoded image ``data``, in ``specs`` order.

    Raises :class:`ImageRejected` (permanent) when the input is unusable, and
    :class:`VariantsIncomplete` (a subclass, carrying the built variants) when only some
    targets failed. Other exceptions (e.g. MemoryError) are unexpected and may be retried.
    """
    limits = limits or Limits()
    harden_libvips(limits.allowed_loaders)
    if not specs:
        return []
    if not data:
        raise ImageRejected("empty input")
    if len(data) > limits.max_input_bytes:
        raise ImageRejected(f"input is {len(data)} bytes, above the {limits.max_input_bytes} limit")

    # 1. Header only: nothing is decoded yet. One zero-copy source serves the header and the
    # shrink-on-load reopen (new_from_buffer copies the whole input into a blob on each call).
    source = pyvips.Source.new_from_memory(data)
    try:
        header = pyvips.Image.new_from_source(source, "", access="sequential", fail_on=limits.fail_on)
    except pyvips.Error as exc:
        raise ImageRejected(f"not a supported image ({_first_line(exc)})") from None
    family = _loader_family(header)
    if family not in limits.allowed_loaders:
        raise ImageRejected(f"image format {family or 'unknown'!r} is not accepted")
    width, height = header.width, header.height
    if width * height > limits.max_pixels:
        raise ImageRejected(
            f"image declares {width}x{height} = {width * height} pixels, above the "
            f"{limits.max_pixels} limit (possible decompression bomb)"
        )
    orientation = _orientation(header)

    # 2. Geometry.
    plans: dict[str, VariantPlan] = {}
    failures: dict[str, str] = {}
    for spec in specs:
        try:
            plans[spec.target] = plan_variant(width, height, orientation, spec)
        except GeometryError as exc:
            failures[spec.target] = str(exc)
    if not plans:
        raise VariantsIncomplete([], failures)

    # 3. Decode once, shrink-on-load, resize into the intermediate.
    try:
        if family == "jpeg":
            shrink = shrink_on_load(list(plans.values()))
            image = (
                header
                if shrink == 1
                else pyvips.Image.new_from_source(
                    source, "", access="sequential", fail_on=limits.fail_on, shrink=shrink
                )
            )
        else:
            image = header
        # Intermediate size (displayed frame): per axis, the most any variant needs.
        dw, dh = displayed_size(width, height, orientation)
        ldw, ldh = displayed_size(image.width, image.height, orientation)
        iw = min(ldw, max(round(ldw * p.output[0] / p.crop.width * dw / ldw) for p in plans.values()))
        ih = min(ldh, max(round(ldh * p.output[1] / p.crop.height * dh / ldh) for p in plans.values()))
        iw, ih = max(1, iw), max(1, ih)
        # Resizing inside the decode pipeline overlaps with the (single-threaded) JPEG decode;
        # measured faster than keeping the decode and resizing per variant afterwards.
        if (iw, ih) != (ldw, ldh):
            tw, th = (ih, iw) if (ldw, ldh) != (image.width, image.height) else (iw, ih)
            image = image.resize(tw / image.width, vscale=th / image.height, kernel=RESAMPLE_KERNEL)
            if (image.width, image.height) != (tw, th):  # libvips rounding guard
                image = image.gravity("centre", tw, th, extend="copy")
        image, keep = _to_srgb8(image)
        inter = image.copy_memory()  # the one decode happens here
    except pyvips.Error as exc:
        raise ImageRejected(f"image data is corrupt or truncated ({_first_line(exc)})") from None

    if orientation != 1:  # autorot needs random access: rotate the materialised intermediate
        inter = inter.autorot().copy_memory()

    # 4. Derive, encode, check budgets.
    jobs = _plan_jobs(specs, plans, limits.dedupe)
    full = Box(0, 0, *displayed_size(width, height, orientation))
    try:
        _Runner(
            inter, full, keep, limits, lambda spec, plan, focus: plan_variant(width, height, orientation, spec, focus)
        ).run_all(jobs)
    finally:
        del inter, image, header, source
        release_memory(limits.trim_above_mb)
    results: dict[str, Variant | str] = {}
    for job in jobs:
        if job.error is not None:
            raise job.error
        results.update(job.result or {})

    variants: list[Variant] = []
    for spec in specs:
        r = results.get(spec.target)
        if isinstance(r, Variant):
            variants.append(r)
        elif isinstance(r, str):
            failures[spec.target] = r
    if failures:
        raise VariantsIncomplete(variants, failures)
    return variants
