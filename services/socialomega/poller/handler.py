"""Lambda entry point of the poller (EventBridge schedule -> here)."""

from __future__ import annotations

from typing import Any

from socialomega.core import logging as solog
from socialomega.poller import bootstrap
from socialomega.poller.poll import SourceFailed


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    app = bootstrap.build()
    result = app.poller.poll(app.sources)
    if app.lightroom.tokens is not None and app.lightroom.tokens.unsaved:
        result.failed["source:lightroom"] = (
            "the renewed Adobe IMS token could not be written back to Secrets "
            "Manager, and the stored refresh token is spent: re-authorise"
        )
    solog.get_logger(service="poller").info(
        "poll_done", detected=len(result.detected), already_seen=result.already_seen, failed=len(result.failed)
    )
    failures = result.source_failures()
    if failures:
        # Lambda writes an unhandled error's text to the log as it is: redact it here.
        raise SourceFailed(
            solog.redact("; ".join(f"{name}: {reason}" for name, reason in failures.items())), result.as_dict()
        )
    return result.as_dict()
