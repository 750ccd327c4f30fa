"""The release run: every target's posts whose time has come go back to its publish queue.

Run every minute (the `release` schedule: scheduling/handler.py on AWS, the local runtime's
`release` schedule locally). For each enabled target, `Scheduler.release` sends the due posts in
order, or, while the target's breaker is open, moves them and the ones after them to the next
free slots. A target's failure is its line; the others still run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from socialomega.core import config, metrics
from socialomega.core.breaker import Breaker
from socialomega.core.config import ConfigError, Configuration
from socialomega.core.envelope import Envelope
from socialomega.core.logging import get_logger
from socialomega.core.ports import ListedDocuments
from socialomega.core.store import asset_key, publication_key
from socialomega.core.targets import load_targets
from socialomega.scheduling.clock import ScheduleClock
from socialomega.scheduling.queue import Slot, SlotQueue
from socialomega.scheduling.service import Scheduler


def release_all(
    configuration: Configuration,
    store: ListedDocuments,
    send: Callable[[str, Envelope], Any],
    queues: Mapping[str, str],
    clock: ScheduleClock,
) -> list[dict[str, Any]]:
    """One line per enabled target: released, moved (breaker open), cancelled, or its error."""
    scheduler = Scheduler(SlotQueue(store), clock)
    resilience = config.Resilience.from_env()
    selections = Selections(store)
    lines = []
    for target in load_targets(configuration):
        name = target.name
        entry = target.model_dump(exclude_unset=True)
        try:
            queue = queues[name]

            def to_queue(envelope: dict[str, Any], url: str = queue) -> None:
                send(url, Envelope.model_validate(envelope))

            line = scheduler.release(
                entry,
                to_queue,
                breaker_open=Breaker(store, name, resilience).is_open(),
                cancelled=selections.left,
                settle=lambda slot, status, fields: _settle(store, slot, status, fields),
            )
        except (ConfigError, KeyError) as exc:
            line = {"target": name, "error": f"{type(exc).__name__}: {exc}"}
        if any(line.get(k) for k in ("released", "moved", "cancelled", "error")):
            get_logger().info("schedule_released", **line)
        metrics.emit({"PostsReleased": line.get("released"), "PostsMoved": line.get("moved")}, {"Target": name})
        lines.append(line)
    return lines


class Selections:
    """What the poller's passes saw leave the selection (core/store.selection_key, `left`): a
    photo that left after its post was planned is cancelled; one that left may be unpublished."""

    def __init__(self, store: ListedDocuments) -> None:
        self.store = store
        self._passes: dict[str, dict[str, Any]] | None = None

    def _read(self) -> dict[str, dict[str, Any]]:
        if self._passes is None:
            keys = [k for k in self.store.list_keys("state/poller/") if k.endswith("-selection.json")]
            docs = [self.store.get(k) for k in keys]
            self._passes = {str(d.data.get("source")): d.data for d in docs if d is not None}
        return self._passes

    def left_at(self, asset_id: str) -> tuple[str, str] | None:
        """(when the poller saw the photo leave, from where), or None when it has not left."""
        asset = self.store.get(asset_key(asset_id))
        source = str((asset.data if asset else {}).get("source") or "")
        left = ((self._read().get(source) or {}).get("left") or {}).get(asset_id)
        return None if left is None else (str(left), source)

    def left(self, slot: Slot) -> str | None:
        """Why the slot's photo no longer goes out (None: it still does, or nobody can tell)."""
        found = self.left_at(str(slot.data["asset_id"]))
        if found is None or found[0] <= str(slot.data.get("created_at") or ""):
            return None  # still selected, or left before this version was planned (back since)
        return f"the photo left the selection before its slot ({_from(found[1])}, seen at {found[0]})"

    def departed(self, since: str) -> dict[str, str]:
        """Every photo that left the selection since `since` (ISO 8601): asset id -> when."""
        return {a: at for doc in self._read().values() for a, at in (doc.get("left") or {}).items() if at >= since}


def _from(source: str) -> str:
    return "the inbox" if source == "inbox" else "the album or its keyword"


def _settle(store: ListedDocuments, slot: Slot, status: str, fields: dict[str, Any]) -> None:
    """The publication of a cancelled post says so (and is final: a late message never posts it)."""
    key = publication_key(str(slot.data["asset_id"]), str(slot.data["version"]), str(slot.data["target"]))
    at = datetime.now(UTC).isoformat()
    store.update(key, lambda doc: None if doc is None else {**doc, **fields, "status": status, "updated_at": at})


def publish_queues(ssm: Any, env: str) -> dict[str, str]:
    """Each target's publish queue, from the environment's operations manifest (Terraform writes
    it: `/socialomega/<env>/operations`, ops/environment.py)."""
    from socialomega.ops.environment import ManifestError, read_manifest

    try:
        manifest = read_manifest(ssm, env)
    except ManifestError as exc:
        raise ConfigError(str(exc)) from None
    return {c.target: c.queue_url for c in manifest.consumers.values() if c.service == "publisher" and c.target}
