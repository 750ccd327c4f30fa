"""The local Lambda service: plays the event source mappings, the poller's schedule and,
optionally, API Gateway in front of the webhook handler (`local/api_gateway.py`).

For each consumer it polls the consumer's real SQS queue the way an event source mapping
does: up to `batch_size` messages per invocation, the Lambda SQS event shape, the
handler's `batchItemFailures` honoured (only the successful records are deleted; the
failed ones reappear after their visibility timeout and SQS itself moves them to the
DLQ after `maxReceiveCount`). Handlers are the same `handler(event, context)` functions
the container images run.

Concurrency. A consumer runs as many instances as its event source mapping's
`maximum_concurrency` (Terraform: `consumers[*].maximum_concurrency`, the value envs/aws gives
the mapping's `scaling_config`); each instance long-polls and invokes on its own, as Lambda's
pollers do, so up to that many batches of one queue are handled at once
(https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html). One difference: Lambda
starts a mapping at five concurrent batches and scales up with the backlog to the maximum,
where these instances all poll from the start. Lambda's sandboxes share nothing; these
instances share one process: the cached boto3 clients (thread-safe) and the services each
handler builds once (`functools.cache`), which hold no per-invocation state. What is per
invocation cannot leak from one to another, because every invocation runs in a thread of its
own with a fresh `contextvars` context (the function's own environment of `core/config.py`, the
deadline of `core/deadline.py`, structlog's bound fields). Threads a handler starts itself get
none of these unless it hands its context over (`contextvars.copy_context().run`), in Lambda as
here.

Timeouts. An invocation still running at its function's timeout is abandoned, as Lambda
abandons it: its batch is not deleted (the messages reappear after their visibility timeout
and count a receive, as in SQS), it counts as a timeout in `stats()`, and
`invocation_timed_out` is logged. The context handed to the handler counts its remaining time
down to 0 at that moment (`lambda_context.py`), so the handlers' deadlines stop their work
first. What cannot be faithful: Lambda freezes and then discards the sandbox of a timed-out
invocation, while Python cannot stop a thread, so an abandoned handler thread runs on until it
returns, and whatever it does after the timeout (a post, a write, a message) still happens
here; `stats()` shows how many are still running (`abandoned_running`) and
`abandoned_invocation_finished` is logged when one ends. The handlers' deadlines (they stop a
margin before the timeout) make that rare. The scheduled poller's invocation is held to its
timeout the same way; for it, a timeout is an error (`InvocationTimedOut`), and Lambda's two
asynchronous retries are not played.

CPU: each invocation's handler thread CPU (`time.thread_time()`) is added up per consumer
(`cpu_seconds`). It does not include threads the handler's code starts (a pool of uploads,
libvips' workers): tests/bench/bench_pipeline.py accounts for those.
"""

from __future__ import annotations

import contextvars
import dataclasses
import hashlib
import importlib
import itertools
import json
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config

from socialomega.core import aws, config
from socialomega.core import logging as solog
from socialomega.local import localstack
from socialomega.local.api_gateway import WEBHOOK_HANDLER, WebhookGateway
from socialomega.local.lambda_context import LambdaContext

Handler = Callable[[dict[str, Any], Any], Any]
Clock = Callable[[], float]

# The smallest `maximum_concurrency` an SQS event source mapping accepts (2..1000):
# https://docs.aws.amazon.com/lambda/latest/api/API_ScalingConfig.html
MIN_CONCURRENCY = 2
# How often a waiting instance looks at its invocation's clock (with the real clock it waits
# for exactly the time left; with a test's clock it must look again).
WAIT_SLICE_SECONDS = 0.25
# An instance's long poll (SQS answers as soon as a message arrives). Short, so that `stop()`
# returns within it (Lambda's pollers long-poll too; for how long is not documented); not 1 s,
# because every idle receive costs LocalStack CPU the pipeline needs: 19 idle instances took
# ~8 % of a core at 1 s, ~3 % at 5 s (LocalStack 4.14, measured here).
POLL_WAIT_SECONDS = 5


def polling_client(connections: int) -> Any:
    """The runtime's own SQS client, for what Lambda's pollers do (receive, delete), not the
    functions' shared one: its pool holds a connection per instance, so concurrent long polls
    neither wait for a connection nor open and drop one per poll."""
    return boto3.session.Session().client(
        "sqs",
        endpoint_url=aws.endpoint_url(),
        config=Config(
            max_pool_connections=max(10, connections),
            retries={"mode": "standard", "max_attempts": 3},
            connect_timeout=5,
            read_timeout=POLL_WAIT_SECONDS + 30,
        ),
    )


def load_handler(dotted: str) -> Handler:
    module, _, name = dotted.rpartition(".")
    handler: Handler = getattr(importlib.import_module(module), name)
    return handler


@dataclass
class Consumer:
    name: str
    queue_url: str
    handler: str
    batch_size: int = 10
    function_timeout: float = 30
    queue_arn: str = ""
    environment: dict[str, str] = field(default_factory=dict)  # the function's own variables
    # Instances polling and invoking at once; `from_terraform_outputs` takes Terraform's value.
    maximum_concurrency: int = MIN_CONCURRENCY


@dataclass
class ConsumerStats:
    invocations: int = 0
    records: int = 0
    failures: int = 0  # records reported in batchItemFailures
    errors: int = 0  # invocations that raised (their whole batch comes back)
    timeouts: int = 0  # invocations abandoned at the function timeout (their whole batch comes back)
    cpu_seconds: float = 0.0  # handler threads only (not the threads a handler starts)
    peak_concurrency: int = 0  # most invocations in flight at once
    abandoned_running: int = 0  # timed-out invocations whose thread has not returned yet


@dataclass
class Outcome:
    """How one invocation ended. For an abandoned one (`timed_out`), `result`, `error` and
    `cpu_seconds` are filled in later, if and when its thread returns."""

    result: Any = None
    error: BaseException | None = None
    timed_out: bool = False
    cpu_seconds: float = 0.0


class InvocationTimedOut(RuntimeError):
    """The function ran past its timeout; Lambda logs `Task timed out after N seconds`."""


class _Call:
    """What the invoking instance and the handler's thread share: who finished first."""

    def __init__(self) -> None:
        self.outcome = Outcome()
        self.done = threading.Event()
        self.lock = threading.Lock()
        self.abandoned = False


_thread_numbers = itertools.count(1)


def invoke(
    function: str,
    handler: Handler,
    event: dict[str, Any],
    context: LambdaContext,
    environment: Mapping[str, str] | None = None,
    *,
    on_late_finish: Callable[[Outcome], None] | None = None,
) -> Outcome:
    """Call `handler(event, context)` in a thread of its own, in a fresh contextvars context
    with the function's own environment variables, and wait for it until `context` has no time
    left. Past that the call is abandoned (`timed_out`); if its thread returns later,
    `on_late_finish` gets the completed outcome."""
    call = _Call()

    def body() -> None:
        started = time.thread_time()
        try:
            with config.function_environment(environment or {}):
                call.outcome.result = handler(event, context)
        except BaseException as exc:  # Lambda reports whatever ends an invocation as its error
            call.outcome.error = exc
        finally:
            call.outcome.cpu_seconds = time.thread_time() - started
            with call.lock:
                call.done.set()
                late = call.abandoned
            if late and on_late_finish is not None:
                on_late_finish(call.outcome)

    thread = threading.Thread(
        target=contextvars.Context().run, args=(body,), name=f"lambda:{function}:{next(_thread_numbers)}", daemon=True
    )
    thread.start()
    while not call.done.wait(min(WAIT_SLICE_SECONDS, context.remaining_seconds())):
        if context.remaining_seconds() > 0:
            continue
        with call.lock:
            if not call.done.is_set():  # else it returned just now: not a timeout
                call.abandoned = True
                call.outcome.timed_out = True
        break
    return call.outcome


def sqs_event(messages: list[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    """The event Lambda's SQS event source mapping hands to a function."""
    records = []
    for message in messages:
        attributes = {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "0",
            "SenderId": "local",
            "ApproximateFirstReceiveTimestamp": "0",
            **message.get("Attributes", {}),
        }
        message_attributes = {
            name: {
                "stringValue": value.get("StringValue"),
                "binaryValue": value.get("BinaryValue"),
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": value["DataType"],
            }
            for name, value in (message.get("MessageAttributes") or {}).items()
        }
        records.append(
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": attributes,
                "messageAttributes": message_attributes,
                "md5OfBody": message.get("MD5OfBody") or hashlib.md5(message["Body"].encode()).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
        )
    return {"Records": records}


def failed_message_ids(result: Any, message_ids: set[str]) -> set[str]:
    """The records a partial batch response asks back. Lambda takes no response, an empty one or
    an empty `batchItemFailures` as complete success, and a failure entry without a valid
    `itemIdentifier` of this batch (missing, empty, unknown) as complete failure:
    https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html"""
    if not isinstance(result, dict):
        return set()
    failed: set[str] = set()
    for item in result.get("batchItemFailures") or []:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not isinstance(identifier, str) or identifier not in message_ids:
            return set(message_ids)
        failed.add(identifier)
    return failed


class EventSourceMapping:
    """One consumer's event source mapping: `consumer.maximum_concurrency` instances, each
    running `run(index)` in a thread of its own."""

    def __init__(
        self,
        consumer: Consumer,
        stop: threading.Event,
        wait_seconds: int = POLL_WAIT_SECONDS,
        clock: Clock = time.monotonic,
        sqs: Any = None,
    ) -> None:
        self.consumer = consumer
        self.stop = stop
        self.wait_seconds = wait_seconds
        self.clock = clock
        self.sqs = sqs  # None: the shared client of `core/aws.py`
        self.region = os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
        self._handler: Handler | None = None
        self._lock = threading.Lock()
        self._stats = ConsumerStats()
        self._in_flight = 0
        self._log = solog.get_logger(service="local-runtime")

    @property
    def busy(self) -> bool:
        """Whether an invocation is in flight (abandoned ones are not: Lambda has ended them)."""
        with self._lock:
            return self._in_flight > 0

    @property
    def stats(self) -> ConsumerStats:
        """A snapshot of the counters."""
        with self._lock:
            return dataclasses.replace(self._stats)

    def prepare(self, sqs: Any) -> None:
        """Find the queue's ARN and import the handler (once, whichever instance comes first)."""
        with self._lock:
            if self._handler is not None:
                return
            if not self.consumer.queue_arn:
                self.consumer.queue_arn = sqs.get_queue_attributes(
                    QueueUrl=self.consumer.queue_url, AttributeNames=["QueueArn"]
                )["Attributes"]["QueueArn"]
            self._handler = load_handler(self.consumer.handler)

    def run(self, index: int = 0) -> None:
        """One instance: poll, invoke, repeat until stopped. A failing receive (LocalStack
        restarting, say) is logged and retried a second later, as Lambda's pollers retry."""
        sqs = self.sqs or aws.client("sqs")
        while not self.stop.is_set():
            try:
                self.poll_once(sqs)
            except Exception as exc:
                self._log.warning("poll_failed", consumer=self.consumer.name, instance=index, error=str(exc))
                self.stop.wait(1.0)

    def poll_once(self, sqs: Any) -> int:
        """Receive one batch and invoke the function with it; the number of messages."""
        self.prepare(sqs)
        response = sqs.receive_message(
            QueueUrl=self.consumer.queue_url,
            MaxNumberOfMessages=min(10, self.consumer.batch_size),
            WaitTimeSeconds=self.wait_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = response.get("Messages", [])
        if messages and self.stop.is_set():  # stopped during the long poll: hand them back untouched
            sqs.change_message_visibility_batch(
                QueueUrl=self.consumer.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                    for i, m in enumerate(messages)
                ],
            )
            return 0
        if messages:
            self._invoke(sqs, messages)
        return len(messages)

    def _invoke(self, sqs: Any, messages: list[dict[str, Any]]) -> None:
        assert self._handler is not None
        event = sqs_event(messages, self.consumer.queue_arn, self.region)
        context = LambdaContext(
            function_name=self.consumer.name, timeout_seconds=self.consumer.function_timeout, clock=self.clock
        )
        with self._lock:
            self._stats.invocations += 1
            self._stats.records += len(messages)
            self._in_flight += 1
            self._stats.peak_concurrency = max(self._stats.peak_concurrency, self._in_flight)
        try:
            outcome = invoke(
                self.consumer.name,
                self._handler,
                event,
                context,
                self.consumer.environment,
                on_late_finish=lambda late: self._late_finish(late, context),
            )
            self._settle(sqs, messages, outcome, context)
        finally:  # after the deletes: until then the batch is in flight in SQS, so never idle
            with self._lock:
                self._in_flight -= 1

    def _settle(self, sqs: Any, messages: list[dict[str, Any]], outcome: Outcome, context: LambdaContext) -> None:
        name = self.consumer.name
        if outcome.timed_out:  # the whole batch comes back after its visibility timeout
            with self._lock:
                self._stats.timeouts += 1
                self._stats.abandoned_running += 1
            self._log.error(
                "invocation_timed_out",
                consumer=name,
                request_id=context.aws_request_id,
                timeout_seconds=self.consumer.function_timeout,
                message_ids=[m["MessageId"] for m in messages],
                note="abandoned; its thread may still finish what it was doing",
            )
            return
        with self._lock:
            self._stats.cpu_seconds += outcome.cpu_seconds
            if outcome.error is not None:
                self._stats.errors += 1
        if outcome.error is not None:  # Lambda: a raised error fails the whole batch
            self._log.error(
                "invocation_failed",
                consumer=name,
                request_id=context.aws_request_id,
                error=f"{type(outcome.error).__name__}: {outcome.error}",
                exc_info=outcome.error,
            )
            return
        failed = failed_message_ids(outcome.result, {m["MessageId"] for m in messages})
        with self._lock:
            self._stats.failures += len(failed)
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            chunk = done[start : start + 10]
            answer = sqs.delete_message_batch(
                QueueUrl=self.consumer.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )
            if answer.get("Failed"):  # e.g. a receipt handle gone stale: SQS redelivers, handlers are idempotent
                self._log.warning("delete_failed", consumer=name, failed=answer["Failed"])

    def _late_finish(self, outcome: Outcome, context: LambdaContext) -> None:
        with self._lock:
            self._stats.abandoned_running -= 1
            self._stats.cpu_seconds += outcome.cpu_seconds
        self._log.warning(
            "abandoned_invocation_finished",
            consumer=self.consumer.name,
            request_id=context.aws_request_id,
            error=None if outcome.error is None else f"{type(outcome.error).__name__}: {outcome.error}",
        )


@dataclass
class Schedule:
    name: str
    handler: str
    every_seconds: float
    function_timeout: float = 120
    runs: int = 0
    timeouts: int = 0
    last_result: Any = None
    last_run: float = field(default=0.0)


def scheduled_event(rule_name: str) -> dict[str, Any]:
    """The event an EventBridge schedule delivers."""
    return {
        "version": "0",
        "id": f"local-{time.time_ns()}",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "000000000000",
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "region": "us-east-1",
        "resources": [f"arn:aws:events:us-east-1:000000000000:rule/{rule_name}"],
        "detail": {},
    }


def consumer_concurrency(name: str, consumer: Mapping[str, Any]) -> int:
    """A consumer's `maximum_concurrency` from the Terraform outputs: no default here, Terraform
    (modules/pipeline) is the one place that sets it, for AWS and for this runtime alike."""
    value = consumer.get("maximum_concurrency")
    if value is None:
        raise ValueError(
            f"consumer {name!r} has no maximum_concurrency in the Terraform outputs: "
            "re-apply terraform/envs/local (outputs written before it was added lack it)"
        )
    concurrency = int(value)
    if concurrency < MIN_CONCURRENCY:
        raise ValueError(f"consumer {name!r}: maximum_concurrency {concurrency} is below Lambda's {MIN_CONCURRENCY}")
    return concurrency


class LocalRuntime:
    def __init__(
        self,
        consumers: list[Consumer],
        schedules: list[Schedule],
        wait_seconds: int = POLL_WAIT_SECONDS,
        webhook_port: int | None = None,
        webhook_host: str = "127.0.0.1",
        clock: Clock = time.monotonic,
        sqs: Any = None,
    ) -> None:
        self.stop_event = threading.Event()
        self.clock = clock
        self.sqs = sqs  # None: `polling_client` at start (tests pass fake queues)
        self.mappings = [EventSourceMapping(c, self.stop_event, wait_seconds, clock, sqs) for c in consumers]
        self.schedules = schedules
        self._threads: list[threading.Thread] = []
        self._schedule_lock = threading.Lock()  # one poll at a time (the poller's reserved concurrency)
        # webhook_port None: no webhook endpoint; 0: any free port (see `webhook_url`).
        self.webhooks = (
            None
            if webhook_port is None
            else WebhookGateway(load_handler(WEBHOOK_HANDLER), host=webhook_host, port=webhook_port)
        )

    @property
    def webhook_url(self) -> str | None:
        """Base URL of the webhook endpoint: POST/GET `<url>/webhooks/<platform>`."""
        return None if self.webhooks is None else self.webhooks.url

    @classmethod
    def from_terraform_outputs(
        cls,
        outputs: dict[str, Any],
        poll_every: float = 300.0,
        only: set[str] | None = None,
        webhook_port: int | None = None,
    ) -> LocalRuntime:
        consumers = [
            Consumer(
                name=name,
                queue_url=c["queue_url"],
                handler=c["handler"],
                batch_size=int(c["batch_size"]),
                function_timeout=float(c["function_timeout"]),
                environment={k: str(v) for k, v in (c.get("environment") or {}).items()},
                maximum_concurrency=consumer_concurrency(name, c),
            )
            for name, c in outputs["consumers"].items()
            if only is None or name in only
        ]
        poller = outputs["poller"]
        schedules = (
            []
            if only is not None and "poller" not in only
            else [
                Schedule(
                    "poller",
                    poller["handler"],
                    float(poller.get("schedule_seconds", poll_every)),
                    function_timeout=float(poller["function_timeout"]),
                )
            ]
        )
        # The token keeper checks every target's credential and refreshes those due
        # (socialomega/tokens); the insights puller reads the recent posts' figures
        # (socialomega/insights); the release run sends scheduled posts whose time has come back
        # to their queues (socialomega/scheduling). Each one's first run comes one period after start, as a new
        # schedule's would: run_schedule(name) runs it now. Absent from outputs applied before
        # they existed.
        for name, output_name in (("token-keeper", "token_keeper"), ("insights", "insights"), ("release", "release")):
            scheduled = outputs.get(output_name)
            if scheduled and (only is None or name in only):
                schedules.append(
                    Schedule(
                        name,
                        scheduled["handler"],
                        float(scheduled["schedule_seconds"]),
                        function_timeout=float(scheduled["function_timeout"]),
                        last_run=time.monotonic(),
                    )
                )
        return cls(consumers, schedules, webhook_port=webhook_port)

    def _sqs(self) -> Any:
        if self.sqs is None:
            self.sqs = polling_client(sum(m.consumer.maximum_concurrency for m in self.mappings) + 2)
        return self.sqs

    def start(self) -> None:
        if self.webhooks is not None:
            self.webhooks.start()
        sqs = self._sqs()
        for mapping in self.mappings:
            mapping.sqs = sqs
            for index in range(mapping.consumer.maximum_concurrency):
                thread = threading.Thread(
                    target=mapping.run, args=(index,), name=f"esm:{mapping.consumer.name}:{index}", daemon=True
                )
                thread.start()
                self._threads.append(thread)
        if self.schedules:
            thread = threading.Thread(target=self._schedule_loop, name="scheduler", daemon=True)
            thread.start()
            self._threads.append(thread)

    def run_schedule(self, name: str) -> Any:
        """Fire a schedule now (the demo and tests use this instead of waiting) and return what
        the function returned; raises what it raised, or `InvocationTimedOut`."""
        schedule = next(s for s in self.schedules if s.name == name)
        with self._schedule_lock:
            schedule.last_run = self.clock()
            context = LambdaContext(
                function_name=schedule.name, timeout_seconds=schedule.function_timeout, clock=self.clock
            )
            outcome = invoke(
                schedule.name,
                load_handler(schedule.handler),
                scheduled_event(schedule.name),
                context,
                on_late_finish=lambda late: solog.get_logger(service="local-runtime").warning(
                    "abandoned_invocation_finished", function=schedule.name, request_id=context.aws_request_id
                ),
            )
            schedule.runs += 1
            if outcome.timed_out:
                schedule.timeouts += 1
                solog.get_logger(service="local-runtime").error(
                    "invocation_timed_out",
                    function=schedule.name,
                    request_id=context.aws_request_id,
                    timeout_seconds=schedule.function_timeout,
                    note="abandoned; its thread may still finish what it was doing",
                )
                raise InvocationTimedOut(f"{schedule.name}: task timed out after {schedule.function_timeout:.0f} s")
            if outcome.error is not None:
                raise outcome.error
            schedule.last_result = outcome.result
        return schedule.last_result

    def _schedule_loop(self) -> None:
        while not self.stop_event.wait(0.5):
            for schedule in self.schedules:
                if self.clock() - schedule.last_run >= schedule.every_seconds:
                    try:
                        self.run_schedule(schedule.name)
                    except Exception as exc:
                        solog.get_logger(service="local-runtime").exception(
                            "schedule_failed", schedule=schedule.name, error=str(exc)
                        )

    def stop(self, timeout: float = 10.0) -> None:
        """Stop polling; wait up to `timeout` in all for the instances to finish what they hold."""
        self.stop_event.set()
        if self.webhooks is not None:
            self.webhooks.stop()
        until = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, until - time.monotonic()))

    def stats(self) -> dict[str, ConsumerStats]:
        return {m.consumer.name: m.stats for m in self.mappings}

    def wait_until_idle(
        self, timeout: float = 120.0, quiet_seconds: float = 3.0, waiting: Callable[[], int] | None = None
    ) -> bool:
        """True once no invocation or poll runs and every consumer queue is empty (incl. in-flight
        messages) for `quiet_seconds`. `waiting()`: how many publications wait for a later time
        (deferred by a quota, a daily cap or an open breaker); that many delayed messages are
        theirs and do not count, so "idle" means everything due has gone."""
        sqs = self._sqs()
        deadline = time.monotonic() + timeout
        quiet_since: float | None = None
        while time.monotonic() < deadline:
            busy = self._schedule_lock.locked() or any(m.busy for m in self.mappings)
            pending = delayed = 0
            for mapping in self.mappings:
                attrs = sqs.get_queue_attributes(
                    QueueUrl=mapping.consumer.queue_url,
                    AttributeNames=[
                        "ApproximateNumberOfMessages",
                        "ApproximateNumberOfMessagesNotVisible",
                        "ApproximateNumberOfMessagesDelayed",
                    ],
                )["Attributes"]
                delayed += int(attrs.get("ApproximateNumberOfMessagesDelayed", 0))
                pending += int(attrs.get("ApproximateNumberOfMessages", 0))
                pending += int(attrs.get("ApproximateNumberOfMessagesNotVisible", 0))
            if not busy and not pending and delayed and waiting is not None and delayed <= waiting():
                delayed = 0  # every delayed message is a deferred publication: not due yet
            if busy or pending or delayed:
                quiet_since = None
            elif quiet_since is None:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= quiet_seconds:
                return True
            time.sleep(0.5)
        return False


def apply_service_env(outputs: dict[str, Any], endpoint: str | None = None) -> None:
    """Give handlers the environment Terraform gives the functions in AWS, plus where AWS is:
    `AWS_ENDPOINT_URL` (which boto3 and `core/aws.py` honour) set to `endpoint`, by default
    LocalStack's as `localstack.endpoint()` decides it."""
    os.environ.update({k: str(v) for k, v in outputs["service_env"].items()})
    os.environ["AWS_ENDPOINT_URL"] = endpoint or localstack.endpoint()
    for name, default in (
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
    ):
        os.environ.setdefault(name, default)


def main_json(path: str) -> dict[str, Any]:
    with open(path) as handle:
        data = json.load(handle)
    # `terraform output -json` wraps every output as {"value": ..., "type": ...}
    return {k: (v["value"] if isinstance(v, dict) and "value" in v else v) for k, v in data.items()}
