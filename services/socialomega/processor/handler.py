"""Lambda entry point of the image processor (SQS images queue -> here)."""

from __future__ import annotations

from functools import cache
from typing import Any

from socialomega.core import tracing
from socialomega.core.consumer import QueueRecords, process_batch
from socialomega.processor import bootstrap
from socialomega.processor.service import ProcessorService


@cache
def _built() -> tuple[ProcessorService, QueueRecords]:
    return bootstrap.build()


@tracing.traced_handler("processor")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    service, records = _built()
    return process_batch(
        event, service.handle, service="processor", expect="AssetDetected", records=records, context=context
    )
