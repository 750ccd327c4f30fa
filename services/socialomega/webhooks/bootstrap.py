"""The webhook endpoint's composition root: clients and configuration in, the service out."""

from __future__ import annotations

from socialomega.core import config
from socialomega.core.aws import Clients
from socialomega.core.events import EventSender
from socialomega.core.store import MetadataStore
from socialomega.webhooks.service import WebhookService
from socialomega.webhooks.signatures import WebhookKeys

SECRET_NAME = "webhooks"  # socialomega/<env>/webhooks: one verification key per platform family


def build(
    settings: config.Settings | None = None,
    clients: Clients | None = None,
    configuration: config.Configuration | None = None,
) -> WebhookService:
    settings = settings or config.Settings.from_env()
    clients = clients or Clients.default()
    configuration = configuration or config.Configuration.default(settings)
    return WebhookService(
        store=MetadataStore(clients.s3, settings.store_bucket),
        sender=EventSender(events=clients.events),
        event_bus=settings.event_bus,
        keys=lambda: WebhookKeys.from_secret(configuration.secret(SECRET_NAME)),
    )
