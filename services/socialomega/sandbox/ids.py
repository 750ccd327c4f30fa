"""Post and media ids for the sandbox fakes that are never reused, not even by a later run.

The real platforms never hand out an id twice; the pipeline relies on that (the post index
`posts/<platform>/<id>.json` names one post). Counters that restart at 1 with every process made
a second `make demo` reuse ids, so its posts overwrote the first run's index entries and
engagement was credited to the wrong photo (issue 15).

An id is the number of microseconds since `EPOCH` on the wall clock, or the last id + 1 when
that is larger: unique and increasing within a process (under a lock), and unique across runs
as long as the clock does not step back (the publisher's create-only post index catches that
case). The epoch is recent so each fake's id keeps a plausible length: 14 digits until 2028,
15 after. `seed=N` counts N, N+1, … without reading the clock, for deterministic tests.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
_EPOCH_MICROS = int(EPOCH.timestamp()) * 1_000_000


def wall_micros() -> int:
    """Microseconds since `EPOCH` on the wall clock (not monotonic: it must hold across processes)."""
    return time.time_ns() // 1000 - _EPOCH_MICROS


class IdSource(Iterator[int]):
    """Thread-safe, strictly increasing positive integers; `next(source)` gives the next one."""

    def __init__(self, seed: int | None = None, clock: Callable[[], int] = wall_micros) -> None:
        if seed is not None and seed < 1:
            raise ValueError(f"seed must be a positive integer, not {seed!r}")
        self._lock = threading.Lock()
        self._last = 0 if seed is None else seed - 1
        self._clock = None if seed is not None else clock

    def __next__(self) -> int:
        with self._lock:
            now = self._clock() if self._clock is not None else 0
            self._last = max(self._last + 1, now)
            return self._last

    def __iter__(self) -> IdSource:
        return self


_PROCESS = IdSource()


def id_source() -> IdSource:
    """The process's one source: every fake and every `reset()` draws from it, so ids stay unique
    in a process even when ids are drawn faster than one per microsecond."""
    return _PROCESS
