"""Lambda entry point of the analytics aggregator (EventBridge -> SQS -> here): publish
results from the publishers, engagement from the webhook endpoint."""

from __future__ import annotations

from functools import cache
from typing import Any

from socialomega.analytics.aggregate import Aggregator
from socialomega.core import aws, config
from socialomega.core.consumer import process_batch, unwrap_eventbridge
from socialomega.core.store import MetadataStore


@cache
def _aggregator() -> Aggregator:
    settings = config.Settings.from_env()
    return Aggregator(MetadataStore(aws.client("s3"), settings.store_bucket))


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    aggregator = _aggregator()
    return process_batch(
        event, aggregator.apply, service="analytics",
        expect=("PublishSucceeded", "PublishFailed", "EngagementReceived"), unwrap=unwrap_eventbridge,
    )
