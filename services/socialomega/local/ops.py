"""Operator tasks on a deployed stack: what is in the DLQs, redriving them, parked photos."""

from __future__ import annotations

import json
from typing import Any

from socialomega.core import aws
from socialomega.core.store import MetadataStore
from socialomega.poller import parking


def dlq_contents(dlq_urls: dict[str, str], limit: int = 10) -> dict[str, list[dict[str, Any]]]:
    """Peek at each DLQ (messages become visible again right away) with their failure reasons."""
    sqs = aws.client("sqs")
    found: dict[str, list[dict[str, Any]]] = {}
    for name, url in dlq_urls.items():
        response = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=min(10, limit),
            VisibilityTimeout=0,
            MessageAttributeNames=["All"],
            AttributeNames=["All"],
            WaitTimeSeconds=0,
        )
        items = []
        for message in response.get("Messages", []):
            attrs = {k: v.get("StringValue") for k, v in (message.get("MessageAttributes") or {}).items()}
            try:
                body = json.loads(message["Body"])
            except json.JSONDecodeError:
                body = {}
            items.append(
                {
                    "message_id": message["MessageId"],
                    "asset_id": body.get("asset_id") if isinstance(body, dict) else None,
                    "reason": attrs.get("so_failure_reason", "moved by SQS after maxReceiveCount (see the logs)"),
                    "code": attrs.get("so_failure_code"),
                    "receive_count": message["Attributes"].get("ApproximateReceiveCount"),
                }
            )
        found[name] = items
    return found


def dlq_depths(dlq_urls: dict[str, str]) -> dict[str, int]:
    sqs = aws.client("sqs")
    depths = {}
    for name, url in dlq_urls.items():
        attrs = sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        )["Attributes"]
        depths[name] = sum(int(v) for v in attrs.values())
    return depths


def redrive(dlq_url: str, source_queue_url: str) -> str:
    """Move every message of a DLQ back to its queue with SQS's own message move task."""
    sqs = aws.client("sqs")

    def arn(url: str) -> str:
        queue_arn: str = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return queue_arn

    # An explicit destination: records the consumers dead-lettered themselves carry no
    # "original source" for SQS to infer.
    task = sqs.start_message_move_task(SourceArn=arn(dlq_url), DestinationArn=arn(source_queue_url))
    handle: str = task["TaskHandle"]
    return handle


def parked_photos(store_bucket: str) -> list[dict[str, Any]]:
    """The photos the poller parked (poller/parking.py), oldest parking first."""
    return parking.parked_photos(MetadataStore(aws.client("s3"), store_bucket))


PARKED_COLUMNS = ("source", "asset_id", "version", "attempts", "parked_at", "reason")


def parked_lines(rows: list[dict[str, Any]]) -> list[str]:
    """`parked_photos` as a table: source, asset, version, attempts, parked_at, reason (last:
    it is the longest)."""
    if not rows:
        return ["no parked photos"]
    header = ["SOURCE", "ASSET", "VERSION", "ATTEMPTS", "PARKED_AT", "REASON"]
    table = [[str(row.get(column, "")) for column in PARKED_COLUMNS] for row in rows]
    widths = [max(len(line[i]) for line in [header, *table]) for i in range(len(header) - 1)]
    return [
        "  ".join([*(cell.ljust(width) for cell, width in zip(line, widths, strict=False)), line[-1]])
        for line in [header, *table]
    ]
