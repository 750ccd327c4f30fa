"""The local Lambda service: plays the event source mappings, the poller's schedule and,
optionally, API Gateway in front of the webhook handler (`local/api_gateway.py`).

For each consumer it polls the consumer's real SQS queue the way an event source mapping
does: up to `batch_size` messages per invocation, the Lambda SQS event shape, the
handler's `batchItemFailures` honoured (only the successful records are deleted; the
failed ones reappear after their visibility timeout and SQS itself moves them to the
DLQ after `maxReceiveCount`). Handlers are the same `handler(event, context)` functions
the container images run.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from socialomega.core import aws, config
from socialomega.core import logging as solog
from socialomega.local import localstack
from socialomega.local.api_gateway import WEBHOOK_HANDLER, WebhookGateway
from socialomega.local.lambda_context import LambdaContext

Handler = Callable[[dict[str, Any], Any], Any]


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
    function_timeout: int = 30
    queue_arn: str = ""
    environment: dict[str, str] = field(default_factory=dict)  # the function's own variables


@dataclass
class ConsumerStats:
    invocations: int = 0
    records: int = 0
    failures: int = 0
    errors: int = 0


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


class EventSourceMapping:
    """One consumer's polling loop."""

    def __init__(self, consumer: Consumer, stop: threading.Event, wait_seconds: int = 1) -> None:
        self.consumer = consumer
        self.stop = stop
        self.wait_seconds = wait_seconds
        self.stats = ConsumerStats()
        self.busy = False
        self._handler: Handler | None = None
        self.region = os.environ.get("AWS_DEFAULT_REGION", "us-east-1")

    def run(self) -> None:
        sqs = aws.client("sqs")
        if not self.consumer.queue_arn:
            self.consumer.queue_arn = sqs.get_queue_attributes(
                QueueUrl=self.consumer.queue_url, AttributeNames=["QueueArn"]
            )["Attributes"]["QueueArn"]
        self._handler = load_handler(self.consumer.handler)
        while not self.stop.is_set():
            self.poll_once(sqs)

    def poll_once(self, sqs: Any) -> int:
        response = sqs.receive_message(
            QueueUrl=self.consumer.queue_url,
            MaxNumberOfMessages=min(10, self.consumer.batch_size),
            WaitTimeSeconds=self.wait_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = response.get("Messages", [])
        if not messages:
            return 0
        self.busy = True
        try:
            self._invoke(sqs, messages)
        finally:
            self.busy = False
        return len(messages)

    def _invoke(self, sqs: Any, messages: list[dict[str, Any]]) -> None:
        assert self._handler is not None
        event = sqs_event(messages, self.consumer.queue_arn, self.region)
        context = LambdaContext(function_name=self.consumer.name, timeout_seconds=self.consumer.function_timeout)
        self.stats.invocations += 1
        self.stats.records += len(messages)
        try:
            with config.function_environment(self.consumer.environment):
                result = self._handler(event, context) or {}
        except Exception as exc:  # Lambda: a raised error fails the whole batch
            self.stats.errors += 1
            solog.get_logger(service="local-runtime").exception(
                "invocation_failed", consumer=self.consumer.name, error=str(exc)
            )
            return
        failed = {item.get("itemIdentifier") for item in result.get("batchItemFailures", [])}
        if "" in failed or None in failed:  # an empty identifier fails the whole batch
            return
        self.stats.failures += len(failed)
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            chunk = done[start : start + 10]
            sqs.delete_message_batch(
                QueueUrl=self.consumer.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )


@dataclass
class Schedule:
    name: str
    handler: str
    every_seconds: float
    function_timeout: int = 120
    runs: int = 0
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


class LocalRuntime:
    def __init__(
        self,
        consumers: list[Consumer],
        schedules: list[Schedule],
        wait_seconds: int = 1,
        webhook_port: int | None = None,
        webhook_host: str = "127.0.0.1",
    ) -> None:
        self.stop_event = threading.Event()
        self.mappings = [EventSourceMapping(c, self.stop_event, wait_seconds) for c in consumers]
        self.schedules = schedules
        self._threads: list[threading.Thread] = []
        self._schedule_lock = threading.Lock()
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
                function_timeout=int(c["function_timeout"]),
                environment={k: str(v) for k, v in (c.get("environment") or {}).items()},
            )
            for name, c in outputs["consumers"].items()
            if only is None or name in only
        ]
        poller = outputs["poller"]
        schedules = (
            []
            if only is not None and "poller" not in only
            else [Schedule("poller", poller["handler"], float(poller.get("schedule_seconds", poll_every)))]
        )
        return cls(consumers, schedules, webhook_port=webhook_port)

    def start(self) -> None:
        if self.webhooks is not None:
            self.webhooks.start()
        for mapping in self.mappings:
            thread = threading.Thread(target=mapping.run, name=f"esm-{mapping.consumer.name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        if self.schedules:
            thread = threading.Thread(target=self._schedule_loop, name="scheduler", daemon=True)
            thread.start()
            self._threads.append(thread)

    def run_schedule(self, name: str) -> Any:
        """Fire a schedule now (the demo and tests use this instead of waiting)."""
        schedule = next(s for s in self.schedules if s.name == name)
        with self._schedule_lock:
            context = LambdaContext(function_name=schedule.name, timeout_seconds=schedule.function_timeout)
            schedule.last_result = load_handler(schedule.handler)(scheduled_event(schedule.name), context)
            schedule.runs += 1
            schedule.last_run = time.monotonic()
        return schedule.last_result

    def _schedule_loop(self) -> None:
        while not self.stop_event.wait(0.5):
            for schedule in self.schedules:
                if time.monotonic() - schedule.last_run >= schedule.every_seconds:
                    try:
                        self.run_schedule(schedule.name)
                    except Exception as exc:
                        schedule.last_run = time.monotonic()
                        solog.get_logger(service="local-runtime").exception(
                            "schedule_failed", schedule=schedule.name, error=str(exc)
                        )

    def stop(self, timeout: float = 10.0) -> None:
        self.stop_event.set()
        if self.webhooks is not None:
            self.webhooks.stop()
        for thread in self._threads:
            thread.join(timeout)

    def stats(self) -> dict[str, ConsumerStats]:
        return {m.consumer.name: m.stats for m in self.mappings}

    def wait_until_idle(self, timeout: float = 120.0, quiet_seconds: float = 3.0) -> bool:
        """True once every consumer queue is empty (incl. in-flight) for `quiet_seconds`."""
        sqs = aws.client("sqs")
        deadline = time.monotonic() + timeout
        quiet_since: float | None = None
        while time.monotonic() < deadline:
            busy = any(m.busy for m in self.mappings)
            pending = 0
            for mapping in self.mappings:
                attrs = sqs.get_queue_attributes(
                    QueueUrl=mapping.consumer.queue_url,
                    AttributeNames=[
                        "ApproximateNumberOfMessages",
                        "ApproximateNumberOfMessagesNotVisible",
                        "ApproximateNumberOfMessagesDelayed",
                    ],
                )["Attributes"]
                pending += sum(int(v) for v in attrs.values())
            if busy or pending:
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
