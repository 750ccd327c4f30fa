"""Re-send logged events to where their producers sent them, for recovery.

The event log (analytics/eventlog.py) holds every domain event once. A replay reads the
records of a time range (by the events' `occurred_at`), optionally of some types, one photo or
one target, and sends each envelope again, unchanged (same event id), to its original
destination:
* `AssetDetected` -> the images queue (SQS), as the poller sends it;
* `PublishRequested` -> the publish topic (SNS) with the `platform` attribute the target's
  subscription filters on (the target's name, as the processor sets it);
* results, engagement and breaker transitions -> the bus, with the source they arrived with.

Safe end to end, because every consumer is idempotent: a publisher's claim on (asset, version,
target) stops a second post and re-announces nothing already announced, and analytics counts
each event id once (aggregate.py). A replayed detection does run the processor again, which
writes the variants again and sends new publish requests that the claims then turn away.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal, Protocol

from socialomega.analytics.eventlog import LOGGED_TYPES, read_record
from socialomega.core.aws import Clients
from socialomega.core.config import Settings
from socialomega.core.envelope import Envelope, InvalidMessage
from socialomega.core.events import EventSender
from socialomega.core.ports import Events
from socialomega.core.store import MetadataStore, event_log_prefix

Route = Literal["queue", "topic", "bus"]
ROUTES: dict[str, Route] = {"AssetDetected": "queue", "PublishRequested": "topic"}  # the rest: the bus
BUS_BATCH = 10  # PutEvents' limit


def route_of(event_type: str) -> Route:
    return ROUTES.get(event_type, "bus")


class EventLog(Protocol):
    """The event log's storage: core/store.MetadataStore (tests: a fake)."""

    def list_keys(self, prefix: str) -> list[str]: ...

    def get(self, key: str) -> Any: ...


@dataclass(frozen=True)
class Destinations:
    images_queue_url: str
    publish_topic_arn: str
    event_bus: str

    @classmethod
    def from_settings(cls, settings: Settings) -> Destinations:
        """Where the services themselves send (SO_IMAGES_QUEUE_URL, SO_PUBLISH_TOPIC_ARN, SO_EVENT_BUS)."""
        return cls(settings.images_queue_url, settings.publish_topic_arn, settings.event_bus)

    def describe(self, route: Route) -> str:
        return {
            "queue": f"images queue {self.images_queue_url}",
            "topic": f"publish topic {self.publish_topic_arn} (platform = the target)",
            "bus": f"bus {self.event_bus} (the original source)",
        }[route]


@dataclass(frozen=True)
class Selection:
    """Which logged events to replay: occurred in [start, end), of `types`, optionally of one
    photo and one target. An `AssetDetected` names no target (the processor fans it out to
    every target), so a selection by target leaves detections out."""

    start: datetime
    end: datetime
    types: tuple[str, ...] = LOGGED_TYPES
    asset_id: str | None = None
    target: str | None = None

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("the time range must be timezone-aware (UTC)")
        if self.start >= self.end:
            raise ValueError(f"empty time range: {self.start.isoformat()} is not before {self.end.isoformat()}")
        unknown = sorted(set(self.types) - set(LOGGED_TYPES))
        if unknown:
            raise ValueError(f"unknown event type(s): {', '.join(unknown)}")

    @classmethod
    def parse(
        cls,
        start: str,
        end: str,
        types: Iterable[str] | None = None,
        asset_id: str | None = None,
        target: str | None = None,
    ) -> Selection:
        """From the command line's texts: ISO dates or times, UTC unless they say otherwise.
        `end` is inclusive: a date means that whole day, a time that instant."""
        return cls(
            parse_bound(start, end=False),
            parse_bound(end, end=True),
            tuple(dict.fromkeys(types)) if types else LOGGED_TYPES,
            asset_id,
            target,
        )

    def days(self) -> list[date]:
        first, last = self.start.astimezone(UTC).date(), (self.end - timedelta(microseconds=1)).astimezone(UTC).date()
        return [first + timedelta(days=n) for n in range((last - first).days + 1)]

    def prefixes(self, days: list[date] | None = None) -> list[str]:
        """The event log folders that can hold a selected event: one per type and day (of
        `days`, by default all the selection's)."""
        return [event_log_prefix(t, day) for t in self.types for day in (self.days() if days is None else days)]

    def matches(self, event: Envelope) -> bool:
        if event.type not in self.types or not self.start <= event.occurred_at < self.end:
            return False
        if self.asset_id is not None and event.asset_id != self.asset_id:
            return False
        return self.target is None or event.payload.get("target") == self.target


def parse_bound(text: str, *, end: bool) -> datetime:
    """An ISO date (`2026-11-24`: its midnight, or for an end the next one) or date and time
    (naive means UTC; an end includes that instant)."""
    text = text.strip()
    try:
        day = date.fromisoformat(text)
    except ValueError:
        pass
    else:
        start = datetime.combine(day, time(), tzinfo=UTC)
        return start + timedelta(days=1) if end else start
    moment = datetime.fromisoformat(text)
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment + timedelta(microseconds=1) if end else moment


@dataclass(frozen=True)
class Logged:
    key: str
    event: Envelope
    source: str


@dataclass
class ReplayReport:
    selection: Selection
    destinations: Destinations
    dry_run: bool
    selected: Counter[str] = field(default_factory=Counter)
    sent: Counter[str] = field(default_factory=Counter)
    unreadable: list[tuple[str, str]] = field(default_factory=list)  # (key, reason)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and not self.unreadable

    def lines(self) -> list[str]:
        s = self.selection
        scope = "".join(
            part
            for part in (
                f", asset {s.asset_id}" if s.asset_id else "",
                f", target {s.target}" if s.target else "",
                "" if s.types == LOGGED_TYPES else f", types {', '.join(s.types)}",
            )
        )
        verb = "would re-send (dry run)" if self.dry_run else "re-sent"
        out = [f"replay of events that occurred in [{s.start.isoformat()}, {s.end.isoformat()}){scope}"]
        for event_type in LOGGED_TYPES:
            if event_type in s.types:
                count = self.selected[event_type] if self.dry_run else self.sent[event_type]
                out.append(
                    f"  {event_type:<20} {verb} {count:>6} of {self.selected[event_type]:>6} selected"
                    f" -> {self.destinations.describe(route_of(event_type))}"
                )
        total = sum(self.selected.values()) if self.dry_run else sum(self.sent.values())
        out.append(f"  total: {verb} {total} of {sum(self.selected.values())}")
        for key, reason in self.unreadable:
            out.append(f"  UNREADABLE {key}: {reason}")
        if self.error:
            out.append(f"  STOPPED: {self.error} (a replay is safe to run again)")
        return out


class Replayer:
    def __init__(self, log: EventLog, sender: Events, destinations: Destinations, workers: int = 8) -> None:
        self.log = log
        self.sender = sender
        self.destinations = destinations
        self.workers = workers

    @classmethod
    def build(cls, settings: Settings, clients: Clients) -> Replayer:
        """With production adapters: the log in the store bucket, and a plain sender (no event
        history: the events it re-sends are in the log already)."""
        return cls(
            MetadataStore(clients.s3, settings.store_bucket),
            EventSender(sqs=clients.sqs, sns=clients.sns, events=clients.events),
            Destinations.from_settings(settings),
        )

    def select(
        self, selection: Selection, days: list[date] | None = None
    ) -> tuple[list[Logged], list[tuple[str, str]]]:
        """The selected events (of `days`, by default all the selection's) in the order they
        occurred, and the records that could not be read."""
        keys = [key for prefix in selection.prefixes(days) for key in self.log.list_keys(prefix)]
        with ThreadPoolExecutor(max_workers=max(1, self.workers)) as pool:
            documents = list(pool.map(self.log.get, keys))  # S3 reads, one per event: in parallel
        found: list[Logged] = []
        unreadable: list[tuple[str, str]] = []
        for key, doc in zip(keys, documents, strict=True):
            if doc is None:
                continue  # removed since it was listed
            try:
                event, source = read_record(doc.data)
            except InvalidMessage as exc:
                unreadable.append((key, exc.reason))
                continue
            if selection.matches(event):
                found.append(Logged(key, event, source))
        found.sort(key=lambda item: (item.event.occurred_at, item.event.event_id))
        return found, unreadable

    def replay(self, selection: Selection, dry_run: bool = False) -> ReplayReport:
        """Send the selected events again, a day at a time (one day's records in memory), each
        day's detections first, then its publish requests, then its bus events; or with
        `dry_run` only count them. A send that fails stops the replay, reported."""
        report = ReplayReport(selection, self.destinations, dry_run)
        for day in selection.days():
            events, unreadable = self.select(selection, [day])
            report.unreadable.extend(unreadable)
            report.selected.update(item.event.type for item in events)
            if dry_run:
                continue
            try:
                self._send(events, report)
            except Exception as exc:
                report.error = f"{type(exc).__name__}: {exc}"
                break
        return report

    def _send(self, events: list[Logged], report: ReplayReport) -> None:
        d = self.destinations
        for item in events:
            if route_of(item.event.type) == "queue":
                self.sender.to_queue(d.images_queue_url, item.event)
                report.sent[item.event.type] += 1
        for item in events:
            if route_of(item.event.type) == "topic":
                target = item.event.payload.get("target")
                if not isinstance(target, str) or not target:
                    report.unreadable.append((item.key, "a PublishRequested without a target"))
                    continue
                self.sender.to_topic(d.publish_topic_arn, item.event, platform=target)
                report.sent[item.event.type] += 1
        by_source: dict[str, list[Envelope]] = {}
        for item in events:
            if route_of(item.event.type) == "bus":
                by_source.setdefault(item.source, []).append(item.event)
        for source, envelopes in by_source.items():
            for start in range(0, len(envelopes), BUS_BATCH):
                chunk = envelopes[start : start + BUS_BATCH]
                self.sender.to_bus_many(d.event_bus, chunk, source)
                report.sent.update(e.type for e in chunk)
