"""Where each source's polling stands: `state/poller/<source>.json`, written with compare-and-swap.

    {"updated_since": "...",            the source's watermarks (`PhotoSource.next_cursor`)
     "polled_at": "...",
     "pass": {"id", "started_at",       a pass over the source that a poll's deadline cut:
              "resume", "failed"},      where the next poll resumes, and whether a photo of
                                        the pass failed (then the watermarks stay put)
     "last_pass": "<id>"}               the last pass completed

A pass is one walk through a source's listing; it may span several polls (each stops before
its deadline with `save_progress`), and a completed one moves the watermarks (`finish`), only
if no photo of it failed: a failing photo must be listed again until it succeeds or is parked.

Every write is a read-modify-write on the document's ETag (`Documents.update`: If-Match, or
If-None-Match for the first), so two concurrent polls never overwrite each other blindly:
watermarks only move forward (the greater value wins, whatever order the writes land in), a
poll records its progress only for the pass it walks (not over another poll's pass in
progress, nor over a pass already completed), and completing a pass clears only its own
progress. A photo detected by both polls is announced at most twice (its detection marker is
written after the message; downstream is idempotent), and none is skipped.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from socialomega.core import store as keys
from socialomega.core.ports import Documents

_OWN_FIELDS = ("pass", "polled_at", "last_pass")


@dataclass
class Pass:
    id: str
    started_at: str
    resume: dict[str, Any]
    failed: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "started_at": self.started_at, "resume": self.resume, "failed": self.failed}


@dataclass
class Cursors:
    store: Documents

    def begin(self, source: str, now: str) -> tuple[dict[str, Any], Pass]:
        """The cursor to list `source` with, and the pass this poll walks: the saved one (its
        `resume` position) or a new one."""
        doc = self.store.get(keys.cursor_key(source))
        data: dict[str, Any] = dict(doc.data) if doc is not None else {}
        saved = data.get("pass")
        if isinstance(saved, dict) and saved.get("id"):
            walk = Pass(
                str(saved["id"]),
                str(saved.get("started_at") or now),
                dict(saved.get("resume") or {}),
                bool(saved.get("failed")),
            )
        else:
            walk = Pass(uuid.uuid4().hex, now, {})
        watermarks = {k: v for k, v in data.items() if k not in _OWN_FIELDS}
        return {**watermarks, "resume": walk.resume, "pass_started_at": walk.started_at}, walk

    def save_progress(self, source: str, walk: Pass, resume: dict[str, Any], failed: bool, now: str) -> bool:
        """Record where the next poll resumes `walk`. False (nothing written) when a concurrent
        poll completed this pass or saved another one meanwhile."""
        progress = Pass(walk.id, walk.started_at, resume, walk.failed or failed)

        def change(data: dict[str, Any] | None) -> dict[str, Any] | None:
            data = data or {}
            stored = data.get("pass")
            if data.get("last_pass") == walk.id or (isinstance(stored, dict) and stored.get("id") != walk.id):
                return None
            if isinstance(stored, dict) and stored == progress.as_dict():
                return None
            return {**data, "pass": progress.as_dict(), "polled_at": now}

        stored = self.store.update(keys.cursor_key(source), change)
        return stored is not None and stored.get("pass") == progress.as_dict()

    def finish(self, source: str, walk: Pass, watermarks: dict[str, Any], failed: bool, now: str) -> dict[str, Any]:
        """Complete `walk`: move the watermarks forward unless a photo of the pass failed, and
        clear its progress. Returns the stored cursor."""
        clean = not (walk.failed or failed)

        def change(data: dict[str, Any] | None) -> dict[str, Any]:
            data = dict(data or {})
            if clean:
                for name, value in watermarks.items():
                    old = data.get(name)
                    data[name] = value if old is None or str(value) > str(old) else old
            stored = data.get("pass")
            if not isinstance(stored, dict) or stored.get("id") == walk.id:
                data.pop("pass", None)  # another poll's pass in progress stays
            return {**data, "last_pass": walk.id, "polled_at": now}

        result = self.store.update(keys.cursor_key(source), change)
        assert result is not None
        return result
