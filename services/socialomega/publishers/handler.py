"""Lambda entry point of the publishers (one function per target, same code)."""

from __future__ import annotations

from functools import cache
from typing import Any

from socialomega import platforms
from socialomega.core import aws, config
from socialomega.core.consumer import QueueRecords, process_batch
from socialomega.core.events import EventSender
from socialomega.core.store import MetadataStore
from socialomega.core.targets import load_targets
from socialomega.publishers.base import Publisher
from socialomega.publishers.claims import Publications
from socialomega.publishers.quota import DailyCaps
from socialomega.publishers.service import PublishService, S3Images


def publisher_for(settings: config.Settings, target_name: str) -> tuple[Publisher, dict[str, Any]]:
    """The publisher of one target, built by its platform's package (`socialomega.platforms`)."""
    targets = {t.name: t for t in load_targets(settings)}
    target = targets[target_name]
    try:
        platform = platforms.get(target.platform)
    except LookupError:
        raise config.ConfigError(f"target {target.name}: unknown platform {target.platform!r}") from None
    entry = target.model_dump()
    return platform.build_publisher(entry, config.Credentials(settings, target.name)), entry


# Each publisher function publishes one target, named in its environment by Terraform; the
# target a message names is checked against it, never trusted.
TARGET_VARIABLE = "SO_PUBLISHER_TARGET"


@cache
def _service(target: str) -> PublishService:
    settings = config.Settings.from_env()
    store = MetadataStore(aws.client("s3"), settings.store_bucket)
    return PublishService(
        publications=Publications(store),
        images=S3Images(aws.client("s3")),
        sender=EventSender(events=aws.client("events")),
        event_bus=settings.event_bus,
        publisher_for=lambda name: publisher_for(settings, name),
        caps=DailyCaps(store),
        own_target=target,
        variants_bucket=settings.processed_bucket,
    )


def own_target() -> str:
    target = config.environ().get(TARGET_VARIABLE, "")
    if not target:
        # Nothing is lost: the batch fails whole and waits in the queue for a fixed deployment.
        raise config.ConfigError(f"{TARGET_VARIABLE} is not set: a publisher function must know its own target")
    return target


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    service = _service(own_target())
    return process_batch(event, service.handle, service="publisher", expect="PublishRequested",
                         records=QueueRecords(aws.client("sqs")))
