"""Lambda entry point of the poller (EventBridge schedule -> here)."""

from __future__ import annotations

from typing import Any

from socialomega.core import aws, config
from socialomega.core import logging as solog
from socialomega.core.events import EventSender
from socialomega.core.store import MetadataStore
from socialomega.poller.lightroom import LightroomClient
from socialomega.poller.lightroom_source import LightroomSource
from socialomega.poller.poll import Poller
from socialomega.poller.sources import PhotoSource, S3InboxSource


def sources(settings: config.Settings) -> list[PhotoSource]:
    selection = config.parameter(settings, "lightroom")
    credentials = config.secret(settings, "lightroom")
    client = LightroomClient(
        base_url=selection["base_url"], api_key=credentials["client_id"], access_token=credentials["access_token"],
    )
    return [LightroomSource(client, selection), S3InboxSource(aws.client("s3"), settings.raw_bucket)]


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    settings = config.Settings.from_env()
    poller = Poller(
        store=MetadataStore(aws.client("s3"), settings.store_bucket),
        s3=aws.client("s3"),
        raw_bucket=settings.raw_bucket,
        sender=EventSender(sqs=aws.client("sqs")),
        images_queue_url=settings.images_queue_url,
    )
    result = poller.poll(sources(settings)).as_dict()
    solog.get_logger(service="poller").info("poll_done", detected=len(result["detected"]),
                                            already_seen=result["already_seen"], failed=len(result["failed"]))
    return result
