"""Scheduled posts: a publication waits in its target's slot, not in a queue.

`hold` (the publisher, for each new post): a target with a `schedule` (scheduling/slots.py), or a
photo with its own time (`so:at`), gets the next free instant from the planner (its slots,
`max_per_day`, the target's `daily_cap` as a rolling 24 h quota) and a document in the slot
queue (queue.py). When that instant is now, the post goes out at once; otherwise the message
is acknowledged and the publication waits as `scheduled`, calling no platform until its time.
A redelivered message before its time finds its slot and waits again.

`release` (the scheduled release run, every minute): the earliest post whose time has come is
sent back to its target's publish queue (one a run, so posts leave in order even with several
publisher instances; a backlog drains one a minute); its publisher finds the slot's time passed
and posts.
While the target's breaker is open the platform is down: the passed slots and the ones after
them move to the next free ones, in order (planner.replan), so nothing goes out early, nothing
is skipped and nothing piles up for the moment the platform returns. A post whose photo left the
selection before its time (`cancelled(slot)` says why) is cancelled instead, and never posts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from socialomega.core.config import ConfigError
from socialomega.core.consumer import RetryLater
from socialomega.core.store import publication_key
from socialomega.planning.keywords import plan_from
from socialomega.publishers.base import PublishRequest
from socialomega.scheduling.planner import NoSlot, Quota, Taken, next_slot, replan
from socialomega.scheduling.queue import DUE_LOOKBACK, KEEP, Slot, SlotQueue
from socialomega.scheduling.slots import ScheduleSettings, is_slot

RACES = 5  # plans tried when another delivery takes the chosen slot instant first


@dataclass(frozen=True)
class Held:
    at: datetime
    key: str
    reason: str


def schedule_of(target: dict[str, Any]) -> ScheduleSettings | None:
    raw = target.get("schedule")
    if raw is None:
        return None
    try:
        return ScheduleSettings.model_validate(raw)
    except ValueError as exc:
        raise ConfigError(f"target {target.get('name')!r}: invalid schedule: {exc}") from None


# The platforms' own publishing limits, counted by the planner for every target on them:
# "An Instagram professional account can only publish 50 posts within a 24 hour moving period"
# (IG User Media Publish reference, developers.facebook.com/docs/instagram-platform/
# instagram-graph-api/reference/ig-user/media_publish). X's depends on the account's tier: its
# target's `daily_cap` (17 on the free tier).
PLATFORM_QUOTAS: dict[str, Quota] = {"instagram": Quota(50)}


def quotas_of(target: dict[str, Any]) -> list[Quota]:
    """The target's `daily_cap` and its platform's own limit, as rolling 24 h quotas."""
    cap = target.get("daily_cap")
    own = PLATFORM_QUOTAS.get(str(target.get("platform") or ""))
    return [*([Quota(int(cap))] if cap else []), *([own] if own else [])]


class Clock(Protocol):
    def now(self) -> datetime: ...


@dataclass
class Scheduler:
    queue: SlotQueue
    clock: Clock  # scheduling/clock.py: real time, or compressed for tests and local runs

    def hold(
        self, claim: dict[str, Any], request: PublishRequest, target: dict[str, Any], envelope: dict[str, Any]
    ) -> Held | None:
        """None: post now. Held: the post waits for `at` (the caller records it and acknowledges).
        A new version of a photo whose earlier version still waits takes that one's place (and
        time, unless it has its own): an edit before the slot never posts twice."""
        settings = schedule_of(target)
        plan = plan_from(request.metadata)
        now = self.clock.now()
        if claim.get("slot_at"):  # planned before: its time has come (released), or not yet
            at = datetime.fromisoformat(str(claim["slot_at"]))
            return None if at <= now else Held(at, str(claim.get("slot_key")), "waiting for its slot")
        replaced = self._replace_waiting(request)
        wanted = plan.at or replaced
        if settings is None and wanted is None:
            return None  # as soon as it can: no slot queue
        for _ in range(RACES):
            try:
                taken = self.queue.taken(request.target, now)
                at = next_slot(settings, taken, now, quotas=quotas_of(target), at=wanted)
            except NoSlot as exc:
                raise ConfigError(f"target {request.target}: no slot for this photo: {exc}") from None
            record = {
                "asset_id": request.asset_id,
                "version": request.version,
                "state": "released" if at <= now else "waiting",
                "envelope": envelope,
                "created_at": datetime.now(UTC).isoformat(),  # real time: compared with the poller's passes
                "why": "so:at" if plan.at is not None else "schedule",
            }
            key = self.queue.reserve(
                request.target, at, record, slot_instant=settings is not None and is_slot(settings, at)
            )
            if key is not None:
                if at <= now:
                    return None
                why = (
                    f"its own time (so:at {plan.at.isoformat()})"
                    if plan.at
                    else "the time of the version it replaces"
                    if replaced
                    else "the target's next free slot"
                )
                return Held(at, key, f"scheduled for {at.isoformat()}: {why}")
        raise RetryLater(f"{request.target}: every slot chosen was taken by another delivery first", 1.0)

    def _replace_waiting(self, request: PublishRequest) -> datetime | None:
        """Cancel an earlier version of the photo still waiting on this target; its time."""
        store = self.queue.store
        for version in request.earlier_versions:
            key = publication_key(request.asset_id, version, request.target)
            doc = store.get(key)
            if doc is None or doc.data.get("status") != "scheduled" or not doc.data.get("slot_at"):
                continue
            why = f"replaced by version {request.version} before its slot"
            if doc.data.get("slot_key"):
                self.queue.mark(str(doc.data["slot_key"]), "cancelled", reason=why)

            def cancel(record: dict[str, Any] | None, why: str = why) -> dict[str, Any] | None:
                return None if record is None else {**record, "status": "cancelled", "reason": why}

            store.update(key, cancel)
            return datetime.fromisoformat(str(doc.data["slot_at"]))
        return None

    def release(
        self,
        target: dict[str, Any],
        send: Callable[[dict[str, Any]], None],
        *,
        breaker_open: bool,
        cancelled: Callable[[Slot], str | None],
        settle: Callable[[Slot, str, dict[str, Any]], None],
    ) -> dict[str, Any]:
        """Send the target's due posts back to its queue, or move them while its breaker is open."""
        name = str(target["name"])
        now = self.clock.now()
        line: dict[str, Any] = {"target": name, "released": 0, "cancelled": 0, "moved": 0}
        due = self.queue.due(name, now)
        if not due:
            return line
        if breaker_open:
            line["moved"] = self._move_on(target, now)
            return line
        for slot in due:
            why = cancelled(slot)
            if why:
                self.queue.mark(slot.key, "cancelled", reason=why)
                settle(slot, "cancelled", {"reason": why})
                line["cancelled"] += 1
                continue
            if line["released"]:
                continue  # one post a run: they go out in order even with several publishers running
            send(slot.data["envelope"])
            self.queue.mark(slot.key, "released", released_at=now.isoformat())
            line["released"] += 1
        return line

    def _move_on(self, target: dict[str, Any], now: datetime) -> int:
        """Every waiting post of the target, in order, to its next free instant from now."""
        name = str(target["name"])
        slots = self.queue.slots(name, now - DUE_LOOKBACK)
        pending = [s for s in slots if s.state == "waiting"]
        posted = [Taken(s.at, s.key) for s in slots if s.state in ("released", "published") and s.at >= now - KEEP]
        settings = schedule_of(target)
        waiting = [Taken(s.at, s.key, own=s.data.get("why") == "so:at" and "moved_from" not in s.data) for s in pending]
        plan = replan(settings, waiting, now, quotas=quotas_of(target), published=posted)
        moved = 0
        # Last first: each post's new instant is then one a later post has already left.
        for slot, (_, at) in reversed(list(zip(pending, plan, strict=True))):
            if at != slot.at and self.move(slot, at, settings, "its slot passed while the platform was down"):
                moved += 1
        return moved

    def move(self, slot: Slot, at: datetime, settings: ScheduleSettings | None, why: str) -> str | None:
        """The post to `at` (a new document; the old one cancelled) and its publication's
        `slot_at` with it, so the publisher posts when it is released there. The new key, or
        None when that slot instant is held by another post."""
        target = str(slot.data["target"])
        record = {**slot.data, "moved_from": slot.data["at"], "state": "waiting", "reason": why}
        key = self.queue.reserve(target, at, record, slot_instant=settings is not None and is_slot(settings, at))
        if key is None:
            return None
        self.queue.mark(slot.key, "cancelled", reason=f"moved to {at.astimezone(UTC).isoformat()}: {why}")
        publication = publication_key(str(slot.data["asset_id"]), str(slot.data["version"]), target)
        self.queue.store.update(
            publication,
            lambda doc: None if doc is None else {**doc, "slot_at": at.astimezone(UTC).isoformat(), "slot_key": key},
        )
        return key
