"""The publisher's composition root: its own target, clients and configuration in, the service out.

Each publisher function publishes one target, named in its environment by Terraform
(`SO_PUBLISHER_TARGET`); the target a message names is checked against it, never trusted."""

from __future__ import annotations

from typing import Any

from socialomega import platforms
from socialomega.core import config
from socialomega.core.aws import Clients
from socialomega.core.blobs import S3Blobs
from socialomega.core.breaker import Breaker
from socialomega.core.consumer import QueueRecords
from socialomega.core.events import EventSender
from socialomega.core.store import MetadataStore
from socialomega.core.targets import load_targets
from socialomega.publishers.base import Publisher
from socialomega.publishers.claims import Publications
from socialomega.publishers.quota import DailyCaps
from socialomega.publishers.service import PublishService, S3Images, breaker_announcer
from socialomega.scheduling.clock import EnvironmentClock
from socialomega.scheduling.queue import SlotQueue
from socialomega.scheduling.service import Scheduler

TARGET_VARIABLE = "SO_PUBLISHER_TARGET"


def own_target() -> str:
    target = config.environ().get(TARGET_VARIABLE, "")
    if not target:
        # Nothing is lost: the batch fails whole and waits in the queue for a fixed deployment.
        raise config.ConfigError(f"{TARGET_VARIABLE} is not set: a publisher function must know its own target")
    return target


def publisher_for(configuration: config.Configuration, target_name: str) -> tuple[Publisher, dict[str, Any]]:
    """The publisher of one target, built by its platform's package (`socialomega.platforms`)."""
    targets = {t.name: t for t in load_targets(configuration)}
    target = targets[target_name]
    try:
        platform = platforms.get(target.platform)
    except LookupError:
        raise config.ConfigError(f"target {target.name}: unknown platform {target.platform!r}") from None
    entry = target.model_dump(exclude_unset=True)  # the entry as configured: its platform's model checks every key
    return platform.build_publisher(entry, configuration.credentials(target.name)), entry


def build(
    target: str,
    settings: config.Settings | None = None,
    clients: Clients | None = None,
    configuration: config.Configuration | None = None,
) -> tuple[PublishService, QueueRecords]:
    """The publish service of `target` and its queue's record operations, production adapters by default."""
    settings = settings or config.Settings.from_env()
    clients = clients or Clients.default()
    configuration = configuration or config.Configuration.default(settings)
    store = MetadataStore(clients.s3, settings.store_bucket)
    sender = EventSender(events=clients.events)
    resilience = config.Resilience.from_env()
    publications = Publications(store)

    def breaker_for(name: str) -> Breaker:
        platform = {t.name: t.platform for t in load_targets(configuration)}.get(name)
        return Breaker(
            store,
            name,
            resilience,
            probe_lease=publications.lease.total_seconds(),
            on_transition=breaker_announcer(sender, settings.event_bus, name, platform),
        )

    service = PublishService(
        publications=publications,
        images=S3Images(S3Blobs(clients.s3, settings.processed_bucket)),
        sender=sender,
        event_bus=settings.event_bus,
        publisher_for=lambda name: publisher_for(configuration, name),
        caps=DailyCaps(store),
        own_target=target,
        variants_bucket=settings.processed_bucket,
        breaker_for=breaker_for,
        scheduler=Scheduler(SlotQueue(store), EnvironmentClock()),
    )
    return service, QueueRecords(clients.sqs)
