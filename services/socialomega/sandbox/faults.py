"""Fault injection shared by the sandbox fakes: a queue of "the next N matching calls fail"."""

from __future__ import annotations

from collections.abc import MutableSequence
from typing import Protocol


class Countdown(Protocol):
    remaining: int
    path_contains: str | None


def take_fault[F: Countdown](faults: MutableSequence[F], path: str) -> F | None:
    """The first pending fault matching `path`, counted down (and dropped when spent).
    Call it under the fake's lock."""
    for fault in list(faults):
        if fault.path_contains and fault.path_contains not in path:
            continue
        fault.remaining -= 1
        if fault.remaining <= 0:
            faults.remove(fault)
        return fault
    return None
