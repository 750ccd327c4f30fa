"""SQS consumer contract shared by every queue-driven handler.

The event source mapping has `ReportBatchItemFailures` on, so a handler returns the ids
of the records to retry and only those come back. Three outcomes per record:

* success: the record is acknowledged (deleted by the event source mapping);
* `PermanentFailure` / `InvalidMessage`: retrying cannot help, so the record is sent to
  the queue's DLQ at once with its reason as message attributes, then acknowledged;
* `Deferred` (a posting quota is used up): the record is sent again to its own queue with a
  delay and acknowledged, so waiting for quota never counts towards `maxReceiveCount`;
* anything else (`RetryLater` or an unexpected error): reported as a batch item failure
  with a backoff set through the message's visibility, so SQS redelivers it later; on its
  last receive (the queue's `maxReceiveCount`) the record is dead-lettered here, with the
  last reason, rather than by SQS without one.
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from socialomega.contracts import payloads
from socialomega.core import logging as solog
from socialomega.core.envelope import Envelope, EventType, InvalidMessage, parse, problems

MAX_BACKOFF_SECONDS = 900


class PermanentFailure(Exception):
    """Retrying this record cannot succeed; dead-letter it with `reason`."""

    def __init__(self, reason: str, code: str = "permanent") -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


class RetryLater(Exception):
    """A transient failure; redeliver after `delay_seconds` (None: exponential backoff)."""

    def __init__(self, reason: str, delay_seconds: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.delay_seconds = delay_seconds


class Deferred(Exception):
    """Not now, and not a failure: redeliver after `delay_seconds` as a fresh message."""

    def __init__(self, reason: str, delay_seconds: float) -> None:
        super().__init__(reason)
        self.reason = reason
        self.delay_seconds = delay_seconds


class InvalidPayload(PermanentFailure, InvalidMessage):
    """The envelope is sound but its payload does not fit its event type: an invalid message,
    and a permanent failure, whichever a caller asks about."""


RecordHandler = Callable[[Envelope, Any], object]  # (envelope, its typed payload); what it returns is ignored


def checked_payload(envelope: Envelope) -> Any:
    """The envelope's payload as its event type's model (contracts/payloads.py). A payload that
    does not fit is a permanent failure now, with the reason: a malformed message never becomes
    right by being retried."""
    try:
        return payloads.MODELS[envelope.type].model_validate(envelope.payload)
    except ValidationError as exc:
        raise InvalidPayload(
            f"{envelope.type} payload is incomplete or invalid: {problems(exc)}", "invalid_payload"
        ) from None


def backoff_seconds(receive_count: int, retry_after: float | None = None) -> int:
    """Capped exponential backoff with full jitter, never shorter than Retry-After."""
    exponential = min(MAX_BACKOFF_SECONDS, 2 ** min(receive_count, 10))
    delay = random.uniform(exponential / 2, exponential)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return int(min(MAX_BACKOFF_SECONDS, max(1, delay)))


@dataclass(frozen=True)
class Redrive:
    dlq_url: str
    max_receive_count: int


class QueueRecords:
    """What the consumer does to records besides handling them, on SQS: dead-letter one with its
    reason, send one again delayed, set one's visibility for a backoff. A source queue's DLQ and
    maxReceiveCount are read from its redrive policy and cached, so handlers need no extra config."""

    def __init__(self, sqs: Any) -> None:
        self.sqs = sqs
        self._known: dict[str, Redrive] = {}
        self._urls: dict[str, str] = {}
        self._lock = threading.Lock()

    def queue_url(self, arn: str) -> str:
        with self._lock:
            if arn in self._urls:
                return self._urls[arn]
        _, _, _, _region, account, name = arn.split(":", 5)
        url: str = self.sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
        with self._lock:
            self._urls[arn] = url
        return url

    def redrive(self, source_arn: str) -> Redrive:
        with self._lock:
            if source_arn in self._known:
                return self._known[source_arn]
        policy = self.sqs.get_queue_attributes(QueueUrl=self.queue_url(source_arn), AttributeNames=["RedrivePolicy"])
        redrive = policy.get("Attributes", {}).get("RedrivePolicy")
        if not redrive:
            raise RuntimeError(f"queue {source_arn} has no redrive policy, so no DLQ to send to")
        parsed = json.loads(redrive)
        found = Redrive(self.queue_url(parsed["deadLetterTargetArn"]), int(parsed["maxReceiveCount"]))
        with self._lock:
            self._known[source_arn] = found
        return found

    def dead_letter(self, record: dict[str, Any], reason: str, code: str, service: str) -> None:
        """Move a record to its DLQ now, keeping the body intact and the reason beside it."""
        attributes = {
            "so_failure_reason": {"DataType": "String", "StringValue": solog.redact(reason)[:1000]},
            "so_failure_code": {"DataType": "String", "StringValue": code},
            "so_failed_service": {"DataType": "String", "StringValue": service},
            "so_failed_at": {"DataType": "String", "StringValue": datetime.now(UTC).isoformat()},
            "so_source_queue": {"DataType": "String", "StringValue": record.get("eventSourceARN", "")},
        }
        for name, value in (record.get("messageAttributes") or {}).items():
            if len(attributes) >= 10:  # SQS allows 10 message attributes
                break
            if value.get("stringValue") is not None and not name.startswith("so_"):
                attributes[name] = {"DataType": value.get("dataType", "String"), "StringValue": value["stringValue"]}
        self.sqs.send_message(
            QueueUrl=self.redrive(record["eventSourceARN"]).dlq_url,
            MessageBody=record["body"],
            MessageAttributes=attributes,
        )

    def defer(self, record: dict[str, Any], seconds: float) -> int:
        """Send the record's body again to its own queue, delayed (SQS allows at most 900 s; a
        longer wait is reached by deferring again). Returns the delay used."""
        delay = int(min(MAX_BACKOFF_SECONDS, max(1, seconds)))
        attributes = {
            name: {"DataType": value.get("dataType", "String"), "StringValue": value["stringValue"]}
            for name, value in (record.get("messageAttributes") or {}).items()
            if value.get("stringValue") is not None and not name.startswith("so_")
        }
        previous = (record.get("messageAttributes") or {}).get("so_deferrals", {}).get("stringValue") or "0"
        attributes["so_deferrals"] = {"DataType": "Number", "StringValue": str(int(previous) + 1)}
        self.sqs.send_message(
            QueueUrl=self.queue_url(record["eventSourceARN"]),
            MessageBody=record["body"],
            DelaySeconds=delay,
            MessageAttributes=dict(list(attributes.items())[:10]),
        )
        return delay

    def last_receive(self, record: dict[str, Any], receive_count: int) -> bool:
        try:
            return receive_count >= self.redrive(record["eventSourceARN"]).max_receive_count
        except Exception:  # unknown: let SQS count
            return False

    def delay(self, record: dict[str, Any], seconds: int) -> None:
        try:
            self.sqs.change_message_visibility(
                QueueUrl=self.queue_url(record["eventSourceARN"]),
                ReceiptHandle=record["receiptHandle"],
                VisibilityTimeout=seconds,
            )
        except Exception as exc:  # the default visibility timeout still delays the retry
            solog.get_logger().warning("backoff_not_set", error=str(exc))


def process_batch(
    event: dict[str, Any],
    handle: RecordHandler,
    *,
    service: str,
    expect: EventType | tuple[EventType, ...],
    records: QueueRecords,
    unwrap: Callable[[dict[str, Any]], Any] = lambda record: record["body"],
) -> dict[str, Any]:
    """Run `handle(envelope, payload)` on every record of an SQS event, the payload checked
    against its event's model; return the partial batch response."""
    log = solog.get_logger()
    failures: list[dict[str, str]] = []
    for record in event.get("Records", []):
        message_id = record.get("messageId", "")
        receive_count = int((record.get("attributes") or {}).get("ApproximateReceiveCount", "1"))
        solog.clear()
        try:
            envelope = parse(unwrap(record), expect=expect)
            solog.bind_event(envelope, service)
            handle(envelope, checked_payload(envelope))
            log.info("record_done", message_id=message_id)
        except (InvalidMessage, PermanentFailure) as exc:
            reason = getattr(exc, "reason", str(exc))
            code = getattr(exc, "code", "invalid_message")
            log.error("record_dead_lettered", message_id=message_id, reason=reason, code=code)
            try:
                records.dead_letter(record, reason, code, service)
            except Exception as dlq_exc:  # never lose it: let SQS retry and redrive it
                log.error("dead_letter_failed", message_id=message_id, error=str(dlq_exc))
                failures.append({"itemIdentifier": message_id})
        except Deferred as exc:
            try:
                delay = records.defer(record, exc.delay_seconds)
                log.info("record_deferred", message_id=message_id, reason=exc.reason, delay_seconds=delay)
            except Exception as send_exc:  # could not re-queue: fall back to a visibility delay
                log.warning("defer_failed", message_id=message_id, error=str(send_exc))
                records.delay(record, backoff_seconds(receive_count, exc.delay_seconds))
                failures.append({"itemIdentifier": message_id})
        except Exception as exc:
            reason = exc.reason if isinstance(exc, RetryLater) else f"{type(exc).__name__}: {exc}"
            if records.last_receive(record, receive_count):
                # SQS would dead-letter it on the next receive, but without the reason: do it now.
                log.error("record_retries_exhausted", message_id=message_id, reason=reason, receive_count=receive_count)
                try:
                    records.dead_letter(
                        record,
                        f"retries exhausted after {receive_count} receives: {reason}",
                        "retries_exhausted",
                        service,
                    )
                    continue
                except Exception as dlq_exc:
                    log.error("dead_letter_failed", message_id=message_id, error=str(dlq_exc))
            delay = backoff_seconds(receive_count, exc.delay_seconds if isinstance(exc, RetryLater) else None)
            if isinstance(exc, RetryLater):
                log.warning(
                    "record_retry",
                    message_id=message_id,
                    reason=reason,
                    delay_seconds=delay,
                    receive_count=receive_count,
                )
            else:
                log.exception(
                    "record_failed",
                    message_id=message_id,
                    error=reason,
                    delay_seconds=delay,
                    receive_count=receive_count,
                )
            records.delay(record, delay)
            failures.append({"itemIdentifier": message_id})
        finally:
            solog.clear()
    return {"batchItemFailures": failures}


def unwrap_eventbridge(record: dict[str, Any]) -> Any:
    """EventBridge delivers its own wrapper to SQS; the envelope is its `detail`."""
    try:
        wrapper = json.loads(record["body"])
    except json.JSONDecodeError as exc:
        raise InvalidMessage(f"body is not JSON: {exc}") from exc
    if not isinstance(wrapper, dict) or not isinstance(wrapper.get("detail"), dict):
        raise InvalidMessage("not an EventBridge event: no detail object")
    return wrapper["detail"]
