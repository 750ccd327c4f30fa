"""Publication records: reserve (asset, version, target) before calling a platform.

States: `in_progress` (a delivery holds a lease and is calling the platform),
`retrying` (the last attempt failed without effect; the next delivery takes over),
`published`, `failed` (permanent), `unconfirmed` (outcome unknown; shown to the user,
never silently reposted), and for a new version of a photo the target already published
(publishers/edits.py): `edit_ignored` (the first post stands) or `updated` (that post was changed
in place), each with the earlier post's `remote_id`; `scheduled` (waiting in its target's slot
until `slot_at`, scheduling/service.py) and `cancelled` (the photo left the selection before its
slot, or an operator cancelled it); `unpublished` (its post deleted when the photo left the
selection, on a target with unpublish_on_leave).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from socialomega.core import store as keys
from socialomega.core.store import Document, MetadataStore

FINAL = {"published", "failed", "unconfirmed", "edit_ignored", "updated", "cancelled", "unpublished"}


@dataclass
class Claim:
    key: str
    data: dict[str, Any]
    etag: str


class ClaimHeld(Exception):
    """Another delivery holds an unexpired lease on this publication."""

    def __init__(self, seconds_left: float) -> None:
        super().__init__(f"another delivery holds the claim for {seconds_left:.0f}s more")
        self.seconds_left = seconds_left


def _now() -> datetime:
    return datetime.now(UTC)


class Publications:
    def __init__(self, store: MetadataStore, lease_seconds: int = 120) -> None:
        self.store = store
        self.lease = timedelta(seconds=lease_seconds)

    def reserve(self, asset_id: str, version: str, target: str, event_id: str) -> Claim | Document:
        """A `Claim` to go ahead, or the final `Document` when the work is already done."""
        key = keys.publication_key(asset_id, version, target)
        now = _now()
        fresh = {
            "asset_id": asset_id,
            "version": version,
            "target": target,
            "status": "in_progress",
            "attempts": 1,
            "first_attempt_at": now.isoformat(),
            "lease_until": (now + self.lease).isoformat(),
            "event_id": event_id,
        }
        etag = self.store.claim(key, fresh)
        if etag is not None:
            return Claim(key, fresh, etag)
        doc = self.store.get(key)
        if doc is None:  # deleted between the two calls: try again from the start
            raise ClaimHeld(0)
        if doc.data.get("status") in FINAL:
            return doc
        lease_until = datetime.fromisoformat(doc.data.get("lease_until", now.isoformat()))
        if doc.data.get("status") == "in_progress" and lease_until > now:
            raise ClaimHeld((lease_until - now).total_seconds())
        taken = {
            **doc.data,
            "status": "in_progress",
            "attempts": int(doc.data.get("attempts", 0)) + 1,
            "lease_until": (now + self.lease).isoformat(),
            "event_id": event_id,
        }
        etag = self.store.replace(doc, taken)
        if etag is None:
            raise ClaimHeld(0)
        return Claim(key, taken, etag)

    def settle(self, claim: Claim, status: str, **fields: Any) -> dict[str, Any]:
        data = {**claim.data, **fields, "status": status, "updated_at": _now().isoformat()}
        if status in FINAL:
            data.pop("lease_until", None)
        claim.etag = self.store.put(claim.key, data)
        claim.data = data
        return data


class StoredProgress:
    """`publishers.base.Progress` kept in the publication record under `steps`.

    Each save is written at once (and renews the lease), so a delivery that dies after a
    platform call leaves behind exactly what it had achieved."""

    def __init__(self, publications: Publications, claim: Claim) -> None:
        self.publications = publications
        self.claim = claim

    @property
    def _steps(self) -> dict[str, Any]:
        return dict(self.claim.data.get("steps") or {})

    def get(self, step: str, default: Any = None) -> Any:
        return self._steps.get(step, default)

    def save(self, step: str, value: Any) -> None:
        self._write({**self._steps, step: value})

    def forget(self, *steps: str) -> None:
        self._write({k: v for k, v in self._steps.items() if k not in steps})

    def mark_final(self, marker: dict[str, Any]) -> None:
        self.save("final", {**marker, "sent_at": _now().isoformat()})

    @property
    def final_marker(self) -> dict[str, Any] | None:
        marker: dict[str, Any] | None = self.get("final")
        return marker

    def _write(self, steps: dict[str, Any]) -> None:
        lease_until = (_now() + self.publications.lease).isoformat()
        self.publications.settle(self.claim, "in_progress", steps=steps, lease_until=lease_until)
