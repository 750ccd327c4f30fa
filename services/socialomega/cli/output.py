"""What the operator command prints: a plain table (the default) or JSON (`--json`).

Tables go to stdout, progress and notes to stderr, so `socialomega ... --json | jq` and a
redirected table stay clean. No dependency: columns padded to their widest cell, the last
column left unpadded (it is the long one: a reason, a message)."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, TextIO


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], empty: str = "(none)", max_width: int = 80) -> str:
    """Rows of cells as aligned text; None shows as "-", long cells are cut to `max_width`."""
    if not rows:
        return empty
    text = [[cell_text(cell, max_width) for cell in row] for row in rows]
    head = [h.upper() for h in headers]
    widths = [max(len(line[i]) for line in [head, *text]) for i in range(len(head))]
    lines = []
    for line in [head, *text]:
        padded = [cell.ljust(width) for cell, width in zip(line[:-1], widths[:-1], strict=True)]
        lines.append("  ".join([*padded, line[-1]]).rstrip())
    return "\n".join(lines)


def cell_text(value: Any, max_width: int = 80) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, float):
        text = f"{value:.2f}"
    elif isinstance(value, dict):
        text = ", ".join(f"{k}={v}" for k, v in value.items())
    else:
        text = " ".join(str(value).split())  # one line per row, whatever the cell holds
    return text if len(text) <= max_width else text[: max_width - 1] + "…"


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"not JSON: {type(value).__name__}")


def as_json(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True, default=_default)


def emit(text: str, stream: TextIO | None = None) -> None:
    print(text, file=stream or sys.stdout)


def note(text: str) -> None:
    """Progress and remarks: stderr, never mixed into the table or the JSON."""
    print(text, file=sys.stderr, flush=True)
