"""The dead-letter queues of an environment: what is in them, why, and moving it back.

Two ways a message reaches a consumer's DLQ, told apart by its attributes:
* the consumer dead-lettered it itself (core/consumer.py `dead_letter`): `so_failure_reason`,
  `so_failure_code`, `so_failed_service`, `so_failed_at`;
* SQS moved it after `maxReceiveCount` receives (a function that crashed or timed out on it):
  no reason of ours; the last retry's `so_last_reason` may be on it.
The poller schedule's DLQ (aws root only) holds failed scheduled invocations: EventBridge
Scheduler's dead-letter events and Lambda's asynchronous failure records, whose reasons are in
the attributes `ERROR_CODE`/`ERROR_MESSAGE` (Scheduler) and `ErrorCode`/`ErrorMessage`
(Lambda); those names are UNCONFIRMED here (no such queue on LocalStack; the docs:
https://docs.aws.amazon.com/scheduler/latest/UserGuide/configuring-schedule-dlq.html and
https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html).

Peeking receives messages and makes them visible again at once, so SQS counts each peek as a
receive: the receive count shown includes earlier peeks.

A redrive is SQS's own message move task (StartMessageMoveTask, DLQ -> the consumer's queue,
named explicitly: a message the consumer dead-lettered itself has no "original source" SQS
could infer). Safe to run again: an empty DLQ starts nothing, and while a task of the DLQ is
still running it is followed instead of a second one started (SQS allows one per queue).
Task fields: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ListMessageMoveTasksResultEntry.html
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from socialomega.core.deadline import Deadline
from socialomega.ops.environment import DeadLetterQueue

MOVED_BY_SQS = "moved by SQS after maxReceiveCount"
PEEK_HIDE_SECONDS = 30  # how long a peeked message is hidden at most, if this process dies mid-peek
ACTIVE_TASK = {"RUNNING", "CANCELLING"}


class NotRedrivable(RuntimeError):
    """This DLQ has no queue to move its messages back to."""


@dataclass(frozen=True)
class Depth:
    visible: int
    in_flight: int

    @property
    def total(self) -> int:
        return self.visible + self.in_flight


@dataclass(frozen=True)
class DeadLetter:
    queue: str
    message_id: str
    reason: str
    code: str | None
    receive_count: int
    sent_at: str | None  # when it entered this queue
    asset_id: str | None = None
    event_type: str | None = None
    target: str | None = None
    failed_service: str | None = None
    attributes: dict[str, str] = field(default_factory=dict)
    body: str = ""

    def as_json(self, with_body: bool = False) -> dict[str, Any]:
        data = asdict(self)
        if not with_body:
            data.pop("body")
            data.pop("attributes")
        return data


def depth(sqs: Any, url: str) -> Depth:
    attrs = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return Depth(
        int(attrs.get("ApproximateNumberOfMessages", 0)), int(attrs.get("ApproximateNumberOfMessagesNotVisible", 0))
    )


def read_message(queue: str, message: dict[str, Any]) -> DeadLetter:
    """One received SQS message as a dead letter, with its reason."""
    attrs = {
        name: str(value.get("StringValue") or "") for name, value in (message.get("MessageAttributes") or {}).items()
    }
    system = message.get("Attributes") or {}
    reason, code = _reason(attrs)
    try:
        body = json.loads(message.get("Body") or "")
    except json.JSONDecodeError:
        body = None
    envelope = body if isinstance(body, dict) else {}
    inner = envelope.get("payload")
    payload: dict[str, Any] = inner if isinstance(inner, dict) else {}
    sent = system.get("SentTimestamp")
    return DeadLetter(
        queue=queue,
        message_id=str(message.get("MessageId") or ""),
        reason=reason,
        code=code,
        receive_count=int(system.get("ApproximateReceiveCount") or 0),
        sent_at=datetime.fromtimestamp(int(sent) / 1000, UTC).isoformat() if sent else None,
        asset_id=_text(envelope.get("asset_id")),
        event_type=_text(envelope.get("type")),
        target=_text(payload.get("target")) or attrs.get("platform") or None,
        failed_service=attrs.get("so_failed_service") or None,
        attributes=attrs,
        body=str(message.get("Body") or ""),
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _reason(attrs: dict[str, str]) -> tuple[str, str | None]:
    if attrs.get("so_failure_reason"):
        return attrs["so_failure_reason"], attrs.get("so_failure_code") or None
    for code_name, message_name in (("ERROR_CODE", "ERROR_MESSAGE"), ("ErrorCode", "ErrorMessage")):
        if attrs.get(message_name) or attrs.get(code_name):
            return attrs.get(message_name) or attrs[code_name], attrs.get(code_name) or None
    last = attrs.get("so_last_reason")
    return (f"{MOVED_BY_SQS} (last try: {last})" if last else f"{MOVED_BY_SQS} (see the function's logs)"), None


def peek(sqs: Any, queue: DeadLetterQueue, limit: int = 10, deadline: Deadline | None = None) -> list[DeadLetter]:
    """Up to `limit` messages of `queue`, each once, all visible again when this returns.

    Received with a short visibility timeout (so a later receive returns others) until the
    queue answers none, `limit` is reached or `deadline` (default 60 s) comes; then made
    visible again in batches."""
    deadline = deadline or Deadline.in_seconds(60.0, margin=0.0)
    found: dict[str, tuple[DeadLetter, str]] = {}
    try:
        while len(found) < limit and not deadline.expired():
            response = sqs.receive_message(
                QueueUrl=queue.url,
                MaxNumberOfMessages=min(10, limit - len(found)),
                VisibilityTimeout=PEEK_HIDE_SECONDS,
                MessageAttributeNames=["All"],
                AttributeNames=["All"],
                WaitTimeSeconds=0,
            )
            messages = response.get("Messages") or []
            if not messages:
                break
            for message in messages:
                letter = read_message(queue.name, message)
                found.setdefault(letter.message_id, (letter, message["ReceiptHandle"]))
    finally:
        _show_again(sqs, queue.url, [handle for _, handle in found.values()])
    return [letter for letter, _ in found.values()]


def _show_again(sqs: Any, url: str, handles: list[str]) -> None:
    for start in range(0, len(handles), 10):
        entries = [
            {"Id": str(n), "ReceiptHandle": handle, "VisibilityTimeout": 0}
            for n, handle in enumerate(handles[start : start + 10])
        ]
        sqs.change_message_visibility_batch(QueueUrl=url, Entries=entries)


@dataclass
class MoveProgress:
    """One message move task, as SQS reports it."""

    queue: str
    status: str  # RUNNING, COMPLETED, CANCELLING, CANCELLED, FAILED; NOTHING_TO_MOVE: none started
    moved: int = 0
    to_move: int | None = None
    task_handle: str | None = None
    failure_reason: str | None = None
    started_here: bool = False  # False: a task already running was followed

    @property
    def done(self) -> bool:
        return self.status not in ACTIVE_TASK

    @property
    def ok(self) -> bool:
        return self.status in ("COMPLETED", "NOTHING_TO_MOVE")

    def line(self) -> str:
        if self.status == "NOTHING_TO_MOVE":
            return f"{self.queue}: nothing to redrive (the DLQ is empty)"
        of = f" of {self.to_move}" if self.to_move is not None else ""
        why = f": {self.failure_reason}" if self.failure_reason else ""
        return f"{self.queue}: {self.status.lower()}, {self.moved}{of} message(s) moved{why}"


def _arn(sqs: Any, url: str) -> str:
    arn: str = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return arn


def _task(queue: str, entry: dict[str, Any], started_here: bool) -> MoveProgress:
    to_move = entry.get("ApproximateNumberOfMessagesToMove")
    return MoveProgress(
        queue=queue,
        status=str(entry.get("Status") or "UNKNOWN"),
        moved=int(entry.get("ApproximateNumberOfMessagesMoved") or 0),
        to_move=None if to_move is None else int(to_move),
        task_handle=entry.get("TaskHandle"),
        failure_reason=entry.get("FailureReason"),
        started_here=started_here,
    )


def redrive(
    sqs: Any,
    queue: DeadLetterQueue,
    deadline: Deadline | None = None,
    progress: Callable[[MoveProgress], None] = lambda _: None,
    poll_seconds: float = 1.0,
) -> MoveProgress:
    """Move `queue`'s messages back to its consumer's queue; follow the task until it ends or
    `deadline` (default 5 minutes) comes, calling `progress` with each new state. The task goes
    on in SQS after a deadline: the answer is then its last state (status RUNNING)."""
    if queue.source_url is None:
        raise NotRedrivable(
            f"{queue.name} holds failed scheduled invocations, not queue messages: there is no queue to move "
            "them back to (the next scheduled run tries again; read them with `socialomega dlq show` and fix the cause)"
        )
    deadline = deadline or Deadline.in_seconds(300.0, margin=0.0)
    source_arn = _arn(sqs, queue.url)
    running = sqs.list_message_move_tasks(SourceArn=source_arn, MaxResults=1).get("Results", [])
    older = int(running[0].get("StartedTimestamp") or 0) if running else None
    if running and running[0].get("Status") in ACTIVE_TASK:
        older = None  # following that very task
        state = _task(queue.name, running[0], started_here=False)
    elif depth(sqs, queue.url).total == 0:
        state = MoveProgress(queue.name, "NOTHING_TO_MOVE")
        progress(state)
        return state
    else:
        handle = sqs.start_message_move_task(SourceArn=source_arn, DestinationArn=_arn(sqs, queue.source_url))[
            "TaskHandle"
        ]
        state = MoveProgress(queue.name, "RUNNING", task_handle=handle, started_here=True)
    progress(state)
    while not state.done and deadline.allows_wait(poll_seconds):
        time.sleep(poll_seconds)
        latest = _latest_task(sqs, source_arn, queue.name, state, older)
        if (latest.status, latest.moved, latest.to_move) != (state.status, state.moved, state.to_move):
            progress(latest)
        state = latest
    return state


def _latest_task(sqs: Any, source_arn: str, queue: str, previous: MoveProgress, older: int | None) -> MoveProgress:
    """The DLQ's most recent task if it is ours: SQS runs one per queue at a time, and lists
    a task's TaskHandle only while it runs, so an ended task is told from the one listed before
    ours started (`older`: that one's StartedTimestamp) by its start."""
    results = sqs.list_message_move_tasks(SourceArn=source_arn, MaxResults=1).get("Results", [])
    if not results:
        return previous  # not listed yet: the task was only just started
    entry = results[0]
    ours = (
        entry.get("TaskHandle") == previous.task_handle
        or older is None
        or int(entry.get("StartedTimestamp") or 0) > older
    )
    if not ours:
        return previous
    latest = _task(queue, entry, previous.started_here)
    latest.task_handle = latest.task_handle or previous.task_handle
    return latest
