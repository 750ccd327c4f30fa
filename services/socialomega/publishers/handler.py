"""Lambda entry point of the publishers (one function per target, same code)."""

from __future__ import annotations

from functools import cache
from typing import Any

from socialomega.core import tracing
from socialomega.core.consumer import QueueRecords, process_batch
from socialomega.publishers import bootstrap
from socialomega.publishers.service import PublishService


@cache
def _built(target: str) -> tuple[PublishService, QueueRecords]:
    return bootstrap.build(target)


@tracing.traced_handler("publisher")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    service, records = _built(bootstrap.own_target())
    return process_batch(
        event, service.handle, service="publisher", expect="PublishRequested", records=records, context=context
    )
