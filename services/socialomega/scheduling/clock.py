"""The schedule's clock: real UTC time, or, for tests and local runs, a faster one.

A day of slots takes a day to play out. To watch it in seconds, tests and local runs set

    SO_SCHEDULE_CLOCK_SCALE=1440                          # virtual seconds per real second (>= 1)
    SO_SCHEDULE_CLOCK_EPOCH=2026-12-07T08:59:00+00:00     # ISO 8601 with an offset: where both clocks meet

and the schedule reads `epoch + (real now - epoch) * scale`: from the epoch on, a real minute is
a virtual day. Only the clock is compressed; the planning logic is the same. Both variables are
set or neither (every process of a run then reads the same virtual time). Never set them in AWS
(the Terraform configuration sets neither): a deployed schedule runs on real time.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

from socialomega.core import config
from socialomega.core.config import ConfigError

SCALE_VARIABLE = "SO_SCHEDULE_CLOCK_SCALE"
EPOCH_VARIABLE = "SO_SCHEDULE_CLOCK_EPOCH"
MAX_SCALE = 1_000_000.0  # a virtual year in about half a real minute; more risks leaving datetime's range


def _real_now() -> datetime:
    return datetime.now(UTC)


class ScheduleClock:
    """`now()` in UTC (aware), scaled from `epoch` when `scale` is given."""

    def __init__(
        self,
        scale: float | None = None,
        epoch: datetime | None = None,
        *,
        real_now: Callable[[], datetime] = _real_now,
    ) -> None:
        if (scale is None) != (epoch is None):
            raise ValueError("a scaled clock needs both a scale and an epoch (or neither: real time)")
        if scale is not None and not (isinstance(scale, int | float) and math.isfinite(scale)):
            raise ValueError(f"the clock's scale is a number; got {scale!r}")
        if scale is not None and not 1 <= scale <= MAX_SCALE:
            raise ValueError(f"the clock's scale is from 1 to {MAX_SCALE:g}; got {scale!r}")
        if epoch is not None and (epoch.tzinfo is None or epoch.utcoffset() is None):
            raise ValueError(f"the clock's epoch needs a UTC offset; got {epoch.isoformat()}")
        self.scale = float(scale) if scale is not None else None
        self.epoch = epoch.astimezone(UTC) if epoch is not None else None
        self._real_now = real_now

    @property
    def is_real(self) -> bool:
        return self.scale is None

    def now(self) -> datetime:
        real = self._real_now().astimezone(UTC)
        if self.scale is None or self.epoch is None:
            return real
        return self.epoch + (real - self.epoch) * self.scale

    def real_seconds(self, virtual: timedelta) -> float:
        """How long to wait, in real seconds, for `virtual` to pass on this clock (0 for a span
        already over)."""
        return max(virtual.total_seconds(), 0.0) / (self.scale or 1.0)

    @classmethod
    def from_env(cls, variables: Mapping[str, str] | None = None) -> ScheduleClock:
        """The clock the environment asks for: real time unless both variables are set."""
        variables = config.environ() if variables is None else variables
        raw_scale = variables.get(SCALE_VARIABLE, "").strip()
        raw_epoch = variables.get(EPOCH_VARIABLE, "").strip()
        if not raw_scale and not raw_epoch:
            return cls()
        if not raw_scale or not raw_epoch:
            given, missing = (SCALE_VARIABLE, EPOCH_VARIABLE) if raw_scale else (EPOCH_VARIABLE, SCALE_VARIABLE)
            raise ConfigError(f"{given} is set but {missing} is not: set both (a compressed schedule clock) or neither")
        try:
            scale = float(raw_scale)
        except ValueError:
            scale = math.nan
        if not (math.isfinite(scale) and 1 <= scale <= MAX_SCALE):
            raise ConfigError(
                f"{SCALE_VARIABLE} must be a number from 1 to {MAX_SCALE:g} (virtual seconds per real second); "
                f"got {raw_scale[:40]!r}"
            )
        try:
            epoch = datetime.fromisoformat(raw_epoch)
        except ValueError:
            epoch = None
        if epoch is None or epoch.utcoffset() is None:
            raise ConfigError(
                f"{EPOCH_VARIABLE} must be an ISO 8601 date and time with an offset, such as "
                f"2026-12-07T09:00:00+00:00; got {raw_epoch[:60]!r}"
            )
        return cls(scale, epoch)


class EnvironmentClock:
    """`ScheduleClock.from_env()` read at every `now()`: for a function built once and kept warm
    (the publisher's service), whose environment a local run may change between invocations."""

    def now(self) -> datetime:
        return ScheduleClock.from_env().now()
