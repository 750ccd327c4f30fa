"""Sending envelopes: SQS for work, SNS for per-target fan-out, EventBridge for status."""

from __future__ import annotations

from typing import Any

from socialomega.core.envelope import Envelope


class EventSender:
    def __init__(self, sqs: Any = None, sns: Any = None, events: Any = None) -> None:
        self.sqs, self.sns, self.events = sqs, sns, events

    def to_queue(self, queue_url: str, envelope: Envelope) -> str:
        message_id: str = self.sqs.send_message(
            QueueUrl=queue_url,
            MessageBody=envelope.to_json(),
            MessageAttributes=_attrs({"event_type": envelope.type, "correlation_id": envelope.correlation_id}),
        )["MessageId"]
        return message_id

    def to_topic(self, topic_arn: str, envelope: Envelope, platform: str) -> str:
        # The `platform` attribute is what each publisher queue's filter policy matches.
        message_id: str = self.sns.publish(
            TopicArn=topic_arn,
            Message=envelope.to_json(),
            MessageAttributes=_attrs(
                {"platform": platform, "event_type": envelope.type, "correlation_id": envelope.correlation_id}
            ),
        )["MessageId"]
        return message_id

    def to_bus(self, bus_name: str, envelope: Envelope, source: str) -> None:
        self.to_bus_many(bus_name, [envelope], source)

    def to_bus_many(self, bus_name: str, envelopes: list[Envelope], source: str) -> None:
        """PutEvents in chunks of 10 (its limit); raises if any entry is refused."""
        for start in range(0, len(envelopes), 10):
            entries = [
                {"EventBusName": bus_name, "Source": source, "DetailType": e.type, "Detail": e.to_json()}
                for e in envelopes[start : start + 10]
            ]
            result = self.events.put_events(Entries=entries)
            if result.get("FailedEntryCount"):
                entry: dict[str, Any] = next((e for e in result["Entries"] if e.get("ErrorCode")), {})
                raise RuntimeError(
                    f"EventBridge refused {result['FailedEntryCount']} event(s): "
                    f"{entry.get('ErrorCode')} {entry.get('ErrorMessage')}"
                )


def _attrs(values: dict[str, str]) -> dict[str, dict[str, str]]:
    return {k: {"DataType": "String", "StringValue": v} for k, v in values.items()}
