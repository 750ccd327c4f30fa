"""What an operator sees and changes in the slot queue (`socialomega schedule`): the posts
waiting for their time per target, and `cancel`, `now` and `move` of a photo's waiting posts.

Every change goes through the same documents the publishers and the release run use (queue.py):
a cancelled post's publication is settled `cancelled` (final: a late message never posts it), a
moved one gets its new time on its publication too (Scheduler.move)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from socialomega.core.ports import ListedDocuments
from socialomega.core.store import asset_key, publication_key
from socialomega.core.targets import Target
from socialomega.scheduling.clock import ScheduleClock
from socialomega.scheduling.queue import DUE_LOOKBACK, Slot, SlotQueue
from socialomega.scheduling.service import Scheduler, schedule_of


def waiting(
    store: ListedDocuments, targets: list[Target], clock: ScheduleClock, target: str | None = None
) -> list[dict[str, Any]]:
    """Every waiting post, earliest first: when (UTC and the target's zone), photo, why."""
    queue, now = SlotQueue(store), clock.now()
    rows: list[dict[str, Any]] = []
    titles: dict[str, str] = {}
    for t in targets:
        if target is not None and t.name != target:
            continue
        settings = schedule_of(t.model_dump(exclude_unset=True))
        for slot in queue.slots(t.name, now - DUE_LOOKBACK):
            if slot.state != "waiting":
                continue
            asset = str(slot.data["asset_id"])
            if asset not in titles:
                doc = store.get(asset_key(asset))
                titles[asset] = str(((doc.data.get("metadata") or {}).get("title") if doc else "") or "")
            local = slot.at.astimezone(settings.zone) if settings is not None else slot.at
            rows.append(
                {
                    "at": slot.at.isoformat(),
                    "local": local.isoformat(),
                    "target": t.name,
                    "asset_id": asset,
                    "title": titles[asset],
                    "version": slot.data.get("version"),
                    "why": slot.data.get("why") or "schedule",
                    "due": slot.at <= now,
                    "key": slot.key,
                }
            )
    return sorted(rows, key=lambda r: (r["at"], r["target"]))


def _slots_of(
    queue: SlotQueue, targets: list[Target], now: datetime, asset_id: str, target: str | None
) -> list[tuple[Target, Slot]]:
    return [
        (t, slot)
        for t in targets
        if target is None or t.name == target
        for slot in queue.slots(t.name, now - DUE_LOOKBACK)
        if slot.state == "waiting" and slot.data.get("asset_id") == asset_id
    ]


def cancel(
    store: ListedDocuments, targets: list[Target], clock: ScheduleClock, asset_id: str, target: str | None = None
) -> list[str]:
    """Cancel the photo's waiting posts (on one target, or all); the targets it left."""
    queue = SlotQueue(store)
    done = []
    cancelled = {
        "status": "cancelled",
        "reason": "cancelled by an operator",
        "updated_at": datetime.now(UTC).isoformat(),
    }
    for t, slot in _slots_of(queue, targets, clock.now(), asset_id, target):
        queue.mark(slot.key, "cancelled", reason="cancelled by an operator")
        key = publication_key(asset_id, str(slot.data["version"]), t.name)
        store.update(key, lambda doc: None if doc is None else {**doc, **cancelled})
        done.append(t.name)
    return done


def move(
    store: ListedDocuments,
    targets: list[Target],
    clock: ScheduleClock,
    asset_id: str,
    to: datetime | None,
    target: str | None = None,
) -> list[dict[str, str]]:
    """The photo's waiting posts to `to` (None: now, released by the next run); where each went."""
    scheduler = Scheduler(SlotQueue(store), clock)
    at = (to or clock.now()).astimezone(UTC)
    moved = []
    for t, slot in _slots_of(scheduler.queue, targets, clock.now(), asset_id, target):
        # An operator's time is the photo's own: not one of the target's slot instants.
        key = scheduler.move(slot, at, None, "moved by an operator")
        moved.append({"target": t.name, "at": at.isoformat(), "key": key or "", "moved": "yes" if key else "no: taken"})
    return moved
