"""Lambda entry point of the poller (EventBridge schedule -> here)."""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlsplit

from socialomega.core import aws, config, http
from socialomega.core import logging as solog
from socialomega.core.events import EventSender
from socialomega.core.store import MetadataStore
from socialomega.core.oauth import RotatingToken
from socialomega.poller.lightroom import IMS_TOKEN_URL, LightroomClient
from socialomega.poller.lightroom_source import LightroomSource
from socialomega.poller.poll import Poller, SourceFailed
from socialomega.poller.sources import S3InboxSource


def ims_url(selection: dict[str, Any]) -> str:
    """The IMS token endpoint, which receives the client secret and the refresh token: HTTPS,
    or plain HTTP only to a loopback address (the local sandbox)."""
    url = str(selection.get("ims_url") or IMS_TOKEN_URL)
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
        raise config.ConfigError(f"lightroom ims_url must be https (plain http only to a loopback sandbox), "
                                 f"not {parts.scheme}://{host}")
    return url


def lightroom_client(settings: config.Settings, selection: dict[str, Any]) -> LightroomClient:
    """A client for the configured catalog. With a refresh token (and the client secret) in the
    secret, the 24-hour IMS token is renewed here and the rotated pair written back; without,
    the access token is used as is until an operator replaces it."""
    credentials = config.Credentials(settings, "lightroom")
    secret = credentials.current()
    if not secret.get("client_id"):
        raise config.ConfigError("the Lightroom secret lacks client_id (the Adobe API key)")
    session = http.session()
    tokens = None
    if secret.get("refresh_token"):
        tokens = RotatingToken(
            credentials, ims_url(selection), client_auth="body", session=session,
            timeout=(3.05, 30.0), log=solog.get_logger(service="poller", component="ims"), what="Lightroom",
            default_expires_in=86400)
    return LightroomClient(base_url=selection["base_url"], api_key=secret["client_id"],
                           access_token=secret.get("access_token", ""), tokens=tokens, session=session)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    settings = config.Settings.from_env()
    poller = Poller(
        store=MetadataStore(aws.client("s3"), settings.store_bucket),
        s3=aws.client("s3"),
        raw_bucket=settings.raw_bucket,
        sender=EventSender(sqs=aws.client("sqs")),
        images_queue_url=settings.images_queue_url,
    )
    selection = config.parameter(settings, "lightroom")
    lightroom = lightroom_client(settings, selection)
    result = poller.poll([LightroomSource(lightroom, selection), S3InboxSource(aws.client("s3"), settings.raw_bucket)])
    if lightroom.tokens is not None and lightroom.tokens.unsaved:
        result.failed["source:lightroom"] = ("the renewed Adobe IMS token could not be written back to Secrets "
                                             "Manager, and the stored refresh token is spent: re-authorise")
    solog.get_logger(service="poller").info("poll_done", detected=len(result.detected),
                                            already_seen=result.already_seen, failed=len(result.failed))
    failures = result.source_failures()
    if failures:
        raise SourceFailed("; ".join(f"{name}: {reason}" for name, reason in failures.items()), result.as_dict())
    return result.as_dict()
