"""The registry: every platform SocialOmega publishes to, by the name a target entry gives.

One package per platform (`platforms/<name>/`, see `base.py` for what it holds); adding one is a
line below (README, "Adding a platform"). The order is the order of the sandbox's targets and
of the default specs. Loading the registry loads only the descriptors: the packages' settings,
publisher and webhook modules are imported when first used.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from types import MappingProxyType

from socialomega.platforms.base import CaptionRules, Platform

__all__ = ["PLATFORMS", "CaptionRules", "Platform", "get"]


def _load(*names: str) -> Mapping[str, Platform]:
    found: dict[str, Platform] = {}
    for name in names:
        platform = importlib.import_module(f"{__name__}.{name}").PLATFORM
        if not isinstance(platform, Platform) or platform.name != name:
            raise TypeError(f"{__name__}.{name}.PLATFORM is not the Platform named {name!r}")
        found[name] = platform
    return MappingProxyType(found)


PLATFORMS: Mapping[str, Platform] = _load(
    "instagram",
    "x",
    "facebook",
    "linkedin",
    "rest",
)


def get(name: str) -> Platform:
    """The platform named `name`; LookupError when there is none."""
    try:
        return PLATFORMS[name]
    except KeyError:
        raise LookupError(f"unknown platform {name!r} (known: {', '.join(PLATFORMS)})") from None
