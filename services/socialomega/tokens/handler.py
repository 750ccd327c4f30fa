"""Lambda entry point of the token keeper (a daily schedule -> here), shipped in the publisher
image (`CMD` override `socialomega.tokens.handler.handler`, terraform/envs/aws/tokens.tf).

It checks every target's credential, refreshes those due (`tokens/keeper.py`) and reports each
in a metric and a log line. A target's failure is reported, not raised: its alarm says which
target and why, and a retried invocation would only refresh again. Only a run that cannot start
(no configuration) fails the invocation."""

from __future__ import annotations

from typing import Any

from socialomega.core import config, deadline, tracing
from socialomega.tokens.keeper import KeeperSettings, keep


@tracing.traced_handler("token-keeper")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    with deadline.bound(deadline.Deadline.from_context(context)):
        configuration = config.Configuration.default(config.Settings.from_env())
        lines = keep(configuration, KeeperSettings.from_env())
    return {"targets": lines, "unhealthy": sorted(line["target"] for line in lines if line["unhealthy"])}
