"""Lambda entry point of the release run (a schedule, every minute -> here), shipped in the
publisher image (`CMD` override `socialomega.scheduling.handler.handler`): each target's posts
whose slot has come go back to its publish queue (scheduling/release.py), found in the
environment's operations manifest; then the posts of photos that left the selection are deleted
on the targets that opt in (scheduling/unpublish.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from socialomega.core import aws, config, deadline, tracing
from socialomega.core.aws import Clients
from socialomega.core.events import EventSender
from socialomega.core.store import MetadataStore
from socialomega.publishers.bootstrap import publisher_for
from socialomega.scheduling.clock import ScheduleClock
from socialomega.scheduling.release import Selections, publish_queues, release_all
from socialomega.scheduling.unpublish import LOOKBACK, unpublish_departed


@tracing.traced_handler("release")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    with deadline.bound(deadline.Deadline.from_context(context)):
        settings = config.Settings.from_env()
        clients = Clients.default()
        configuration = config.Configuration.default(settings)
        store = MetadataStore(clients.s3, settings.store_bucket)
        lines = release_all(
            configuration,
            store,
            EventSender(sqs=clients.sqs).to_queue,
            publish_queues(aws.client("ssm"), settings.env),
            ScheduleClock.from_env(),
        )
        since = (datetime.now(UTC) - LOOKBACK).isoformat()
        gone = unpublish_departed(configuration, store, Selections(store).departed(since), publisher_for)
    return {"targets": lines, "unpublished": gone}
