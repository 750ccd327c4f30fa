"""Lambda entry point of the image processor (SQS images queue -> here)."""

from __future__ import annotations

from functools import cache
from typing import Any

import pyvips

from socialomega.core import aws, config
from socialomega.core.consumer import process_batch
from socialomega.core.events import EventSender
from socialomega.core.store import MetadataStore
from socialomega.core.targets import load_targets
from socialomega.processor.service import ProcessorService


@cache
def _service() -> ProcessorService:
    # Each photo is decoded once and never again: libvips' operation cache would only hold memory.
    pyvips.cache_set_max(0)
    settings = config.Settings.from_env()
    return ProcessorService(
        s3=aws.client("s3"),
        store=MetadataStore(aws.client("s3"), settings.store_bucket),
        sender=EventSender(sns=aws.client("sns")),
        processed_bucket=settings.processed_bucket,
        topic_arn=settings.publish_topic_arn,
        targets=lambda: load_targets(settings),
        raw_bucket=settings.raw_bucket,
    )


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    service = _service()
    return process_batch(event, service.handle,
                         service="processor", expect="AssetDetected")
