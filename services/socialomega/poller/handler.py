"""Lambda entry point of the poller (EventBridge schedule -> here)."""

from __future__ import annotations

import ipaddress
from typing import Any

from socialomega.core import aws, config, egress
from socialomega.core import logging as solog
from socialomega.core.events import EventSender
from socialomega.core.store import MetadataStore
from socialomega.core.egress import EgressPolicy, UnsafeDestination
from socialomega.core.oauth import RotatingToken, SecretStore
from socialomega.poller.lightroom import IMS_TOKEN_URL, LightroomClient
from socialomega.poller.lightroom_source import LightroomSource
from socialomega.poller.poll import Poller, SourceFailed
from socialomega.poller.sources import S3InboxSource


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
        raise config.ConfigError(f"lightroom ims_url must be https (plain http only to a loopback sandbox), "
                                 f"not {shown}")
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
        policy = EgressPolicy.of(selection["base_url"], token_url,
                                 allow_private=selection.get("allow_private_network") is True)
    except UnsafeDestination as exc:
        raise config.ConfigError(f"lightroom base_url or ims_url cannot be called: {exc}") from None
    session = egress.session(policy)
    tokens = None
    if token_url:
        tokens = RotatingToken(
            credentials, token_url, client_auth="body", session=session,
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
    lightroom = lightroom_client(selection, config.Credentials(settings, "lightroom"))
    result = poller.poll([LightroomSource(lightroom, selection), S3InboxSource(aws.client("s3"), settings.raw_bucket)])
    if lightroom.tokens is not None and lightroom.tokens.unsaved:
        result.failed["source:lightroom"] = ("the renewed Adobe IMS token could not be written back to Secrets "
                                             "Manager, and the stored refresh token is spent: re-authorise")
    solog.get_logger(service="poller").info("poll_done", detected=len(result.detected),
                                            already_seen=result.already_seen, failed=len(result.failed))
    failures = result.source_failures()
    if failures:
        # Lambda writes an unhandled error's text to the log as it is: redact it here.
        raise SourceFailed(solog.redact("; ".join(f"{name}: {reason}" for name, reason in failures.items())),
                           result.as_dict())
    return result.as_dict()
