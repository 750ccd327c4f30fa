"""Lambda entry point of the analytics aggregator (EventBridge -> SQS -> here): every domain event
on the bus, appended once to the event log; publish results from the publishers and engagement
from the webhook endpoint are also counted (analytics/aggregate.py)."""

from __future__ import annotations

from functools import cache
from typing import Any

from socialomega.analytics import bootstrap
from socialomega.analytics.aggregate import Aggregator
from socialomega.analytics.eventlog import LOGGED_TYPES, unwrap_with_source
from socialomega.core import tracing
from socialomega.core.consumer import QueueRecords, process_batch


@cache
def _built() -> tuple[Aggregator, QueueRecords]:
    return bootstrap.build()


@tracing.traced_handler("analytics")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    aggregator, records = _built()
    return process_batch(
        event,
        aggregator.apply,
        service="analytics",
        records=records,
        expect=LOGGED_TYPES,  # every type is logged; only results and engagement are counted
        unwrap=unwrap_with_source,  # EventBridge's detail, its source kept for replay
        context=context,
    )
