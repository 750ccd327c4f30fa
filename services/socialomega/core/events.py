"""Sending envelopes: SQS for work, SNS for per-target fan-out, EventBridge for status."""

from __future__ import annotations

from typing import Any

from socialomega.core.envelope import Envelope


class EventSender:
    def __init__(self, sqs: Any = None, sns: Any = None, events: Any = None) -> None:
        self.sqs, self.sns, self.events = sqs, sns, events

    def to_queue(self, queue_url: str, envelope: Envelope) -> str:
        return self.sqs.send_message(
            QueueUrl=queue_url,
            MessageBody=envelope.to_json(),
            MessageAttributes=_attrs({"event_type": envelope.type, "correlation_id": envelope.correlation_id}),
        )["MessageId"]

    def to_topic(self, topic_arn: str, envelope: Envelope, platform: str) -> str:
        # The `platform` attribute is what each publisher queue's filter policy matches.
        return self.sns.publish(
            TopicArn=topic_arn,
            Message=envelope.to_json(),
            MessageAttributes=_attrs(
                {"platform": platform, "event_type": envelope.type, "correlation_id": envelope.correlation_id}
            ),
        )["MessageId"]

    def to_bus(self, bus_name: str, envelope: Envelope, source: str) -> None:
        result = self.events.put_events(
            Entries=[
                {
                    "EventBusName": bus_name,
                    "Source": source,
                    "DetailType": envelope.type,
                    "Detail": envelope.to_json(),
                }
            ]
        )
        if result.get("FailedEntryCount"):
            entry = result["Entries"][0]
            raise RuntimeError(f"EventBridge refused the event: {entry.get('ErrorCode')} {entry.get('ErrorMessage')}")


def _attrs(values: dict[str, str]) -> dict[str, dict[str, str]]:
    return {k: {"DataType": "String", "StringValue": v} for k, v in values.items()}
