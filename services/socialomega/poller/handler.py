"""Lambda entry point of the poller (EventBridge schedule -> here).

The invocation's deadline comes from its context and is bound for everything below
(core/deadline.py): the poll stops before it with its progress saved, and the next scheduled
invocation resumes there."""

from __future__ import annotations

from typing import Any

from socialomega.core import deadline, tracing
from socialomega.core import logging as solog
from socialomega.poller import bootstrap
from socialomega.poller.poll import SourceFailed


@tracing.traced_handler("poller")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    with deadline.bound(deadline.Deadline.from_context(context)):
        app = bootstrap.build()
        result = app.poller.poll(app.sources)
    if app.lightroom.tokens is not None and app.lightroom.tokens.unsaved:
        result.failed["source:lightroom"] = (
            "the renewed Adobe IMS token could not be written back to Secrets "
            "Manager, and the stored refresh token is spent: re-authorise"
        )
    solog.get_logger(service="poller").info(
        "poll_done",
        detected=len(result.detected),
        already_seen=result.already_seen,
        failed=len(result.failed),
        parked=len(result.parked),
        skipped_parked=result.skipped_parked,
        not_ready=len(result.not_ready),
        stopped=sorted(result.stopped),
    )
    failures = result.source_failures()
    if failures:
        # Lambda writes an unhandled error's text to the log as it is: redact it here.
        raise SourceFailed(
            solog.redact("; ".join(f"{name}: {reason}" for name, reason in failures.items())), result.as_dict()
        )
    return result.as_dict()
