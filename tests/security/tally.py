"""What the attack suites tried and what got through, printed at the end of `make test-security`.

A suite calls `count(suite, what, n)` for each thing it measured (for example
`count("ssrf", "hostile URLs", 84)` and `count("ssrf", "requests that reached a listener", 0)`);
the summary prints one line per suite so CI's log shows the figures, not only a pass.
"""

from __future__ import annotations

from collections import defaultdict
from threading import Lock

_counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
_lock = Lock()


def count(suite: str, what: str, n: int = 1) -> None:
    with _lock:
        _counts[suite][what] += n


def summary() -> list[str]:
    with _lock:
        return [
            f"{suite}: " + ", ".join(f"{what} {n}" for what, n in sorted(figures.items()))
            for suite, figures in sorted(_counts.items())
        ]
