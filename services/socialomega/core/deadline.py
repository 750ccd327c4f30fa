"""The time an invocation has left, and the one way code below a handler respects it.

A Lambda function is stopped at its timeout whatever it is doing: a post half made, a cursor
not saved, a batch redelivered whole. So every handler turns its context into a `Deadline`
(`from_context`), binds it for the invocation (`bound`), and everything below asks the bound
deadline (`current()`) instead of trusting its own constants:

* an HTTP call's timeout is `timeout(configured)`: never longer than what is left minus a
  margin, and `DeadlineReached` before sending when too little is left to wait for an answer;
* a wait loop (a platform processing media, a rendition being generated, a Retry-After)
  sleeps only while `allows_wait(seconds)`: otherwise it stops with its progress saved and the
  work resumes on the next delivery.

`DeadlineReached` is a `RetryLater`-style signal: nothing was lost, the message comes back.
Outside any invocation (tests, scripts) `current()` is a deadline that never comes.

Lambda's context: `get_remaining_time_in_millis()`
(https://docs.aws.amazon.com/lambda/latest/dg/python-context.html).
"""

from __future__ import annotations

import contextvars
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

# What is kept back from every wait: time to save progress, answer the event source mapping
# and log, after the last call returns. Measured need is well under a second on LocalStack;
# real S3 writes take tens of milliseconds.
DEFAULT_MARGIN_SECONDS = 3.0
# An HTTP call given less than this to answer is not worth starting.
MIN_CALL_SECONDS = 1.0


class DeadlineReached(Exception):
    """Too little time is left to start (or go on with) this step; nothing was sent."""

    def __init__(self, what: str, remaining: float, retry_after: float | None = None) -> None:
        super().__init__(f"{what}: only {remaining:.1f} s left in this invocation")
        self.what = what
        self.remaining = remaining
        self.retry_after = retry_after  # when the work is worth resuming (e.g. a platform's processing hint)


class Deadline:
    """A point on the monotonic clock, and a margin kept back from it."""

    def __init__(self, at: float, margin: float = DEFAULT_MARGIN_SECONDS) -> None:
        self.at = at
        self.margin = margin

    @classmethod
    def in_seconds(cls, seconds: float, margin: float = DEFAULT_MARGIN_SECONDS) -> Deadline:
        return cls(time.monotonic() + seconds, margin)

    @classmethod
    def from_context(cls, context: Any, margin: float = DEFAULT_MARGIN_SECONDS) -> Deadline:
        """The invocation's deadline from its Lambda context; none (never) without one."""
        remaining = getattr(context, "get_remaining_time_in_millis", None)
        if remaining is None:
            return NEVER
        return cls.in_seconds(remaining() / 1000.0, margin)

    def remaining(self) -> float:
        """Seconds left before the deadline, margin deducted (may be negative)."""
        return self.at - time.monotonic() - self.margin

    def expired(self, needed: float = 0.0) -> bool:
        """Whether fewer than `needed` seconds are left (margin deducted)."""
        return self.remaining() < needed

    def timeout(self, configured: tuple[float, float] | float, what: str = "call") -> tuple[float, float]:
        """(connect, read) timeouts for one HTTP call: the configured ones, shortened to what is
        left. Raises `DeadlineReached` when less than `MIN_CALL_SECONDS` is left."""
        connect, read = configured if isinstance(configured, tuple) else (configured, configured)
        left = self.remaining()
        if left < MIN_CALL_SECONDS:
            raise DeadlineReached(what, left)
        return (min(connect, left), min(read, left))

    def allows_wait(self, seconds: float) -> bool:
        """Whether a wait of `seconds` still leaves time for the call that follows it (at least
        `MIN_CALL_SECONDS`). A wait loop sleeps only when it does, and otherwise stops at once
        with its progress saved: sleeping up to the deadline would leave no time to use it."""
        return not self.expired(max(seconds, 0.0) + MIN_CALL_SECONDS)

    def __repr__(self) -> str:
        return f"Deadline(remaining={self.remaining():.1f}s)"


NEVER = Deadline(math.inf, 0.0)

_current: contextvars.ContextVar[Deadline] = contextvars.ContextVar("socialomega_deadline", default=NEVER)


def current() -> Deadline:
    """The deadline bound for this invocation (`NEVER` outside one)."""
    return _current.get()


@contextmanager
def bound(deadline: Deadline) -> Iterator[Deadline]:
    """Make `deadline` the one `current()` answers, for the duration of the block."""
    token = _current.set(deadline)
    try:
        yield deadline
    finally:
        _current.reset(token)
