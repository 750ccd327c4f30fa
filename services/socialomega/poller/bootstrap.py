"""The poller's composition root: clients and configuration in, the poll and its sources out."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any, cast

import requests

from socialomega.core import config, egress, http
from socialomega.core import logging as solog
from socialomega.core.aws import Clients
from socialomega.core.blobs import S3Blobs
from socialomega.core.egress import EgressPolicy, UnsafeDestination
from socialomega.core.events import EventSender
from socialomega.core.oauth import RotatingToken, SecretStore
from socialomega.core.store import MetadataStore
from socialomega.poller.lightroom import IMS_TOKEN_URL, LightroomClient
from socialomega.poller.lightroom_source import LightroomSource
from socialomega.poller.poll import Poller
from socialomega.poller.settings import PollerSettings
from socialomega.poller.sources import PhotoSource, S3InboxSource


@dataclass
class PollerApp:
    poller: Poller
    lightroom: LightroomClient
    sources: list[PhotoSource]


def build(
    settings: config.Settings | None = None,
    clients: Clients | None = None,
    configuration: config.Configuration | None = None,
    poller_settings: PollerSettings | None = None,
) -> PollerApp:
    """The poller with production adapters; tests pass their own settings, clients or configuration."""
    settings = settings or config.Settings.from_env()
    poller_settings = poller_settings or PollerSettings.from_env()
    clients = clients or Clients.default()
    configuration = configuration or config.Configuration.default(settings)
    raw = S3Blobs(clients.s3, settings.raw_bucket)
    poller = Poller(
        store=MetadataStore(clients.s3, settings.store_bucket),
        raw=raw,
        # Detections are archived on the bus too: the event log and replay (socialomega/replay).
        sender=EventSender(
            sqs=clients.sqs, events=clients.events, history_bus=settings.event_bus, history_source="socialomega.poller"
        ),
        images_queue_url=settings.images_queue_url,
        settings=poller_settings,
    )
    selection = configuration.parameter("lightroom")
    lightroom = lightroom_client(selection, configuration.credentials("lightroom"))
    return PollerApp(poller, lightroom, [LightroomSource(lightroom, selection), S3InboxSource(raw)])


def ims_url(selection: dict[str, Any]) -> str:
    """The IMS token endpoint, which receives the client secret and the refresh token: HTTPS,
    or plain HTTP only to a loopback address (the local sandbox)."""
    url = str(selection.get("ims_url") or IMS_TOKEN_URL)
    where = egress.origin(url)
    scheme, host = (where[0], where[1]) if where else ("", "")
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if scheme != "https" and not (scheme == "http" and loopback):
        shown = f"{scheme}://{host}" if where else "a URL that does not parse plainly"
        raise config.ConfigError(
            f"lightroom ims_url must be https (plain http only to a loopback sandbox), not {shown}"
        )
    return url


def lightroom_client(selection: dict[str, Any], credentials: SecretStore) -> LightroomClient:
    """A client for the configured catalog. With a refresh token (and the client secret) in the
    secret, the 24-hour IMS token is renewed here and the rotated pair written back; without,
    the access token is used as is until an operator replaces it.

    The session reaches only the configured API and IMS hosts (core/egress.py); plain http and
    private addresses only with `allow_private_network` (the local sandbox)."""
    secret = credentials.current()
    if not secret.get("client_id"):
        raise config.ConfigError("the Lightroom secret lacks client_id (the Adobe API key)")
    token_url = ims_url(selection) if secret.get("refresh_token") else None
    try:
        policy = EgressPolicy.of(
            selection["base_url"], token_url, allow_private=selection.get("allow_private_network") is True
        )
    except UnsafeDestination as exc:
        raise config.ConfigError(f"lightroom base_url or ims_url cannot be called: {exc}") from None
    session = egress.session(policy)
    tokens = None
    if token_url:
        tokens = RotatingToken(
            credentials,
            token_url,
            client_auth="body",
            # RotatingToken calls requests itself: its refresh fits the deadline through this.
            session=cast(requests.Session, http.DeadlineSession(session)),
            timeout=(3.05, 30.0),
            log=solog.get_logger(service="poller", component="ims"),
            what="Lightroom",
            default_expires_in=86400,
        )
    return LightroomClient(
        base_url=selection["base_url"],
        api_key=secret["client_id"],
        access_token=secret.get("access_token", ""),
        tokens=tokens,
        session=session,
    )
