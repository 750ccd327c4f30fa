"""The analytics aggregator's composition root: clients in, the aggregator out."""

from __future__ import annotations

from socialomega.analytics.aggregate import Aggregator
from socialomega.core import config
from socialomega.core.aws import Clients
from socialomega.core.consumer import QueueRecords
from socialomega.core.store import MetadataStore


def build(settings: config.Settings | None = None, clients: Clients | None = None) -> tuple[Aggregator, QueueRecords]:
    """The aggregator and its queue's record operations, with production adapters by default."""
    settings = settings or config.Settings.from_env()
    clients = clients or Clients.default()
    return Aggregator(MetadataStore(clients.s3, settings.store_bucket)), QueueRecords(clients.sqs)
