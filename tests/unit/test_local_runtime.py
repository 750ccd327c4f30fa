"""The local Lambda runtime plays an event source mapping's concurrency and a function's timeout
(services/socialomega/local/runtime.py), on an in-memory queue and a test clock: no LocalStack.

No assertion here is about how long anything took. Where instances must overlap, a barrier
makes them meet (a single instance would break it); where an invocation must outlive its
timeout, the handler moves the test clock past it and then waits to be released."""

from __future__ import annotations

import itertools
import threading
import time
from typing import Any

import pytest
import structlog
from structlog.testing import capture_logs

from socialomega.core import config, deadline
from socialomega.core import logging as solog
from socialomega.local import runtime
from socialomega.local.lambda_context import LambdaContext
from socialomega.local.runtime import (
    Consumer,
    EventSourceMapping,
    InvocationTimedOut,
    LocalRuntime,
    Schedule,
    failed_message_ids,
)

SAFETY = 30.0  # how long a barrier or an event waits before the test fails, never reached when it passes


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now
        self.lock = threading.Lock()

    def __call__(self) -> float:
        with self.lock:
            return self.now

    def advance(self, seconds: float) -> None:
        with self.lock:
            self.now += seconds


class FakeSqs:
    """SQS queues in memory: a received message is in flight (invisible) until it is deleted
    or its visibility timeout passes on the test clock, then it comes back."""

    VISIBILITY = 180.0

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.lock = threading.Lock()
        self.queues: dict[str, dict[str, dict[str, Any]]] = {}
        self.deleted: dict[str, list[str]] = {}
        self._ids = itertools.count(1)

    def send(self, url: str, body: str) -> str:
        with self.lock:
            message_id = f"m{next(self._ids)}"
            self.queues.setdefault(url, {})[message_id] = {"body": body, "visible_at": 0.0, "receives": 0}
            return message_id

    def receive_message(self, QueueUrl: str, MaxNumberOfMessages: int, **_: Any) -> dict[str, Any]:  # noqa: N803
        now = self.clock()
        with self.lock:
            queue = self.queues.setdefault(QueueUrl, {})
            visible = [(mid, m) for mid, m in queue.items() if m["visible_at"] <= now][:MaxNumberOfMessages]
            for _mid, message in visible:
                message["visible_at"] = now + self.VISIBILITY
                message["receives"] += 1
        if not visible:
            time.sleep(0.01)  # long polling, shortened
        return {
            "Messages": [
                {
                    "MessageId": mid,
                    "ReceiptHandle": f"{mid}#{m['receives']}",
                    "Body": m["body"],
                    "Attributes": {"ApproximateReceiveCount": str(m["receives"])},
                }
                for mid, m in visible
            ]
        }

    def delete_message_batch(self, QueueUrl: str, Entries: list[dict[str, str]]) -> dict[str, Any]:  # noqa: N803
        with self.lock:
            for entry in Entries:
                message_id = entry["ReceiptHandle"].split("#")[0]
                self.queues[QueueUrl].pop(message_id)
                self.deleted.setdefault(QueueUrl, []).append(message_id)
        return {"Successful": [{"Id": e["Id"]} for e in Entries], "Failed": []}

    def change_message_visibility_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803
        now = self.clock()
        with self.lock:
            for entry in Entries:
                self.queues[QueueUrl][entry["ReceiptHandle"].split("#")[0]]["visible_at"] = (
                    now + entry["VisibilityTimeout"]
                )
        return {"Successful": [{"Id": e["Id"]} for e in Entries], "Failed": []}

    def get_queue_attributes(self, QueueUrl: str, AttributeNames: list[str]) -> dict[str, Any]:  # noqa: N803
        now = self.clock()
        with self.lock:
            queue = self.queues.get(QueueUrl, {})
            visible = sum(m["visible_at"] <= now for m in queue.values())
            attributes = {
                "QueueArn": f"arn:aws:sqs:us-east-1:000000000000:{QueueUrl.rsplit('/', 1)[-1]}",
                "ApproximateNumberOfMessages": str(visible),
                "ApproximateNumberOfMessagesNotVisible": str(len(queue) - visible),
                "ApproximateNumberOfMessagesDelayed": "0",
            }
        return {"Attributes": {name: attributes[name] for name in AttributeNames}}

    def in_flight(self, url: str) -> list[str]:
        now = self.clock()
        with self.lock:
            return sorted(mid for mid, m in self.queues.get(url, {}).items() if m["visible_at"] > now)


def consumer(name: str = "images", **settings: Any) -> Consumer:
    return Consumer(
        name=name,
        queue_url=f"http://sqs.local/{name}",
        handler=f"tests.handlers.{name}",
        queue_arn=f"arn:aws:sqs:us-east-1:000000000000:{name}",
        **settings,
    )


def eventually(condition: Any, what: str) -> None:
    """Wait for something another thread does next (not a timing assertion: bounded by SAFETY)."""
    until = time.monotonic() + SAFETY
    while not condition():
        assert time.monotonic() < until, f"never happened: {what}"
        time.sleep(0.01)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sqs(clock) -> FakeSqs:
    return FakeSqs(clock)


@pytest.fixture
def handlers(monkeypatch) -> dict[str, Any]:
    """Handlers by the dotted name a consumer gives (`tests.handlers.<name>`)."""
    table: dict[str, Any] = {}
    monkeypatch.setattr(runtime, "load_handler", lambda dotted: table[dotted])
    return table


@pytest.fixture
def started(clock, sqs):
    """Start a runtime on the fake queues; stopped after the test."""
    runtimes: list[LocalRuntime] = []

    def start(*consumers: Consumer) -> LocalRuntime:
        rt = LocalRuntime(list(consumers), [], clock=clock, sqs=sqs)
        rt.start()
        runtimes.append(rt)
        return rt

    yield start
    for rt in runtimes:
        rt.stop(timeout=SAFETY)


def bodies(event: dict[str, Any]) -> list[str]:
    return [record["body"] for record in event["Records"]]


def test_two_instances_handle_two_batches_at_the_same_time(sqs, handlers, started):
    images = consumer(batch_size=1, maximum_concurrency=2)
    sqs.send(images.queue_url, "first")
    sqs.send(images.queue_url, "second")
    both_in = threading.Barrier(2, timeout=SAFETY)  # one instance at a time would break it
    handled: list[tuple[str, str]] = []

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        both_in.wait()
        handled.append((bodies(event)[0], threading.current_thread().name))
        return {"batchItemFailures": []}

    handlers[images.handler] = handler
    rt = started(images)

    assert rt.wait_until_idle(timeout=SAFETY, quiet_seconds=0)
    stats = rt.stats()["images"]
    assert (stats.invocations, stats.records, stats.errors, stats.timeouts) == (2, 2, 0, 0)
    assert stats.peak_concurrency == 2
    assert sorted(body for body, _ in handled) == ["first", "second"]
    assert len({thread for _, thread in handled}) == 2  # each invocation in a thread of its own
    assert sorted(sqs.deleted[images.queue_url]) == ["m1", "m2"]


def test_batch_item_failures_are_honoured_per_instance(sqs, handlers, started):
    images = consumer(batch_size=2, maximum_concurrency=2)
    for body in ("ok-1", "fail-2", "ok-3", "fail-4"):
        sqs.send(images.queue_url, body)
    both_in = threading.Barrier(2, timeout=SAFETY)

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        both_in.wait()  # both batches are in flight at once, one per instance
        return {
            "batchItemFailures": [
                {"itemIdentifier": r["messageId"]} for r in event["Records"] if r["body"].startswith("fail")
            ]
        }

    handlers[images.handler] = handler
    rt = started(images)

    eventually(lambda: rt.stats()["images"].invocations == 2 and not rt.mappings[0].busy, "both batches settled")
    stats = rt.stats()["images"]
    assert (stats.records, stats.failures, stats.errors, stats.peak_concurrency) == (4, 2, 0, 2)
    assert sorted(sqs.deleted[images.queue_url]) == ["m1", "m3"]  # only each batch's successes
    assert sqs.in_flight(images.queue_url) == ["m2", "m4"]  # the failures come back after their visibility


def test_an_invocation_past_its_timeout_is_abandoned_and_its_batch_comes_back(clock, sqs, handlers):
    images = consumer(function_timeout=30, maximum_concurrency=2)
    sqs.send(images.queue_url, "slow")
    release, returned = threading.Event(), threading.Event()

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        if event["Records"][0]["attributes"]["ApproximateReceiveCount"] == "1":
            clock.advance(31)  # the function's 30 s go by, and then some
            release.wait(SAFETY)
            returned.set()
        return {"batchItemFailures": []}

    handlers[images.handler] = handler
    mapping = EventSourceMapping(images, threading.Event(), clock=clock, sqs=sqs)
    solog.configure()
    with capture_logs() as logs:
        assert mapping.poll_once(sqs) == 1  # returns at the timeout, without the handler
        assert not returned.is_set()
        stats = mapping.stats
        assert (stats.invocations, stats.timeouts, stats.errors, stats.abandoned_running) == (1, 1, 0, 1)
        assert not mapping.busy  # Lambda has ended it: the instance polls again
        assert images.queue_url not in sqs.deleted and sqs.in_flight(images.queue_url) == ["m1"]

        release.set()  # the abandoned thread finishes (Lambda would have frozen it): still no delete
        eventually(lambda: mapping.stats.abandoned_running == 0, "the abandoned invocation to return")
        assert images.queue_url not in sqs.deleted

        clock.advance(FakeSqs.VISIBILITY)  # its visibility timeout passes: SQS delivers it again
        assert mapping.poll_once(sqs) == 1
    assert sqs.deleted[images.queue_url] == ["m1"]
    assert mapping.stats.invocations == 2 and mapping.stats.timeouts == 1
    timed_out = [e for e in logs if e["event"] == "invocation_timed_out"]
    assert len(timed_out) == 1 and timed_out[0]["consumer"] == "images" and timed_out[0]["message_ids"] == ["m1"]
    assert [e["event"] for e in logs if e["event"] == "abandoned_invocation_finished"] == [
        "abandoned_invocation_finished"
    ]


def test_a_batch_received_after_stop_is_handed_back_not_handled(sqs, handlers):
    images = consumer()
    sqs.send(images.queue_url, "late")
    handlers[images.handler] = lambda event, context: pytest.fail("invoked after stop")
    stopped = threading.Event()
    stopped.set()  # as if stop() came during the long poll
    mapping = EventSourceMapping(images, stopped, sqs=sqs)
    assert mapping.poll_once(sqs) == 0
    assert mapping.stats.invocations == 0
    assert sqs.in_flight(images.queue_url) == [] and images.queue_url not in sqs.deleted  # visible again at once


def test_the_context_counts_down_to_zero_at_the_timeout(clock):
    context = LambdaContext(function_name="publisher-x", timeout_seconds=30, clock=clock)
    readings = []
    for step in (0, 10, 19.5, 0.5, 5):
        clock.advance(step)
        readings.append(context.get_remaining_time_in_millis())
    assert readings == [30000, 20000, 500, 0, 0]


def test_the_handler_gets_a_context_started_with_its_invocation(clock, sqs, handlers):
    images = consumer(function_timeout=60)
    sqs.send(images.queue_url, "one")
    seen: list[int] = []

    def handler(event: dict[str, Any], context: Any) -> None:
        seen.append(context.get_remaining_time_in_millis())
        clock.advance(12)
        seen.append(context.get_remaining_time_in_millis())
        # what core/deadline.py derives from it: the same time left, on the monotonic clock
        seen.append(round(deadline.Deadline.from_context(context, margin=0).remaining()))

    handlers[images.handler] = handler
    clock.advance(500)  # time before the invocation does not count
    EventSourceMapping(images, threading.Event(), clock=clock, sqs=sqs).poll_once(sqs)
    assert seen == [60000, 48000, 48]


def test_no_invocation_sees_another_ones_environment_deadline_or_log_context(sqs, handlers, started):
    a = consumer("publisher-a", batch_size=1, maximum_concurrency=2, environment={"SO_PUBLISHER_TARGET": "a"})
    b = consumer("publisher-b", batch_size=1, maximum_concurrency=2, environment={"SO_PUBLISHER_TARGET": "b"})
    for c in (a, b):
        for n in range(2):
            sqs.send(c.queue_url, f"{c.name}-{n}")
    all_in = threading.Barrier(4, timeout=SAFETY)  # four invocations, two per function, at once
    seen: list[tuple[str, str, bool, dict[str, Any]]] = []

    def handler(event: dict[str, Any], context: Any) -> None:
        inherited = (deadline.current() is deadline.NEVER, structlog.contextvars.get_contextvars())
        # leave state behind on purpose, as a careless handler would
        deadline._current.set(deadline.Deadline.in_seconds(1))
        structlog.contextvars.bind_contextvars(asset_id=bodies(event)[0])
        if not bodies(event)[0].endswith("later"):
            all_in.wait()
        seen.append((bodies(event)[0], config.environ()["SO_PUBLISHER_TARGET"], *inherited))

    handlers[a.handler] = handlers[b.handler] = handler
    rt = started(a, b)
    assert rt.wait_until_idle(timeout=SAFETY, quiet_seconds=0)
    for c in (a, b):  # a second round on the same instances: nothing left over from the first
        sqs.send(c.queue_url, f"{c.name}-later")
    assert rt.wait_until_idle(timeout=SAFETY, quiet_seconds=0)

    assert sorted((body, target) for body, target, _, _ in seen) == [
        ("publisher-a-0", "a"),
        ("publisher-a-1", "a"),
        ("publisher-a-later", "a"),
        ("publisher-b-0", "b"),
        ("publisher-b-1", "b"),
        ("publisher-b-later", "b"),
    ]
    assert all(never and context == {} for _, _, never, context in seen)
    assert {name: s.peak_concurrency for name, s in rt.stats().items()} == {"publisher-a": 2, "publisher-b": 2}


def test_a_scheduled_invocation_past_its_timeout_fails_and_errors_pass_through(clock, handlers, sqs):
    release = threading.Event()

    def slow(event: dict[str, Any], context: Any) -> dict[str, Any]:
        clock.advance(121)
        release.wait(SAFETY)
        return {"detected": []}

    def failing(event: dict[str, Any], context: Any) -> None:
        raise LookupError("the source failed")

    handlers["tests.handlers.poller"] = slow
    handlers["tests.handlers.failing"] = failing
    rt = LocalRuntime(
        [],
        [
            Schedule("poller", "tests.handlers.poller", every_seconds=300, function_timeout=120),
            Schedule("failing", "tests.handlers.failing", every_seconds=300),
        ],
        clock=clock,
        sqs=sqs,
    )
    with pytest.raises(InvocationTimedOut, match="poller: task timed out after 120 s"):
        rt.run_schedule("poller")
    release.set()
    assert [(s.runs, s.timeouts) for s in rt.schedules] == [(1, 1), (0, 0)]
    with pytest.raises(LookupError, match="the source failed"):
        rt.run_schedule("failing")


@pytest.mark.parametrize(
    ("result", "failed"),
    [
        (None, set()),
        ({}, set()),
        ({"batchItemFailures": []}, set()),
        ({"batchItemFailures": None}, set()),
        ({"batchItemFailures": [{"itemIdentifier": "m2"}]}, {"m2"}),
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, {"m1", "m2"}),
        ({"batchItemFailures": [{"itemIdentifier": None}]}, {"m1", "m2"}),
        ({"batchItemFailures": [{"id": "m1"}]}, {"m1", "m2"}),
        ({"batchItemFailures": [{"itemIdentifier": "m9"}]}, {"m1", "m2"}),  # not of this batch
    ],
)
def test_a_partial_batch_response_is_read_as_lambda_reads_it(result, failed):
    assert failed_message_ids(result, {"m1", "m2"}) == failed


def _outputs(**concurrency: Any) -> dict[str, Any]:
    consumers = {
        name: {
            "queue_url": f"http://sqs.local/{name}",
            "handler": "tests.handlers.x",
            "batch_size": 5,
            "function_timeout": 30,
            "environment": {},
            **({} if value is None else {"maximum_concurrency": value}),
        }
        for name, value in concurrency.items()
    }
    return {"consumers": consumers, "poller": {"handler": "tests.handlers.poller", "function_timeout": 120}}


def test_each_consumer_runs_as_many_instances_as_terraform_allows(sqs, handlers, clock):
    outputs = _outputs(processor=5, analytics=2)
    rt = LocalRuntime.from_terraform_outputs(outputs, only={"processor", "analytics"})
    assert {m.consumer.name: m.consumer.maximum_concurrency for m in rt.mappings} == {"processor": 5, "analytics": 2}
    rt = LocalRuntime([m.consumer for m in rt.mappings], [], clock=clock, sqs=sqs)  # the same, on the fake queues
    handlers["tests.handlers.x"] = lambda event, context: None
    rt.start()
    try:
        names = sorted(t.name for t in threading.enumerate() if t.name.startswith("esm:"))
    finally:
        rt.stop(timeout=SAFETY)
    assert names == sorted([*(f"esm:processor:{i}" for i in range(5)), "esm:analytics:0", "esm:analytics:1"])


@pytest.mark.parametrize(("value", "message"), [(None, "no maximum_concurrency"), (1, "below Lambda's 2")])
def test_a_concurrency_terraform_did_not_give_is_refused(value, message):
    with pytest.raises(ValueError, match=message):
        LocalRuntime.from_terraform_outputs(_outputs(processor=value))


class DelayedSqs(FakeSqs):
    """Queues whose only messages are delayed (deferred publications sent again for later)."""

    delayed = 3

    def get_queue_attributes(self, QueueUrl: str, AttributeNames: list[str]) -> dict[str, Any]:  # noqa: N803
        answer = super().get_queue_attributes(QueueUrl, AttributeNames)
        answer["Attributes"]["ApproximateNumberOfMessagesDelayed"] = str(self.delayed)
        return answer


@pytest.mark.parametrize(("waiting", "idle"), [(3, True), (2, False), (None, False)])
def test_delayed_messages_of_deferred_publications_do_not_keep_the_pipeline_busy(clock, waiting, idle):
    """The demo's "done": nothing due is left. Three delayed messages are all deferred
    publications only when three publications say they wait for a later time."""
    rt = LocalRuntime([consumer()], [], clock=clock, sqs=DelayedSqs(clock))
    done = rt.wait_until_idle(timeout=2.0, quiet_seconds=0, waiting=None if waiting is None else lambda: waiting)
    assert done is idle
