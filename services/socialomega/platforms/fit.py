"""Whether each publish target's settings fit the publisher function that runs it.

Every HTTP call of a publisher is cut to what the invocation has left (`core/deadline.py`), so a
call configured longer than the function can ever give it is cut every time it is slow: a
post that would have been answered becomes "unknown" (Facebook's 60 s read timeout, which
includes Meta downloading the photo, against a 30 s function). So the longest single call a
target's settings allow (`longest_call_seconds()` of its settings model: connect + read
timeout, an upload or a token request included), plus the margin the deadline keeps back for
saving progress (`DEFAULT_MARGIN_SECONDS`), must fit the function's timeout.

That is a floor, not the time a whole publish takes: a publish makes several calls and waits
for the platform's processing, and every wait stops at the deadline with its progress saved,
so the next delivery goes on from there.

`requests`' read timeout bounds each wait for bytes, not a whole answer (a server that
trickles bytes can hold a call longer, and name resolution is not bounded by it); the
function's own timeout is what ends such a call.

`python -m socialomega.platforms.fit --function-timeout SECONDS` reads the targets as JSON on
stdin (a list, or `{"targets": [...]}`, as `platforms.check`), prints each target's longest
call or the reason it cannot fit, and exits 1 when one cannot.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Mapping
from typing import Any

from socialomega import platforms
from socialomega.core.config import ConfigError
from socialomega.core.deadline import DEFAULT_MARGIN_SECONDS


def _entries(targets: Any) -> list[Any]:
    items = targets.get("targets", targets) if isinstance(targets, Mapping) else targets
    return list(items) if isinstance(items, list) else []


def longest_calls(targets: Any) -> dict[str, float]:
    """Seconds of the longest single call of each target whose settings are valid, by name
    (the entries that are not valid are `platforms.check`'s to name)."""
    found: dict[str, float] = {}
    for index, entry in enumerate(_entries(targets)):
        if not isinstance(entry, dict):
            continue
        try:
            settings = platforms.get(str(entry.get("platform"))).settings(entry)
        except (LookupError, ConfigError):
            continue
        found[str(entry.get("name") or f"targets[{index}]")] = float(settings.longest_call_seconds())
    return found


def unfit_targets(targets: Any, function_timeout: float, margin: float = DEFAULT_MARGIN_SECONDS) -> list[str]:
    """Each target whose longest call plus `margin` cannot fit a function of `function_timeout`
    seconds, with the reason and what would fit (empty: they all fit)."""
    unfit = []
    platform_of = {str(e.get("name")): e.get("platform") for e in _entries(targets) if isinstance(e, dict)}
    for name, longest in longest_calls(targets).items():
        if longest + margin > function_timeout:
            unfit.append(
                f"target {name!r} ({platform_of.get(name)}): one call may take {longest:g} s (connect + read "
                f"timeout) and {margin:g} s are kept back to save progress, more than the publisher "
                f"function's {function_timeout:g} s: lower its timeouts to at most "
                f"{max(function_timeout - margin, 0):g} s in all, or give the function at least "
                f"{math.ceil(longest + margin)} s"
            )
    return unfit


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m socialomega.platforms.fit", description="Check that each target fits its publisher function."
    )
    parser.add_argument("--function-timeout", type=float, required=True, help="the publisher function's timeout (s)")
    args = parser.parse_args(argv)
    try:
        targets = json.loads(sys.stdin.read())
    except json.JSONDecodeError as exc:
        print(f"check-targets: the targets are not JSON: {exc}")
        return 1
    unfit = unfit_targets(targets, args.function_timeout)
    for reason in unfit:
        print(f"check-targets: {reason}")
    if unfit:
        return 1
    calls = ", ".join(f"{name} {seconds:g} s" for name, seconds in longest_calls(targets).items())
    print(f"check-targets: ok, every target's longest call fits a {args.function_timeout:g} s function ({calls})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
