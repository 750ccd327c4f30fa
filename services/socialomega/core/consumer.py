"""SQS consumer contract shared by every queue-driven handler.

The event source mapping has `ReportBatchItemFailures` on, so a handler returns the ids
of the records to retry and only those come back. Outcomes per record:

* success: the record is acknowledged (deleted by the event source mapping);
* `PermanentFailure` / `InvalidMessage`: retrying cannot help, so the record is sent to
  the queue's DLQ at once with its reason as message attributes, then acknowledged;
* `RetryLater` or an unexpected error: sent again to its own queue as a fresh message, delayed
  by exponential backoff with full jitter (never shorter than the platform's hint), and
  acknowledged; its attempts and the time of its first failure travel in `so_*` message
  attributes. Retries go on for hours (`Resilience.retry_max_age_seconds`, 24 h by default)
  without touching SQS's receive count; only then is it dead-lettered, with the last reason.
  A wait longer than SQS's 15-minute delay is reached in hops (`so_not_before`): a record that
  wakes up early is sent on again without being handled, so the platform is not called;
* `Deferred` (a posting quota is used up, a breaker is open): sent again the same way, but it
  is not a failure and does not age towards the DLQ;
* not started (too little of the invocation left, see core/deadline.py): reported as a batch
  item failure made visible again at once, not counted as a failure.

SQS's own `maxReceiveCount` then only counts invocations that died with the record (a Lambda
timeout, a crash): on its last receive a failing record is dead-lettered here with its reason,
and one that could not be started is sent again fresh rather than lost to the DLQ.
"""

from __future__ import annotations

import json
import math
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from socialomega.contracts import payloads
from socialomega.core import deadline, metrics, tracing
from socialomega.core import logging as solog
from socialomega.core.config import Resilience
from socialomega.core.envelope import Envelope, EventType, InvalidMessage, parse, problems

MAX_BACKOFF_SECONDS = 900  # SQS's longest message delay
# SQS delays are whole seconds and arrive a little early or late: within this, a record is due.
NOT_BEFORE_TOLERANCE_SECONDS = 1.0
# A record stopped by its invocation's deadline comes straight back this many times; after
# that each stop is a failed attempt (backoff, and the maximum age), so work that never fits
# one invocation cannot loop for ever.
MAX_FREE_DEADLINE_STOPS = 3
# What SQS accepts in a message attribute (#x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to
# #xFFFD | #x10000 to #x10FFFF): anything else in a platform's error text would make every
# send of the record fail.
_NOT_IN_SQS_TEXT = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def attribute_text(value: str) -> str:
    """`value` with what SQS refuses in a message attribute replaced by '?'."""
    return _NOT_IN_SQS_TEXT.sub("?", value) or "?"


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

    def __init__(self, reason: str, delay_seconds: float, *, ages: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.delay_seconds = delay_seconds
        self.ages = ages  # True: the wait counts towards the maximum retry age (an open breaker)


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
            "so_failure_reason": {"DataType": "String", "StringValue": attribute_text(solog.redact(reason)[:1000])},
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

    def send_again(self, record: dict[str, Any], seconds: float, state: RetryState) -> int:
        """Send the record's body again to its own queue, delayed (SQS allows at most 900 s: a
        longer wait is reached by hops, see `so_not_before`), carrying its producer's attributes
        and its retry state. Returns the delay used."""
        delay = int(min(MAX_BACKOFF_SECONDS, max(0, math.ceil(seconds))))
        attributes = {
            name: {"DataType": value.get("dataType", "String"), "StringValue": value["stringValue"]}
            for name, value in (record.get("messageAttributes") or {}).items()
            if value.get("stringValue") is not None and not name.startswith("so_")
        }
        attributes.update(state.attributes())
        self.sqs.send_message(
            QueueUrl=self.queue_url(record["eventSourceARN"]),
            MessageBody=record["body"],
            DelaySeconds=delay,
            MessageAttributes=dict(list(attributes.items())[:10]),  # SQS allows 10
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


def retry_delay(attempts: int, policy: Resilience, hint: float | None = None) -> float:
    """Seconds before retry number `attempts` (1 = the first): exponential from the policy's
    base with full jitter, capped, and never shorter than the platform's hint."""
    exponential = min(policy.retry_max_delay_seconds, policy.retry_base_seconds * 2 ** min(attempts - 1, 30))
    delay = random.uniform(exponential / 2, exponential)
    if hint is not None:
        delay = max(delay, hint)
    return max(1.0, delay)


@dataclass(frozen=True)
class RetryState:
    """What a record carries about its earlier tries, in `so_*` message attributes."""

    attempts: int = 0
    retrying_since: float | None = None  # epoch seconds of the first failure
    not_before: float = 0.0  # epoch seconds: do not handle before
    deferrals: int = 0
    last_reason: str = ""
    deadline_stops: int = 0

    @classmethod
    def of(cls, record: dict[str, Any]) -> RetryState:
        attributes = record.get("messageAttributes") or {}

        def value(name: str) -> str:
            return str((attributes.get(name) or {}).get("stringValue") or "")

        def number(name: str) -> float:
            try:
                return float(value(name) or 0)
            except ValueError:
                return 0.0

        since = number("so_retrying_since")
        return cls(
            attempts=int(number("so_attempts")),
            retrying_since=since or None,
            not_before=number("so_not_before"),
            deferrals=int(number("so_deferrals")),
            last_reason=value("so_last_reason"),
            deadline_stops=int(number("so_deadline_stops")),
        )

    def attributes(self) -> dict[str, dict[str, str]]:
        found: dict[str, dict[str, str]] = {}
        for name, number in (
            ("so_attempts", self.attempts),
            ("so_retrying_since", self.retrying_since),
            ("so_not_before", self.not_before),
            ("so_deferrals", self.deferrals),
            ("so_deadline_stops", self.deadline_stops),
        ):
            if number:
                found[name] = {"DataType": "Number", "StringValue": _number(number)}
        if self.last_reason:
            found["so_last_reason"] = {"DataType": "String", "StringValue": attribute_text(self.last_reason)}
        return found

    def age(self, now: float) -> float:
        return 0.0 if self.retrying_since is None else now - self.retrying_since


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.3f}"


def process_batch(
    event: dict[str, Any],
    handle: RecordHandler,
    *,
    service: str,
    expect: EventType | tuple[EventType, ...],
    records: QueueRecords,
    unwrap: Callable[[dict[str, Any]], Any] = lambda record: record["body"],
    context: Any = None,
    policy: Resilience | None = None,
) -> dict[str, Any]:
    """Run `handle(envelope, payload)` on every record of an SQS event, the payload checked
    against its event's model, within the invocation's deadline (from `context`); return the
    partial batch response."""
    policy = policy or Resilience.from_env()
    limit = deadline.Deadline.from_context(context)
    failures: list[dict[str, str]] = []
    not_started: list[dict[str, Any]] = []
    with deadline.bound(limit):
        for record in event.get("Records", []):
            if not_started or limit.expired(policy.record_min_seconds):
                not_started.append(record)
                continue
            solog.clear()
            try:
                with tracing.subsegment("record", message_id=record.get("messageId", "")):
                    handled = _handle_record(record, handle, service, expect, records, unwrap, policy)
                if not handled:
                    failures.append({"itemIdentifier": record.get("messageId", "")})
            finally:
                solog.clear()
    if not_started:
        _give_back(not_started, records, failures, limit)
    return {"batchItemFailures": failures}


def _handle_record(
    record: dict[str, Any],
    handle: RecordHandler,
    service: str,
    expect: EventType | tuple[EventType, ...],
    records: QueueRecords,
    unwrap: Callable[[dict[str, Any]], Any],
    policy: Resilience,
) -> bool:
    """Handle one record; True when it is dealt with (done, dead-lettered or sent again),
    False when SQS must deliver it again (a batch item failure)."""
    log = solog.get_logger()
    message_id = record.get("messageId", "")
    receive_count = int((record.get("attributes") or {}).get("ApproximateReceiveCount", "1"))
    state = RetryState.of(record)
    now = time.time()
    if state.not_before > now + NOT_BEFORE_TOLERANCE_SECONDS:
        # Woken before its time (SQS delays at most 15 minutes): on to the next hop, unhandled.
        return _send_again_or_dead_letter(record, records, state.not_before - now, state, receive_count, service)
    try:
        envelope = parse(unwrap(record), expect=expect)
        solog.bind_event(envelope, service)
        tracing.annotate(asset_id=envelope.asset_id, event_type=envelope.type, correlation_id=envelope.correlation_id)
        handle(envelope, checked_payload(envelope))
        log.info("record_done", message_id=message_id, attempts=state.attempts + 1)
        return True
    except (InvalidMessage, PermanentFailure) as exc:
        reason = getattr(exc, "reason", str(exc))
        code = getattr(exc, "code", "invalid_message")
        log.error("record_dead_lettered", message_id=message_id, reason=reason, code=code)
        return _dead_letter(record, records, reason, code, service)
    except Deferred as exc:
        # A quota wait never ages; a breaker's does (a target down for days must reach the DLQ).
        since = (state.retrying_since or now) if exc.ages else state.retrying_since
        later = replace(state, deferrals=state.deferrals + 1, not_before=now + exc.delay_seconds, retrying_since=since)
        if exc.ages and later.age(now) >= policy.retry_max_age_seconds:
            return _dead_letter(
                record, records, f"waited {_duration(later.age(now))}: {exc.reason}", "retries_exhausted", service
            )
        log.info("record_deferred", message_id=message_id, reason=exc.reason, delay_seconds=round(exc.delay_seconds))
        return _send_again_or_dead_letter(record, records, exc.delay_seconds, later, receive_count, service)
    except deadline.DeadlineReached as exc:
        # Stopped for lack of time with its progress saved: straight back, not a failure, unless
        # it keeps happening (work that never fits one invocation must age and back off too).
        stops = state.deadline_stops + 1
        if stops <= MAX_FREE_DEADLINE_STOPS:
            log.info("record_out_of_time", message_id=message_id, reason=str(exc), stops=stops)
            metrics.emit({"RecordsOutOfTime": 1}, {"Service": service})
            wait = max(1.0, exc.retry_after or 1.0)
            later = replace(state, not_before=0.0, deadline_stops=stops)
            return _send_again_or_dead_letter(record, records, wait, later, receive_count, service)
        return _retry(
            record,
            records,
            replace(state, deadline_stops=stops),
            f"stopped by the deadline {stops} times: {exc}",
            exc.retry_after,
            now,
            policy,
            service,
            receive_count,
            unexpected=False,
        )
    except Exception as exc:
        retry = exc if isinstance(exc, RetryLater) else None
        reason = retry.reason if retry else f"{type(exc).__name__}: {exc}"
        hint = retry.delay_seconds if retry else None
        return _retry(record, records, state, reason, hint, now, policy, service, receive_count, unexpected=not retry)


def _retry(
    record: dict[str, Any],
    records: QueueRecords,
    state: RetryState,
    reason: str,
    hint: float | None,
    now: float,
    policy: Resilience,
    service: str,
    receive_count: int,
    *,
    unexpected: bool,
) -> bool:
    """A failed attempt: send it again after the backoff, or dead-letter it once it is too old."""
    log = solog.get_logger()
    message_id = record.get("messageId", "")
    failed = replace(
        state,
        attempts=state.attempts + 1,
        retrying_since=state.retrying_since or now,
        last_reason=solog.redact(reason)[:500],
    )
    if failed.age(now) >= policy.retry_max_age_seconds:
        log.error("record_retries_exhausted", message_id=message_id, reason=reason, attempts=failed.attempts)
        return _dead_letter(
            record,
            records,
            f"retries exhausted after {_duration(failed.age(now))} ({failed.attempts} attempts): {reason}",
            "retries_exhausted",
            service,
        )
    delay = retry_delay(failed.attempts, policy, hint)
    fields = {"message_id": message_id, "delay_seconds": round(delay), "attempts": failed.attempts}
    if unexpected:
        log.exception("record_failed", error=reason, **fields)
    else:
        log.warning("record_retry", reason=reason, **fields)
    if _send_again(
        record, records, delay, replace(failed, not_before=now + delay), receive_count, delay_on_failure=False
    ):
        metrics.emit({"RecordsRetried": 1}, {"Service": service}, attempts=failed.attempts)
        return True
    # Could not send it again: let SQS redeliver it, and dead-letter it on its last receive.
    if records.last_receive(record, receive_count):
        return _dead_letter(
            record, records, f"retries exhausted after {receive_count} receives: {reason}", "retries_exhausted", service
        )
    records.delay(record, backoff_seconds(receive_count, hint))
    return False


def _send_again_or_dead_letter(
    record: dict[str, Any], records: QueueRecords, seconds: float, state: RetryState, receive_count: int, service: str
) -> bool:
    """Send a record that did not fail again; if SQS refuses that on its last receive, SQS would
    dead-letter it without a reason: do it here, with one."""
    if _send_again(record, records, seconds, state, receive_count, delay_on_failure=True):
        return True
    if records.last_receive(record, receive_count):
        return _dead_letter(
            record, records, "could not be sent again to its queue on its last receive", "send_again_failed", service
        )
    return False


def _send_again(
    record: dict[str, Any],
    records: QueueRecords,
    seconds: float,
    state: RetryState,
    receive_count: int,
    delay_on_failure: bool,
) -> bool:
    """Send the record again (delayed); when that fails, False: the caller reports it as a batch
    item failure (with `delay_on_failure`, after a visibility delay so SQS waits before it comes
    back)."""
    log = solog.get_logger()
    try:
        delay = records.send_again(record, seconds, state)
    except Exception as exc:
        log.warning("send_again_failed", message_id=record.get("messageId", ""), error=str(exc))
        if delay_on_failure:
            records.delay(record, backoff_seconds(receive_count, seconds))
        return False
    log.debug("record_sent_again", message_id=record.get("messageId", ""), delay_seconds=delay)
    return True


def _dead_letter(record: dict[str, Any], records: QueueRecords, reason: str, code: str, service: str) -> bool:
    try:
        records.dead_letter(record, reason, code, service)
        metrics.emit({"RecordsDeadLettered": 1}, {"Service": service}, code=code)
        return True
    except Exception as exc:  # never lose it: let SQS retry and redrive it
        solog.get_logger().error("dead_letter_failed", message_id=record.get("messageId", ""), error=str(exc))
        metrics.emit({"DeadLetterFailures": 1}, {"Service": service}, code=code)
        return False


def _give_back(
    not_started: list[dict[str, Any]], records: QueueRecords, failures: list[dict[str, str]], limit: deadline.Deadline
) -> None:
    """Records the invocation had no time to start: visible again at once (a batch item failure
    that is not a failure). On its last receive SQS would dead-letter it unstarted, so such a
    record is sent again fresh instead."""
    log = solog.get_logger()
    log.info("records_not_started", count=len(not_started), remaining_seconds=round(limit.remaining(), 1))
    for record in not_started:
        receive_count = int((record.get("attributes") or {}).get("ApproximateReceiveCount", "1"))
        if records.last_receive(record, receive_count):
            try:
                records.send_again(record, 0, RetryState.of(record))
                continue
            except Exception as exc:
                log.warning("send_again_failed", message_id=record.get("messageId", ""), error=str(exc))
        records.delay(record, 0)
        failures.append({"itemIdentifier": record.get("messageId", "")})


def _duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds:.0f} s"


def unwrap_eventbridge(record: dict[str, Any]) -> Any:
    """EventBridge delivers its own wrapper to SQS; the envelope is its `detail`."""
    try:
        wrapper = json.loads(record["body"])
    except json.JSONDecodeError as exc:
        raise InvalidMessage(f"body is not JSON: {exc}") from exc
    if not isinstance(wrapper, dict) or not isinstance(wrapper.get("detail"), dict):
        raise InvalidMessage("not an EventBridge event: no detail object")
    return wrapper["detail"]
