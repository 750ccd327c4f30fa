#!/usr/bin/env python
"""Benchmark: the analytics writer under concurrency, exactness checked (issue 15, design note section 6).

    .venv/bin/python tests/bench/bench_analytics_writer.py [--events 10000] [--label NAME] [--keep]
    make bench-analytics

Load (seeded, so every run writes the same events):
* `--events` distinct `EngagementReceived` events (contracts/payloads.py) over `--posts` posts: a
  quarter of that many photos, each published to 4 platforms (instagram, facebook, x, linkedin),
  engagement lands in the day's 16 shards only (per post and per target), never on a photo's document;
* posts drawn from a Zipf distribution (s = `--zipf`, ranks shuffled by the seed); kinds like 75 %,
  comment 20 %, share 5 %; about `--removals` of the events take an action back (delta -1, an
  unlike / a deleted comment, on a post and kind whose count is above 0 at that point);
* about `--duplicates` more deliveries: a copy of an earlier event's record inserted 1 to 200 places
  after it, so some run at the same time as the original (the at-least-once queue);
* then a full replay: every event delivered once more, as `replay/` would put it back on the bus.

Path: `--writers` threads, each with its own S3 client from core/aws.py's factory (its uncached
`aws.new_client`, uncached: the factory caches one client per service, and four Lambda
instances would each build their own) and its own `Aggregator`, composed as
analytics/bootstrap.build composes it. Each thread takes batches of `--batch` SQS records
(EventBridge wrappers, as the analytics queue delivers them) and runs them through
`core.consumer.process_batch` with the arguments analytics/handler.py passes, against LocalStack
S3: real `If-None-Match: *` claims and `If-Match` compare-and-swaps (412/409).

What is not LocalStack: the analytics queue. `BenchQueue` takes the consumer's "send it again"
(a lost race, `ConcurrentUpdate`, becomes a re-queue) and holds the record for the delay the
consumer chose, then hands it to the next free writer; a dead-letter is recorded and fails the run.
The store is a scratch bucket created on LocalStack and deleted afterwards (`--keep` keeps it):
the writer touches nothing else, and the Terraform store bucket adds only encryption, a lifecycle
and a TLS policy, none of which changes a conditional write.

Measured by `CountingStore`, a subclass of the production `MetadataStore` injected into the
aggregator (no production code patched): its `update` loop calls the overridden `get`/`claim`/
`replace`, so per key family (event_log, status, daily) it counts CAS attempts (reads inside
`update`), conflicts (a conditional write refused inside `update`), skips (the document already
held the event), exhausted updates (`ConcurrentUpdate`) and S3 seconds. Every HTTP request each
client sends (retries included) is counted by a botocore `before-send` hook on that client.

Printed, and written to .build/bench-analytics-writer[-LABEL].json: events/s, S3 requests per
event, CAS attempts and conflicts per family, the documents with the most conflicts, p50/p95
apply latency (one `Aggregator.apply`), the largest document per family, and the exactness
check: every post's stored counts (its photo's status document) equal the generator's truth, each
target's day summed over the 16 daily shards equals the truth, every event is held once by each
document family, and the replay changed no ETag. Exit 1 when any of that fails (or the run timed
out); figures are never asserted. Run it under `flock /tmp/so-localstack.lock` when other
suites may be using LocalStack.
"""

from __future__ import annotations

import argparse
import contextlib
import heapq
import itertools
import json
import math
import os
import random
import sys
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "services"), str(ROOT)]

from socialomega.analytics.aggregate import Aggregator  # noqa: E402
from socialomega.analytics.daily import post_engagement, read_day  # noqa: E402
from socialomega.analytics.eventlog import LOGGED_TYPES, unwrap_with_source  # noqa: E402
from socialomega.core import aws  # noqa: E402
from socialomega.core import logging as solog  # noqa: E402
from socialomega.core.config import Resilience  # noqa: E402
from socialomega.core.consumer import QueueRecords, RetryState, process_batch  # noqa: E402
from socialomega.core.deadline import Deadline  # noqa: E402
from socialomega.core.envelope import Envelope  # noqa: E402
from socialomega.core.store import ConcurrentUpdate, Document, MetadataStore, status_key  # noqa: E402
from tests.bench.bench_pipeline import localstack_cpu, percentile  # noqa: E402

PLATFORMS = ("instagram", "facebook", "x", "linkedin")
KINDS = {"like": 0.75, "comment": 0.20, "share": 0.05}
DAY = datetime(2026, 3, 2, tzinfo=UTC)  # every event on one day: its 16 shards take the whole load
QUEUE_ARN = "arn:aws:sqs:us-east-1:000000000000:so-bench-analytics"
FAMILIES = {"events/": "event_log", "analytics/status/": "status", "analytics/daily/": "daily"}


def family_of(key: str) -> str:
    return next((name for prefix, name in FAMILIES.items() if key.startswith(prefix)), "other")


# --------------------------------------------------------------------------- load
@dataclass(frozen=True)
class Post:
    asset_id: str
    platform: str
    remote_id: str

    @property
    def target(self) -> str:
        return self.platform  # one target per platform here


@dataclass
class Load:
    posts: list[Post]
    events: list[Envelope]  # distinct events, in generation order
    deliveries: list[Envelope]  # the main phase: events with redelivered duplicates interleaved
    truth: dict[Post, Counter[str]]  # net count per post and counter name (likes, comments, shares)
    removals: int
    top_share: float  # the share of events on the most engaged post


def generate(events: int, posts: int, zipf: float, removals: float, duplicates: float, seed: int) -> Load:
    rng = random.Random(seed)
    photos = max(1, posts // len(PLATFORMS))
    all_posts = [
        Post(f"bench-photo-{p:04d}", platform, f"{platform}-{p:04d}") for p in range(photos) for platform in PLATFORMS
    ]
    ranks = list(range(1, len(all_posts) + 1))
    rng.shuffle(ranks)
    weights = [1 / rank**zipf for rank in ranks]
    truth: dict[Post, Counter[str]] = {post: Counter() for post in all_posts}
    picked: Counter[Post] = Counter()
    made: list[Envelope] = []
    taken_back = 0
    seconds_apart = 86_000 / max(1, events)
    for index in range(events):
        post = rng.choices(all_posts, weights)[0]
        kind = rng.choices(list(KINDS), list(KINDS.values()))[0]
        delta = 1
        if rng.random() < removals:
            if truth[post][f"{kind}s"] <= 0:
                kind = "like"
            if truth[post][f"{kind}s"] > 0:
                delta = -1
        truth[post][f"{kind}s"] += delta
        taken_back += delta < 0
        picked[post] += 1
        at = DAY + timedelta(seconds=index * seconds_apart)
        event_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        made.append(
            Envelope(
                event_id=event_id,
                type="EngagementReceived",
                occurred_at=at,
                correlation_id=f"engagement-{event_id}",
                asset_id=post.asset_id,
                payload={
                    "platform": post.platform,
                    "target": post.target,
                    "remote_id": post.remote_id,
                    "kind": kind,
                    "delta": delta,
                    "engagement_key": f"{post.platform}:{post.remote_id}:{kind}:{index}",
                    "engaged_at": at.isoformat(),
                },
            )
        )
    # Each redelivered copy 1..200 places after its original: some run beside it, some well after.
    placed = [(float(i), i) for i in range(len(made))]
    for _ in range(round(events * duplicates)):
        original = rng.randrange(len(made))
        placed.append((original + rng.randint(1, 200) + 0.5, original))
    deliveries = [made[i] for _, i in sorted(placed)]
    top = max(picked.values(), default=0) / max(1, events)
    return Load(all_posts, made, deliveries, truth, taken_back, top)


def sqs_record(envelope: Envelope) -> dict[str, Any]:
    """An analytics queue record as Lambda hands it over: EventBridge's wrapper in the body."""
    wrapper = {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": envelope.type,
        "source": "socialomega.webhooks",
        "account": "000000000000",
        "time": envelope.occurred_at.isoformat(),
        "region": "us-east-1",
        "resources": [],
        "detail": envelope.model_dump(mode="json"),
    }
    return {
        "messageId": str(uuid.uuid4()),
        "receiptHandle": "bench",
        "body": json.dumps(wrapper),
        "attributes": {"ApproximateReceiveCount": "1"},
        "messageAttributes": {},
        "eventSourceARN": QUEUE_ARN,
    }


# --------------------------------------------------------------------------- counting
@dataclass
class Tally:
    """What the writers did, per key family; one lock, updated from every writer thread."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    counts: Counter[str] = field(default_factory=Counter)  # "<family>.<what>"
    seconds: dict[str, float] = field(default_factory=dict)  # S3 seconds per family
    requests: Counter[str] = field(default_factory=Counter)  # HTTP requests "<METHOD> <family>"
    conflicts_by_key: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)  # seconds per Aggregator.apply
    outcomes: Counter[str] = field(default_factory=Counter)

    def add(self, name: str, n: int = 1, *, key: str | None = None) -> None:
        with self.lock:
            self.counts[name] += n
            if key is not None:
                self.conflicts_by_key[key] += n

    def took(self, family: str, seconds: float) -> None:
        with self.lock:
            self.seconds[family] = self.seconds.get(family, 0.0) + seconds

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "counts": dict(self.counts),
                "seconds": dict(self.seconds),
                "requests": dict(self.requests),
                "conflicts_by_key": dict(self.conflicts_by_key),
                "latencies": list(self.latencies),
                "outcomes": dict(self.outcomes),
            }

    def count_requests(self, s3: Any, bucket: str) -> None:
        """Count every HTTP request `s3` sends (botocore retries included), by method and family."""
        prefix = f"/{bucket}/"

        def before_send(request: Any, **_: Any) -> None:
            path = request.url.split("?", 1)[0].split("://", 1)[-1]
            path = path[path.find("/") :] if "/" in path else "/"
            key = path[len(prefix) :] if path.startswith(prefix) else ""
            with self.lock:
                self.requests[f"{request.method} {family_of(key) if key else 'bucket'}"] += 1

        s3.meta.events.register("before-send.s3", before_send)


class CountingStore(MetadataStore):
    """The production store, counting: `update`'s own loop calls these `get`/`claim`/`replace`."""

    def __init__(self, s3: Any, bucket: str, tally: Tally) -> None:
        super().__init__(s3, bucket)
        self.tally = tally
        self._updating = threading.local()

    def _in_update(self) -> bool:
        return bool(getattr(self._updating, "key", None))

    @contextlib.contextmanager
    def _timed(self, key: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.tally.took(family_of(key), time.perf_counter() - started)

    def get(self, key: str) -> Document | None:
        with self._timed(key):
            doc = super().get(key)
        self.tally.add(f"{family_of(key)}.{'cas_attempts' if self._in_update() else 'reads'}")
        return doc

    def claim(self, key: str, data: dict[str, Any]) -> str | None:
        with self._timed(key):
            etag = super().claim(key, data)
        family = family_of(key)
        if self._in_update():
            self.tally.add(f"{family}.cas_writes" if etag else f"{family}.cas_conflicts", key=None if etag else key)
        else:
            self.tally.add(f"{family}.claims" if etag else f"{family}.claims_refused")
        return etag

    def replace(self, doc: Document, data: dict[str, Any]) -> str | None:
        with self._timed(doc.key):
            etag = super().replace(doc, data)
        family = family_of(doc.key)
        self.tally.add(f"{family}.cas_writes" if etag else f"{family}.cas_conflicts", key=None if etag else doc.key)
        return etag

    def put(self, key: str, data: dict[str, Any]) -> str:
        with self._timed(key):
            etag = super().put(key, data)
        self.tally.add(f"{family_of(key)}.puts")
        return etag

    def update(
        self, key: str, change: Callable[[dict[str, Any] | None], dict[str, Any] | None], attempts: int = 8
    ) -> dict[str, Any] | None:
        family = family_of(key)

        def counted(doc: dict[str, Any] | None) -> dict[str, Any] | None:
            new = change(doc)
            if new is None:
                self.tally.add(f"{family}.cas_skips")  # the document holds the event already
            return new

        self._updating.key = key
        try:
            return super().update(key, counted, attempts)
        except ConcurrentUpdate:
            self.tally.add(f"{family}.cas_exhausted")
            raise
        finally:
            self._updating.key = None


# --------------------------------------------------------------------------- the queue
class WorkQueue:
    """Records waiting for a writer: ready ones in order, re-queued ones until they are due."""

    def __init__(self, records: list[dict[str, Any]], limit: Deadline) -> None:
        self.ready = deque(records)
        self.later: list[tuple[float, int, dict[str, Any]]] = []
        self.in_flight = 0
        self.limit = limit
        self.changed = threading.Condition()
        self._order = itertools.count()

    def take(self, size: int) -> list[dict[str, Any]] | None:
        """Up to `size` records, or None when everything is done (or the deadline passed)."""
        with self.changed:
            while not self.limit.expired():
                now = time.time()
                while self.later and self.later[0][0] <= now:
                    self.ready.append(heapq.heappop(self.later)[2])
                if self.ready:
                    self.in_flight += 1
                    return [self.ready.popleft() for _ in range(min(size, len(self.ready)))]
                if not self.later and not self.in_flight:
                    return None
                due = self.later[0][0] - now if self.later else 1.0
                self.changed.wait(max(0.01, min(1.0, due, self.limit.remaining())))
            return None

    def batch_done(self) -> None:
        with self.changed:
            self.in_flight -= 1
            self.changed.notify_all()

    def push_later(self, record: dict[str, Any], seconds: float) -> None:
        with self.changed:
            heapq.heappush(self.later, (time.time() + seconds, next(self._order), record))
            self.changed.notify_all()

    def unfinished(self) -> int:
        with self.changed:
            return len(self.ready) + len(self.later) + self.in_flight


class BenchQueue(QueueRecords):
    """The analytics queue's record operations (core/consumer.QueueRecords) over WorkQueue: a
    record sent again comes back after the delay the consumer chose, with the `so_*` attributes
    it set, as SQS would deliver it to the Lambda."""

    def __init__(self, work: WorkQueue, tally: Tally) -> None:
        super().__init__(sqs=None)
        self.work = work
        self.tally = tally
        self.dead: list[tuple[str, str]] = []

    def send_again(self, record: dict[str, Any], seconds: float, state: RetryState) -> int:
        delay = int(min(900, max(0, math.ceil(seconds))))  # SQS's DelaySeconds range
        attributes = {
            name: {"dataType": value["DataType"], "stringValue": value["StringValue"]}
            for name, value in state.attributes().items()
        }
        again = {**record, "messageId": str(uuid.uuid4()), "messageAttributes": attributes}
        self.tally.add("queue.requeued")
        self.work.push_later(again, delay)
        return delay

    def dead_letter(self, record: dict[str, Any], reason: str, code: str, service: str) -> None:
        self.tally.add("queue.dead_lettered")
        self.dead.append((code, reason))

    def last_receive(self, record: dict[str, Any], receive_count: int) -> bool:
        return False

    def delay(self, record: dict[str, Any], seconds: int) -> None:
        self.tally.add("queue.visibility_delays")  # only when a send failed: cannot happen here


# --------------------------------------------------------------------------- the run
def run_phase(
    name: str,
    envelopes: list[Envelope],
    writers: list[Aggregator],
    queue_of: Callable[[WorkQueue], BenchQueue],
    tally: Tally,
    batch: int,
    limit: Deadline,
) -> dict[str, Any]:
    work = WorkQueue([sqs_record(e) for e in envelopes], limit)
    queue = queue_of(work)
    policy = Resilience.from_env()
    before = tally.snapshot()
    cpu_before, ls_before = os.times(), localstack_cpu()
    errors: list[str] = []

    def writer(aggregator: Aggregator) -> None:
        def handle(envelope: Envelope, payload: Any) -> object:
            started = time.perf_counter()
            try:
                outcome = aggregator.apply(envelope, payload)
            finally:
                elapsed = time.perf_counter() - started
                with tally.lock:
                    tally.latencies.append(elapsed)
            with tally.lock:
                tally.outcomes[outcome] += 1
            return outcome

        try:
            while (records := work.take(batch)) is not None:
                try:
                    # What analytics/handler.py passes; context=None: no invocation deadline.
                    response = process_batch(
                        {"Records": records},
                        handle,
                        service="analytics",
                        records=queue,
                        expect=LOGGED_TYPES,
                        unwrap=unwrap_with_source,
                        context=None,
                        policy=policy,
                    )
                    if response["batchItemFailures"]:  # SQS would redeliver these
                        failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
                        for record in records:
                            if record["messageId"] in failed:
                                work.push_later(record, 1.0)
                finally:
                    work.batch_done()
        except Exception as exc:  # a writer that dies must fail the run, not hang it
            errors.append(f"{type(exc).__name__}: {exc}")
            raise

    started = time.perf_counter()
    threads = [threading.Thread(target=writer, args=(a,), name=f"writer-{i}") for i, a in enumerate(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(1.0, limit.remaining() + 5))
    elapsed = time.perf_counter() - started
    cpu_after, ls_after = os.times(), localstack_cpu()
    after = tally.snapshot()
    counts = Counter(after["counts"])
    counts.subtract(before["counts"])
    requests = Counter(after["requests"])
    requests.subtract(before["requests"])
    seconds = Counter(after["seconds"])
    seconds.subtract(before["seconds"])
    by_key = Counter(after["conflicts_by_key"])
    by_key.subtract(before["conflicts_by_key"])
    outcomes = Counter(after["outcomes"])
    outcomes.subtract(before["outcomes"])
    latencies = after["latencies"][len(before["latencies"]) :]
    distinct = len({e.event_id for e in envelopes})
    total_requests = sum(requests.values())
    return {
        "phase": name,
        "deliveries": len(envelopes),
        "distinct_events": distinct,
        "seconds": round(elapsed, 2),
        "events_per_second": round(distinct / elapsed, 1) if elapsed else None,
        "deliveries_per_second": round(len(envelopes) / elapsed, 1) if elapsed else None,
        "s3_requests": total_requests,
        "s3_requests_per_event": round(total_requests / max(1, distinct), 2),
        "s3_requests_per_delivery": round(total_requests / max(1, len(envelopes)), 2),
        "requests": {k: v for k, v in sorted(requests.items()) if v},
        "counts": {k: v for k, v in sorted(counts.items()) if v},
        "s3_seconds": {k: round(v, 2) for k, v in sorted(seconds.items()) if v},
        "most_conflicted": [[k, v] for k, v in by_key.most_common(8) if v > 0],
        "outcomes": {k: v for k, v in sorted(outcomes.items()) if v},
        "apply_seconds": {
            "p50": _round(percentile(latencies, 0.50), 4),
            "p95": _round(percentile(latencies, 0.95), 4),
            "max": _round(max(latencies, default=None), 4),
        },
        "cpu_seconds": {
            "this process": round((cpu_after.user + cpu_after.system) - (cpu_before.user + cpu_before.system), 2),
            "localstack": None if ls_before is None or ls_after is None else round(ls_after - ls_before, 2),
        },
        "unfinished": work.unfinished(),
        "dead_lettered": queue.dead,
        "writer_errors": errors,
    }


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def listing(s3: Any, bucket: str, prefix: str = "") -> dict[str, tuple[str, int]]:
    """key -> (ETag, size) of every object under `prefix`."""
    found: dict[str, tuple[str, int]] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            found[item["Key"]] = (item["ETag"], int(item["Size"]))
    return found


def exactness(store: MetadataStore, load: Load) -> dict[str, Any]:
    """The stored counts against the generator's truth: per post (summed over the day's 16
    shards, `daily.post_engagement`), per target over the same shards, and each event held once.
    No status document holds engagement (it stays off the photo's document, aggregate.py)."""
    wrong_posts: list[dict[str, Any]] = []
    per_post = post_engagement(store, [f"{DAY:%Y-%m-%d}"])
    status_ids = sum(
        len((doc.data.get("applied") or []) if doc else [])
        for doc in (store.get(status_key(a)) for a in sorted({p.asset_id for p in load.posts}))
    )
    for post in load.posts:
        stored = per_post.get((post.target, post.remote_id)) or {}
        for name in ("likes", "comments", "shares"):
            if int(stored.get(name, 0)) != load.truth[post][name]:
                wrong_posts.append(
                    {
                        "post": f"{post.platform}/{post.remote_id}",
                        "counter": name,
                        "stored": stored.get(name, 0),
                        "truth": load.truth[post][name],
                    }
                )
    day = read_day(store, f"{DAY:%Y-%m-%d}")
    wrong_targets: list[dict[str, Any]] = []
    for platform in PLATFORMS:
        stored = day["engagement"].get(platform) or {}
        for name in ("likes", "comments", "shares"):
            truth = sum(c[name] for p, c in load.truth.items() if p.target == platform)
            if int(stored.get(name, 0)) != truth:
                wrong_targets.append(
                    {"target": platform, "counter": name, "stored": stored.get(name, 0), "truth": truth}
                )
    return {
        "posts_checked": len(load.posts),
        "posts_wrong": wrong_posts,
        "targets_wrong": wrong_targets,
        "status_ids_held": status_ids,
        "daily_ids_held": day["events"],
        "distinct_events": len(load.events),
    }


def run(args: argparse.Namespace) -> int:
    from socialomega.local import localstack
    from socialomega.local.runtime import apply_service_env

    build = ROOT / ".build"
    build.mkdir(exist_ok=True)
    logs = build / "bench-analytics-writer-logs.jsonl"
    solog.configure(stream=open(logs, "w", buffering=1))  # noqa: SIM115 (lives as long as the process)
    print(f"LocalStack at {localstack.ENDPOINT}: {localstack.start()}")
    bucket = f"so-bench-analytics-{uuid.uuid4().hex[:12]}"
    apply_service_env({"service_env": {"SO_STORE_BUCKET": bucket}}, localstack.ENDPOINT)
    aws.client.cache_clear()
    admin = aws.client("s3")
    admin.create_bucket(Bucket=bucket)

    load = generate(args.events, args.posts, args.zipf, args.removals, args.duplicates, args.seed)
    print(
        f"load: {len(load.events)} events ({load.removals} removals) + {len(load.deliveries) - len(load.events)} "
        f"redelivered duplicates over {len(load.posts)} posts ({len(load.posts) // len(PLATFORMS)} photos x "
        f"{len(PLATFORMS)} platforms), Zipf s={args.zipf}: the top post gets {load.top_share:.1%}; then a replay"
    )
    tally = Tally()
    writers = []
    for _ in range(args.writers):
        s3 = aws.new_client("s3")  # uncached: one client per writer
        tally.count_requests(s3, bucket)
        writers.append(Aggregator(CountingStore(s3, bucket, tally)))  # as analytics/bootstrap.build composes it

    limit = Deadline.in_seconds(args.timeout, 0.0)
    phases: dict[str, dict[str, Any]] = {}
    result: dict[str, Any] = {}
    try:
        # EMF lines of re-queues go to stdout: keep them out of the printed figures.
        with open(logs, "a", buffering=1) as out, contextlib.redirect_stdout(out):
            phases["main"] = run_phase(
                "main", load.deliveries, writers, lambda w: BenchQueue(w, tally), tally, args.batch, limit
            )
            before_replay = listing(admin, bucket)
            phases["replay"] = run_phase(
                "replay", load.events, writers, lambda w: BenchQueue(w, tally), tally, args.batch, limit
            )
            after_replay = listing(admin, bucket)
        store = MetadataStore(admin, bucket)
        exact = exactness(store, load)
        changed = sorted(k for k, v in after_replay.items() if before_replay.get(k, (None,))[0] != v[0])
        analytics_docs = {k: v for k, v in after_replay.items() if k.startswith("analytics/")}
        largest: dict[str, Any] = {}
        for key, (_, size) in after_replay.items():
            family = family_of(key)
            if size > largest.get(family, {}).get("bytes", -1):
                largest[family] = {"key": key, "bytes": size}
        exact.update(
            {
                "replay_changed_etags": len([k for k in changed if k.startswith("analytics/")]),
                "replay_changed_other": len([k for k in changed if not k.startswith("analytics/")]),
                "analytics_documents": len(analytics_docs),
            }
        )
        ok = (
            not exact["posts_wrong"]
            and not exact["targets_wrong"]
            and exact["status_ids_held"] == 0
            and exact["daily_ids_held"] == exact["distinct_events"]
            and not changed
            and all(not p["unfinished"] and not p["dead_lettered"] and not p["writer_errors"] for p in phases.values())
        )
        result = {
            "label": args.label,
            "load": {
                "events": len(load.events),
                "removals": load.removals,
                "redelivered_duplicates": len(load.deliveries) - len(load.events),
                "posts": len(load.posts),
                "photos": len(load.posts) // len(PLATFORMS),
                "platforms": list(PLATFORMS),
                "zipf_s": args.zipf,
                "top_post_share": round(load.top_share, 4),
                "writers": args.writers,
                "batch": args.batch,
                "seed": args.seed,
            },
            "phases": phases,
            "largest_document": largest,
            "exactness": exact,
            "exact": ok,
            "machine": {
                "cpus": os.cpu_count(),
                "python": sys.version.split()[0],
                "load_1m": round(os.getloadavg()[0], 2),
            },
            "at": datetime.now(UTC).isoformat(),
        }
    finally:
        if not args.keep:
            _delete_bucket(admin, bucket)
    path = build / (f"bench-analytics-writer-{args.label}.json" if args.label else "bench-analytics-writer.json")
    path.write_text(json.dumps(result, indent=1))
    print()
    print(render(result))
    print(
        f"\nJSON: {path.relative_to(ROOT)}; logs: {logs.relative_to(ROOT)}"
        + (f"; bucket kept: {bucket}" if args.keep else "")
    )
    return 0 if result["exact"] else 1


def _delete_bucket(s3: Any, bucket: str) -> None:
    keys = list(listing(s3, bucket))
    for start in range(0, len(keys), 1000):
        s3.delete_objects(
            Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys[start : start + 1000]], "Quiet": True}
        )
    s3.delete_bucket(Bucket=bucket)


def render(result: dict[str, Any]) -> str:
    lines: list[tuple[str, str]] = []
    for name, p in result["phases"].items():
        c, a = p["counts"], p["apply_seconds"]
        lines += [
            (
                f"[{name}] deliveries (distinct events)",
                f"{p['deliveries']} ({p['distinct_events']}) in {p['seconds']:.1f} s",
            ),
            (f"[{name}] events/s (deliveries/s)", f"{p['events_per_second']} ({p['deliveries_per_second']})"),
            (
                f"[{name}] S3 requests per event (per delivery)",
                f"{p['s3_requests_per_event']} ({p['s3_requests_per_delivery']})",
            ),
            (
                f"[{name}] apply latency p50 / p95 / max",
                f"{a['p50'] * 1000:.0f} / {a['p95'] * 1000:.0f} / {a['max'] * 1000:.0f} ms"
                if a["p50"] is not None
                else "n/a",
            ),
        ]
        for family in ("event_log", "status", "daily"):
            attempts = c.get(f"{family}.cas_attempts", 0)
            conflicts = c.get(f"{family}.cas_conflicts", 0)
            rate = f" ({conflicts / attempts:.1%} of attempts)" if attempts else ""
            lines.append(
                (
                    f"[{name}] {family}: CAS attempts / conflicts / skips / exhausted",
                    f"{attempts} / {conflicts}{rate} / {c.get(f'{family}.cas_skips', 0)}"
                    f" / {c.get(f'{family}.cas_exhausted', 0)}"
                    f"; S3 {p['s3_seconds'].get(family, 0):.1f} s",
                )
            )
        lines.append(
            (f"[{name}] event-log claims refused (duplicates seen)", str(c.get("event_log.claims_refused", 0)))
        )
        lines.append((f"[{name}] re-queued (ConcurrentUpdate)", str(c.get("queue.requeued", 0))))
        if p["most_conflicted"]:
            lines.append((f"[{name}] most conflicted", ", ".join(f"{k} {v}" for k, v in p["most_conflicted"][:4])))
        cpu = p["cpu_seconds"]
        lines.append((f"[{name}] CPU s: this process, LocalStack", f"{cpu['this process']}, {cpu['localstack']}"))
    for family, doc in sorted(result["largest_document"].items()):
        lines.append((f"largest {family} document", f"{doc['bytes'] / 1000:.1f} KB ({doc['key']})"))
    e = result["exactness"]
    lines += [
        (
            "posts with stored counts = truth",
            f"{e['posts_checked'] - len({w['post'] for w in e['posts_wrong']})} of {e['posts_checked']}",
        ),
        ("targets' day (16 shards) = truth", "yes" if not e["targets_wrong"] else f"NO: {e['targets_wrong']}"),
        (
            "ids held: status docs, daily shards",
            f"{e['status_ids_held']}, {e['daily_ids_held']} (events {e['distinct_events']})",
        ),
        ("replay changed ETags: analytics, event log", f"{e['replay_changed_etags']}, {e['replay_changed_other']}"),
        ("EXACT", "yes" if result["exact"] else "NO"),
    ]
    width = max(len(a) for a, _ in lines)
    return "\n".join(f"{a:<{width}}  {b}" for a, b in lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--posts", type=int, default=200, help="posts (a quarter as many photos, on 4 platforms)")
    parser.add_argument("--zipf", type=float, default=1.1)
    parser.add_argument("--removals", type=float, default=0.05)
    parser.add_argument("--duplicates", type=float, default=0.10)
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds for the whole run")
    parser.add_argument("--label", default="", help="suffix of the JSON file under .build/")
    parser.add_argument("--keep", action="store_true", help="keep the scratch bucket")
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
