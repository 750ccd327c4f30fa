"""The processor's composition root: clients and configuration in, the service out."""

from __future__ import annotations

import pyvips

from socialomega.core import config
from socialomega.core.aws import Clients
from socialomega.core.blobs import S3Blobs
from socialomega.core.consumer import QueueRecords
from socialomega.core.events import EventSender
from socialomega.core.store import MetadataStore
from socialomega.core.targets import load_targets
from socialomega.processor.service import ProcessorService

# The Source of the processor's events on the bus (its IAM policy may allow only this one).
HISTORY_SOURCE = "socialomega.processor"


def build(
    settings: config.Settings | None = None,
    clients: Clients | None = None,
    configuration: config.Configuration | None = None,
) -> tuple[ProcessorService, QueueRecords]:
    """The service and its queue's record operations, with production adapters by default."""
    # Each photo is decoded once and never again: libvips' operation cache would only hold memory.
    pyvips.cache_set_max(0)
    settings = settings or config.Settings.from_env()
    clients = clients or Clients.default()
    configuration = configuration or config.Configuration.default(settings)
    service = ProcessorService(
        originals=S3Blobs(clients.s3, settings.raw_bucket),
        variants=S3Blobs(clients.s3, settings.processed_bucket),
        store=MetadataStore(clients.s3, settings.store_bucket),
        # Every PublishRequested is archived on the event bus too, for the event log.
        sender=EventSender(
            sns=clients.sns,
            events=clients.events,
            history_bus=settings.event_bus,
            history_source=HISTORY_SOURCE,
        ),
        topic_arn=settings.publish_topic_arn,
        targets=lambda: load_targets(configuration),
    )
    return service, QueueRecords(clients.sqs)
