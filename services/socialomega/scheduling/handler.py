"""Lambda entry point of the release run (a schedule, every minute -> here), shipped in the
publisher image (`CMD` override `socialomega.scheduling.handler.handler`): each target's posts
whose slot has come go back to its publish queue (scheduling/release.py), found in the
environment's operations manifest."""

from __future__ import annotations

from typing import Any

from socialomega.core import aws, config, deadline, tracing
from socialomega.core.aws import Clients
from socialomega.core.events import EventSender
from socialomega.core.store import MetadataStore
from socialomega.scheduling.clock import ScheduleClock
from socialomega.scheduling.release import publish_queues, release_all


@tracing.traced_handler("release")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    with deadline.bound(deadline.Deadline.from_context(context)):
        settings = config.Settings.from_env()
        clients = Clients.default()
        lines = release_all(
            config.Configuration.default(settings),
            MetadataStore(clients.s3, settings.store_bucket),
            EventSender(sqs=clients.sqs).to_queue,
            publish_queues(aws.client("ssm"), settings.env),
            ScheduleClock.from_env(),
        )
    return {"targets": lines}
