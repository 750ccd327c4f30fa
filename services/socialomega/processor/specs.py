"""Per-target image specs for the variant builder.

A :class:`VariantSpec` says what one publish target accepts: an aspect-ratio range (anything
outside is centre- or attention-cropped to the nearest bound), a bounding box for the output
(never upscaled), an optional pixel-count cap, a byte budget, the JPEG quality to start from,
and a minimum output size: a photo whose variant would be smaller is refused for that target
with the reason (no 1x1 posts).

Each platform's default spec is in its package (``socialomega/platforms/<name>/__init__.py``,
with its sources); its minimum size, where the package sets none, comes from
``MINIMUM_SIZES`` below. ``DEFAULT_SPECS`` holds them as specs, by platform name.

Specs are configuration: the ``/socialomega/<env>/targets`` SSM parameter holds a JSON list of
``{"name": ..., "platform": ..., "spec": {...}}``; :func:`parse_specs` turns it into specs,
starting from ``DEFAULT_SPECS[platform]`` and overriding with the fields given in ``spec``.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from socialomega import platforms

__all__ = ["VariantSpec", "DEFAULT_SPECS", "MINIMUM_SIZES", "parse_specs", "SpecError"]


class SpecError(ValueError):
    """The targets configuration does not describe valid specs."""


class VariantSpec(BaseModel):
    """What one publish target accepts. Aspect ratios are width / height."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    target: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    platform: str = Field(default="rest", min_length=1, max_length=64)
    min_aspect: float = Field(gt=0)
    max_aspect: float = Field(gt=0)
    # Only one policy: crop into the aspect range (no letterbox padding).
    crop: Literal["crop"] = "crop"
    # Where the crop window sits: the centre, libvips' attention (saliency) centre, or against
    # an edge (geometry.EDGES). A photo's `so:crop:` keyword overrides it for that photo.
    interesting: Literal["centre", "attention", "north", "south", "east", "west"] = "centre"
    # Bounding box of the output; the image is fitted inside, never upscaled.
    max_width: int = Field(ge=1, le=65535)
    max_height: int = Field(ge=1, le=65535)
    max_pixels: int | None = Field(default=None, ge=1)
    max_bytes: int = Field(ge=1024)
    format: Literal["jpeg"] = "jpeg"
    quality: int = Field(default=85, ge=1, le=100)
    # Lowest quality the byte-budget loop may go down to before the variant fails.
    min_quality: int = Field(default=60, ge=1, le=100)
    # A variant narrower or lower than this fails (the image is too small for the target).
    min_width: int | None = Field(default=None, ge=1)
    min_height: int | None = Field(default=None, ge=1)

    @field_validator("interesting", mode="before")
    @classmethod
    def _american_centre(cls, v: Any) -> Any:
        return "centre" if v == "center" else v

    @model_validator(mode="after")
    def _consistent(self) -> VariantSpec:
        if self.min_aspect > self.max_aspect:
            raise ValueError(f"min_aspect {self.min_aspect} > max_aspect {self.max_aspect}")
        if self.min_quality > self.quality:
            raise ValueError(f"min_quality {self.min_quality} > quality {self.quality}")
        if self.min_width is not None and self.min_width > self.max_width:
            raise ValueError(f"min_width {self.min_width} > max_width {self.max_width}")
        if self.min_height is not None and self.min_height > self.max_height:
            raise ValueError(f"min_height {self.min_height} > max_height {self.max_height}")
        return self


# The smallest variant each platform is sent, in px, where its package sets no minimum itself.
# Only Instagram documents one; the others are our choice, so that nothing thumbnail-sized (let
# alone 1x1) is ever posted, and a target may override them in its spec.
# * instagram: 320 px wide. Content publishing's image specifications: width 320 to 1440, a
#   narrower image is *scaled up* by Instagram; we refuse it rather than post upscaled pixels
#   (its package sets this; its 4:5..1.91:1 range then implies >= 168 px high).
# * x: UNCONFIRMED. X's media docs give only byte limits (docs.x.com/x-api/media: image 5 MB);
#   a third-party guide (ayrshare.com media guidelines) says >= 4x4. We take 200x200.
# * facebook: UNCONFIRMED. The Graph API Photo reference gives only "less than 10MB";
#   third-party guides give 200x200 as the smallest shared (link) image. We take 200x200.
# * linkedin: UNCONFIRMED. The Images API gives only a maximum (fewer than 36,152,320 pixels);
#   a third-party guide (HubSpot) *recommends* at least 552x276. We take 200x200.
# * rest: UNCONFIRMED, our own generic endpoint with no platform rule: 32x32 keeps 1x1 and
#   icon-sized images out while a receiver may still ask for small renditions.
MINIMUM_SIZES: dict[str, dict[str, int]] = {
    "instagram": {"min_width": 320},
    "x": {"min_width": 200, "min_height": 200},
    "facebook": {"min_width": 200, "min_height": 200},
    "linkedin": {"min_width": 200, "min_height": 200},
    "rest": {"min_width": 32, "min_height": 32},
}


DEFAULT_SPECS: dict[str, VariantSpec] = {
    name: VariantSpec(target=name, platform=name, **{**MINIMUM_SIZES.get(name, {}), **platform.spec})
    for name, platform in platforms.PLATFORMS.items()
}


def parse_specs(obj: Any) -> list[VariantSpec]:
    """Build specs from the targets configuration.

    ``obj`` is the decoded (or still JSON-encoded) value of ``/socialomega/<env>/targets``:
    a list of ``{"name": str, "platform": str, "spec": {...}?, ...}`` (other keys such as
    ``endpoint`` belong to the publishers and are ignored here), or ``{"targets": [...]}``.
    Fields missing from ``spec`` come from ``DEFAULT_SPECS[platform]`` when that platform has
    defaults; otherwise ``spec`` must be complete. Raises :class:`SpecError`.
    """
    if isinstance(obj, (str, bytes, bytearray)):
        try:
            obj = json.loads(obj)
        except ValueError as exc:
            raise SpecError(f"targets config is not JSON: {exc}") from exc
    if isinstance(obj, dict) and "targets" in obj:
        obj = obj["targets"]
    if not isinstance(obj, list):
        raise SpecError("targets config must be a list of {name, platform, spec}")
    specs: list[VariantSpec] = []
    seen: set[str] = set()
    for i, entry in enumerate(obj):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise SpecError(f"targets[{i}]: expected an object with a string 'name'")
        name: str = entry["name"]
        platform = entry.get("platform", name)
        overrides = entry.get("spec") or {}
        if not isinstance(overrides, dict):
            raise SpecError(f"targets[{i}] ({name}): 'spec' must be an object")
        base = DEFAULT_SPECS.get(platform)
        fields = base.model_dump() if base is not None else {}
        fields.update(overrides)
        fields["target"] = name
        fields["platform"] = platform
        try:
            spec = VariantSpec.model_validate(fields)
        except ValidationError as exc:
            raise SpecError(f"targets[{i}] ({name}): {exc}") from exc
        if name in seen:
            raise SpecError(f"targets[{i}]: duplicate target name {name!r}")
        seen.add(name)
        specs.append(spec)
    return specs
