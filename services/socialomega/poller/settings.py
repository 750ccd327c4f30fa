"""The poller's own settings, from its environment (defaults when a variable is unset), loaded
the way core/config.py loads the others: a malformed value is a `ConfigError`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from socialomega.core import config


@dataclass(frozen=True)
class PollerSettings:
    """* `park_after`: a photo whose fetch fails on this many polls (a rendition that stays
      404, a download that always breaks) is parked: skipped by later polls until its version
      changes, listed by `socialomega --env <env> parked` and counted in the `PhotosParked`
      metric (poller/parking.py);
    * `photo_min_seconds`: a photo is not started with less than this left in the invocation
      (a rendition download and four small AWS writes; a rendition still being generated waits
      within what is left). The poll stops there and the next one resumes from its cursor.
    """

    park_after: int = 5
    photo_min_seconds: float = 10.0

    VARIABLES: ClassVar[dict[str, str]] = {
        "park_after": "SO_POLLER_PARK_AFTER",
        "photo_min_seconds": "SO_POLLER_PHOTO_MIN_SECONDS",
    }

    @classmethod
    def from_env(cls, variables: Mapping[str, str] | None = None) -> PollerSettings:
        variables = config.environ() if variables is None else variables
        values: dict[str, Any] = {}
        for name, variable in cls.VARIABLES.items():
            raw = variables.get(variable)
            if raw in (None, ""):
                continue
            kind = int if name == "park_after" else float
            try:
                value = kind(raw)
            except ValueError:
                raise config.ConfigError(f"{variable} must be a number, not {raw!r}") from None
            if value <= 0:
                raise config.ConfigError(f"{variable} must be positive, not {raw!r}")
            values[name] = value
        return cls(**values)
