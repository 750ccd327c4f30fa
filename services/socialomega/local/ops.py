"""Operator tasks on a local stack, by URL (the tests and the demo hold Terraform's outputs).

Thin wrappers: the one implementation of each is the operator command's (`socialomega dlq
list|show|redrive`, `socialomega parked`; cli/dead_letters.py, poller/parking.py)."""

from __future__ import annotations

from typing import Any

from socialomega.cli import dead_letters, output
from socialomega.core import aws
from socialomega.core.deadline import Deadline
from socialomega.core.store import MetadataStore
from socialomega.ops.environment import DeadLetterQueue
from socialomega.poller import parking


def dlq_contents(dlq_urls: dict[str, str], limit: int = 10) -> dict[str, list[dict[str, Any]]]:
    """Each DLQ's messages (left in place) with their failure reasons."""
    sqs = aws.client("sqs")
    return {
        name: [letter.as_json() for letter in dead_letters.peek(sqs, DeadLetterQueue(name, url, None), limit)]
        for name, url in dlq_urls.items()
    }


def dlq_depths(dlq_urls: dict[str, str]) -> dict[str, int]:
    sqs = aws.client("sqs")
    return {name: dead_letters.depth(sqs, url).total for name, url in dlq_urls.items()}


def redrive(dlq_url: str, source_queue_url: str) -> str:
    """Start moving a DLQ's messages back to its queue (SQS's message move task) and return at
    once with the task's handle ("" when the DLQ was empty); the task goes on in SQS."""
    queue = DeadLetterQueue("dlq", dlq_url, source_queue_url)
    started = dead_letters.redrive(aws.client("sqs"), queue, deadline=Deadline(0.0, 0.0))  # passed: no wait
    return started.task_handle or ""


def parked_photos(store_bucket: str) -> list[dict[str, Any]]:
    """The photos the poller parked (poller/parking.py), oldest parking first."""
    return parking.parked_photos(MetadataStore(aws.client("s3"), store_bucket))


PARKED_COLUMNS = ("source", "asset_id", "version", "attempts", "parked_at", "reason")


def parked_lines(rows: list[dict[str, Any]]) -> list[str]:
    """`parked_photos` as a table: source, asset, version, attempts, parked_at, reason (last:
    it is the longest)."""
    headers = ["source", "asset", "version", "attempts", "parked_at", "reason"]
    cells = [[row.get(column, "") for column in PARKED_COLUMNS] for row in rows]
    return output.table(headers, cells, empty="no parked photos", max_width=200).splitlines()
