"""Lambda entry point of the analytics aggregator (EventBridge -> SQS -> here): publish
results from the publishers, engagement from the webhook endpoint."""

from __future__ import annotations

from functools import cache
from typing import Any

from socialomega.analytics import bootstrap
from socialomega.analytics.aggregate import Aggregator
from socialomega.core.consumer import QueueRecords, process_batch, unwrap_eventbridge


@cache
def _built() -> tuple[Aggregator, QueueRecords]:
    return bootstrap.build()


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    aggregator, records = _built()
    return process_batch(
        event,
        aggregator.apply,
        service="analytics",
        records=records,
        expect=("PublishSucceeded", "PublishFailed", "EngagementReceived"),
        unwrap=unwrap_eventbridge,
    )
