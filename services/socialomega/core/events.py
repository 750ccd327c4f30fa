"""Sending envelopes: SQS for work, SNS for per-target fan-out, EventBridge for status.

History: an `EventSender` given a `history_bus` also puts every envelope it sent to a queue or
the topic on that EventBridge bus (Source `history_source`, DetailType the event type), after
the send itself succeeded, so every domain event is archived on the bus and reaches the event
log. A failure to put it there raises like a failed send: the message is retried, and the
copies a retry makes carry the same event id, which downstream de-duplicates on.

Batches: SNS `PublishBatch` and EventBridge `PutEvents` take at most 10 entries and 256 KiB
(262,144 bytes) in all per call (SNS API reference, PublishBatch; EventBridge user guide,
"Calculating PutEvents event entry size"); a call that could exceed either is split. Both can
refuse some entries of a call that succeeds: any refused entry raises `BatchRefused`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from socialomega.core.envelope import Envelope

MAX_BATCH_ENTRIES = 10
MAX_BATCH_BYTES = 256 * 1024


class BatchRefused(RuntimeError):
    """A batch call succeeded but refused some of its entries (`refused`: one reason each)."""

    def __init__(self, what: str, refused: list[str], noun: str = "message") -> None:
        super().__init__(f"{what} refused {len(refused)} {noun}(s): {'; '.join(refused)}"[:2000])
        self.refused = refused


class EventSender:
    def __init__(
        self,
        sqs: Any = None,
        sns: Any = None,
        events: Any = None,
        history_bus: str | None = None,
        history_source: str = "socialomega",
    ) -> None:
        if history_bus and events is None:
            raise ValueError("a history bus needs an EventBridge client")
        self.sqs, self.sns, self.events = sqs, sns, events
        self.history_bus, self.history_source = history_bus, history_source

    def to_queue(self, queue_url: str, envelope: Envelope) -> str:
        message_id: str = self.sqs.send_message(
            QueueUrl=queue_url,
            MessageBody=envelope.to_json(),
            MessageAttributes=_attrs({"event_type": envelope.type, "correlation_id": envelope.correlation_id}),
        )["MessageId"]
        self._archive([envelope])
        return message_id

    def to_topic(self, topic_arn: str, envelope: Envelope, platform: str) -> str:
        message_id: str = self.sns.publish(
            TopicArn=topic_arn, Message=envelope.to_json(), MessageAttributes=_topic_attrs(envelope, platform)
        )["MessageId"]
        self._archive([envelope])
        return message_id

    def to_topic_many(self, topic_arn: str, messages: Sequence[tuple[Envelope, str]]) -> list[str]:
        """Publish (envelope, platform) pairs with `PublishBatch`; the message ids, in order.

        Raises `BatchRefused` if any entry was refused, after every batch was tried and what did
        go out was archived: the caller's record is retried and sends them all again (each
        publisher de-duplicates by its claim, so a resend is safe).
        """
        entries = [
            {"Id": str(n), "Message": envelope.to_json(), "MessageAttributes": _topic_attrs(envelope, platform)}
            for n, (envelope, platform) in enumerate(messages)
        ]
        sent: dict[int, str] = {}
        reasons: dict[int, str] = {}
        for batch in _batches(entries, _topic_entry_size):
            answer = self.sns.publish_batch(TopicArn=topic_arn, PublishBatchRequestEntries=batch)
            for ok in answer.get("Successful", []):
                sent[int(ok["Id"])] = ok["MessageId"]
            for failed in answer.get("Failed", []):
                reasons[int(failed["Id"])] = f"{failed.get('Code')} {failed.get('Message', '')}".strip()
        self._archive([messages[n][0] for n in sorted(sent)])
        refused = [f"{messages[n][1]}: {reasons.get(n, 'no answer')}" for n in range(len(messages)) if n not in sent]
        if refused:
            raise BatchRefused("SNS PublishBatch", refused)
        return [sent[n] for n in range(len(messages))]

    def to_bus(self, bus_name: str, envelope: Envelope, source: str) -> None:
        self.to_bus_many(bus_name, [envelope], source)

    def to_bus_many(self, bus_name: str, envelopes: list[Envelope], source: str) -> None:
        """PutEvents in batches within its limits; raises `BatchRefused` if any entry is refused."""
        entries = [
            {"EventBusName": bus_name, "Source": source, "DetailType": e.type, "Detail": e.to_json()} for e in envelopes
        ]
        for batch in _batches(entries, _bus_entry_size):
            result = self.events.put_events(Entries=batch)
            if result.get("FailedEntryCount"):
                refused = [
                    f"{entry.get('ErrorCode')} {entry.get('ErrorMessage')}"
                    for entry in result.get("Entries", [])
                    if entry.get("ErrorCode")
                ]
                raise BatchRefused("EventBridge", refused or [f"{result['FailedEntryCount']} entries"], "event")

    def _archive(self, envelopes: list[Envelope]) -> None:
        if self.history_bus and envelopes:
            self.to_bus_many(self.history_bus, envelopes, self.history_source)


def _attrs(values: dict[str, str]) -> dict[str, dict[str, str]]:
    return {k: {"DataType": "String", "StringValue": v} for k, v in values.items()}


def _topic_attrs(envelope: Envelope, platform: str) -> dict[str, dict[str, str]]:
    # The `platform` attribute is what each publisher queue's filter policy matches.
    return _attrs({"platform": platform, "event_type": envelope.type, "correlation_id": envelope.correlation_id})


def _topic_entry_size(entry: dict[str, Any]) -> int:
    """Bytes SNS counts: the body and each attribute's name, type and value."""
    attributes = sum(
        len(name.encode()) + len(value["DataType"].encode()) + len(value["StringValue"].encode())
        for name, value in entry["MessageAttributes"].items()
    )
    return len(entry["Message"].encode()) + attributes


def _bus_entry_size(entry: dict[str, Any]) -> int:
    """EventBridge's entry size: Source, DetailType and Detail in UTF-8 (no Time, no Resources)."""
    return sum(len(entry[field].encode()) for field in ("Source", "DetailType", "Detail"))


def _batches[T](
    items: list[T], size: Callable[[T], int], max_entries: int = MAX_BATCH_ENTRIES, max_bytes: int = MAX_BATCH_BYTES
) -> Iterator[list[T]]:
    """Consecutive runs of `items` of at most `max_entries` and `max_bytes` each (an item larger
    than `max_bytes` goes alone, and the service refuses it with its own reason)."""
    batch: list[T] = []
    total = 0
    for item in items:
        n = size(item)
        if batch and (len(batch) >= max_entries or total + n > max_bytes):
            yield batch
            batch, total = [], 0
        batch.append(item)
        total += n
    if batch:
        yield batch
