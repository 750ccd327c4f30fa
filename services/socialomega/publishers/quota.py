"""Per-target posting caps over a rolling 24 hours (e.g. X's free tier: 17 posts a day).

A slot is taken in the store (`quotas/<target>.json`, compare-and-swap) before the final
call and given back when nothing was posted, so concurrent deliveries cannot overshoot.
A full window defers the photo until its oldest slot expires; it is not a failure.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from socialomega.core.store import MetadataStore, quota_key

WINDOW = timedelta(hours=24)


class QuotaFull(Exception):
    def __init__(self, target: str, cap: int, seconds: float) -> None:
        super().__init__(f"{target}: {cap} posts in 24 h reached; next slot in {seconds:.0f}s")
        self.seconds = seconds


class DailyCaps:
    def __init__(self, store: MetadataStore, now: Any = None) -> None:
        self.store = store
        self._now = now or (lambda: datetime.now(UTC))

    def take(self, target: str, cap: int, slot: str) -> None:
        """Hold one of `cap` slots for `slot` (a publication key); idempotent per slot."""
        now = self._now()

        def change(doc: dict[str, Any] | None) -> dict[str, Any] | None:
            slots = _live((doc or {}).get("slots") or {}, now)
            if slot in slots:
                return None
            if len(slots) >= cap:
                oldest = min(datetime.fromisoformat(t) for t in slots.values())
                raise QuotaFull(target, cap, max(1.0, (oldest + WINDOW - now).total_seconds()))
            return {"target": target, "slots": {**slots, slot: now.isoformat()}}

        self.store.update(quota_key(target), change)

    def release(self, target: str, slot: str) -> None:
        def change(doc: dict[str, Any] | None) -> dict[str, Any] | None:
            slots = (doc or {}).get("slots") or {}
            if slot not in slots:
                return None
            return {"target": target, "slots": {k: v for k, v in slots.items() if k != slot}}

        self.store.update(quota_key(target), change)


def _live(slots: dict[str, str], now: datetime) -> dict[str, str]:
    return {k: v for k, v in slots.items() if datetime.fromisoformat(v) + WINDOW > now}
