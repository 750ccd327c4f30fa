"""Lambda entry point of the insights puller (a schedule -> here), shipped in the publisher image
(`CMD` override `socialomega.insights.handler.handler`, terraform/envs/aws/insights.tf): it needs
every platform's publisher code and the targets' credentials, as the token keeper does.

A target's failure is reported (its line, its metrics), not raised: the next run reads again.
Only a run that cannot start (no configuration) fails the invocation."""

from __future__ import annotations

from typing import Any

from socialomega.core import config, deadline, tracing
from socialomega.core.aws import Clients
from socialomega.core.store import MetadataStore
from socialomega.insights.service import PullSettings, pull


@tracing.traced_handler("insights")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    with deadline.bound(deadline.Deadline.from_context(context)):
        settings = config.Settings.from_env()
        configuration = config.Configuration.default(settings)
        store = MetadataStore(Clients.default().s3, settings.store_bucket)
        lines = pull(configuration, store, PullSettings.from_env())
    return {"targets": lines, "failed": sorted(line["target"] for line in lines if line["statuses"].get("failed"))}
