"""Waiting for a platform to finish its processing (an Instagram container, a LinkedIn image, an
X media upload) within the invocation's deadline (`core/deadline.py`).

A publisher polls a status, waits, and polls again. The wait goes through `pause`, which waits
only when the deadline leaves time for the wait and for the status call after it: a wait that
the deadline would cut short is not started at all, since no call could follow it, and the
time is left to the other records of the batch. The publisher then stops with `stopped`: the
id it polls is already saved in its progress, so the next delivery polls it again instead of
creating another.

The publishers keep an injectable `sleep` (tests advance a fake clock with it); `pause` decides
how long it may sleep, so no `sleep` can pass the deadline.
"""

from __future__ import annotations

from collections.abc import Callable

from socialomega.core import deadline, http
from socialomega.core.http import Outcome


def pause(seconds: float, sleep: Callable[[float], None]) -> bool:
    """Sleep `seconds` with `sleep` if the bound deadline leaves time for them and for one more
    status call (`MIN_CALL_SECONDS`) after; True once slept, False at once (nothing slept) if not."""
    if not deadline.current().allows_wait(seconds):
        return False
    if seconds > 0:
        sleep(seconds)
    return True


def stopped(what: str, retry_after: float) -> Outcome:
    """The outcome of a wait loop stopped at the deadline: retryable ("deadline"), asking to be
    redelivered after the wait it did not make (at least `http.DEADLINE_RETRY_SECONDS`)."""
    return http.deadline_outcome(
        f"{what}; stopped at this invocation's deadline, the next delivery polls it again",
        max(retry_after, http.DEADLINE_RETRY_SECONDS),
    )
