"""`python -m socialomega.platforms.check`: publish targets checked against the services' own
models before Terraform writes them to SSM (`terraform/bin/check-targets` runs it for `make
plan-preview`, `make plan` and `make deploy`).

Reads the targets as JSON on stdin (a list, or `{"targets": [...]}`) and prints every problem,
naming the target and the key: an unknown key (a typo), a missing or invalid one, an unknown
platform, a duplicate name, a variant spec that cannot work. Exit status 1 when there is one.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from socialomega import platforms
from socialomega.core.config import ConfigError
from socialomega.processor.specs import SpecError, parse_specs  # the processor's own spec check


def problems(entries: Any) -> list[str]:
    """Every problem of a targets list, each naming its target (empty: they all can work)."""
    items = entries.get("targets", entries) if isinstance(entries, dict) else entries
    if not isinstance(items, list):
        return ["the targets must be a list of target entries"]
    found: list[str] = []
    names: set[str] = set()
    for index, entry in enumerate(items):
        if not isinstance(entry, dict):
            found.append(f"targets[{index}] is not an object")
            continue
        name = entry.get("name") or f"targets[{index}]"
        if name in names:
            found.append(f"target {name!r} appears twice: names must be unique")
        names.add(name)
        try:
            platforms.get(str(entry.get("platform")))
        except LookupError as exc:
            found.append(f"target {name!r}: {exc}")
            continue
        try:
            platforms.get(entry["platform"]).settings(entry)
        except ConfigError as exc:
            found.append(str(exc))

        try:
            parse_specs([{"name": name, "platform": entry["platform"], "spec": entry.get("spec") or {}}])
        except SpecError as exc:
            found.append(f"target {name!r}: variant spec: {exc}")
    return found


def main() -> int:
    try:
        entries = json.loads(sys.stdin.read())
    except json.JSONDecodeError as exc:
        print(f"check-targets: the targets are not JSON: {exc}")
        return 1
    found = problems(entries)
    for problem in found:
        print(f"check-targets: {problem}")
    if found:
        return 1
    items = entries.get("targets", entries) if isinstance(entries, dict) else entries
    print(f"check-targets: ok, {len(items)} targets: {', '.join(f'{e["name"]} ({e["platform"]})' for e in items)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
