"""Fault injection shared by the sandbox fakes: which pending fault a call gets.

A pending fault fires for the calls whose path contains its `path_contains` (every call when
unset), in one of three modes:
  * counted (no `trigger`): the next `remaining` matching calls, then it is spent;
  * rate (`trigger.rate`): each matching call with that probability, decided by the fault's own
    generator seeded with `trigger.seed`. The n-th matching call always gets the n-th draw, so a
    seed replays the same sequence of decisions (which request is the n-th depends on timing);
  * window (`trigger.until`): every matching call until the clock reaches `until` (an outage),
    then the fault is dropped. A rate fault may have a window too: it stops at `until`.
A rate or window fault stays until its window ends or the fault list is cleared.

The fakes' own fault records carry `remaining` and `path_contains` (the `Countdown` protocol)
and, for the rate and window modes, a `trigger` attribute; records without one are counted.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping, MutableSequence
from dataclasses import dataclass, field
from typing import Any, Protocol

Clock = Callable[[], float]


class Countdown(Protocol):
    remaining: int
    path_contains: str | None


@dataclass
class Trigger:
    """When a rate or window fault fires. `until` is a value of the fake's clock
    (`time.monotonic` unless a test injects one)."""

    rate: float | None = None
    seed: int = 0
    until: float | None = None
    draws: int = 0  # decisions made so far (the control API lists it)
    _random: random.Random = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def ended(self, now: float) -> bool:
        return self.until is not None and now >= self.until

    def fires(self) -> bool:
        """One decision for one matching call (always true without a rate)."""
        if self.rate is None:
            return True
        self.draws += 1
        return self._random.random() < self.rate

    def view(self, now: float) -> dict[str, Any]:
        """What the control API shows: the rate, seed and draws, and the seconds left of the window."""
        return {
            "rate": self.rate,
            "seed": self.seed,
            "draws": self.draws,
            "seconds_left": None if self.until is None else max(0.0, round(self.until - now, 3)),
        }


def parse_trigger(spec: Mapping[str, Any], now: float) -> Trigger | None:
    """The trigger of a `/_sandbox/faults` body: `rate` (0 < rate <= 1) with an optional `seed`
    (default 0), and/or `for_seconds` (> 0) from `now`. None for a counted fault. ValueError
    if a value is out of range."""
    rate, seconds = spec.get("rate"), spec.get("for_seconds")
    if rate is None and seconds is None:
        if spec.get("seed") is not None:
            raise ValueError("seed needs a rate")
        return None
    try:
        rate_value = None if rate is None else float(rate)
        seconds_value = None if seconds is None else float(seconds)
        seed = int(spec.get("seed") or 0)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"invalid fault trigger: {exc}") from None
    if rate_value is not None and not 0.0 < rate_value <= 1.0:
        raise ValueError("rate must be more than 0 and at most 1")
    if seconds_value is not None and not seconds_value > 0.0:
        raise ValueError("for_seconds must be positive")
    return Trigger(rate=rate_value, seed=seed, until=None if seconds_value is None else now + seconds_value)


def take_fault[F: Countdown](faults: MutableSequence[F], path: str, *, clock: Clock = time.monotonic) -> F | None:
    """The first pending fault that fires for a call to `path`: a counted one is counted down
    (and dropped when spent), an ended window dropped. A rate fault that draws "no" lets the
    next matching fault decide. Call it under the fake's lock."""
    now = clock()
    for fault in list(faults):
        if fault.path_contains and fault.path_contains not in path:
            continue
        trigger: Trigger | None = getattr(fault, "trigger", None)
        if trigger is None:
            fault.remaining -= 1
            if fault.remaining <= 0:
                faults.remove(fault)
            return fault
        if trigger.ended(now):
            faults.remove(fault)
            continue
        if trigger.fires():
            return fault
    return None
