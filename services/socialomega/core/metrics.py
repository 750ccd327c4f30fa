"""CloudWatch metrics as embedded-metric-format (EMF) log lines: the one way the code emits them.

In Lambda, a JSON line on stdout with an `_aws.CloudWatchMetrics` directive becomes a metric
(no PutMetricData call, no extra permission, no added latency); locally it is just a log line.
Format: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
Delivery is at least once: an alarm on these must tolerate an occasional double count.

Why not Powertools for AWS Lambda's `Metrics` (measured, Python 3.13, on top of what the
publisher already imports: +8 to +11 ms of import, median of 9 cold processes): it buffers one
dimension set per invocation and flushes it from a handler decorator, while these metrics are
decided per record and per target (a batch holds several photos, the processor's one photo
several targets), so every call here would be a `single_metric` block: a serializer like this
one, plus a dependency in every image and a flush that raises `SchemaValidationError` at the end
of an invocation whose work is done. Nothing it adds is used; `emit` never raises.

`METRICS` names every metric the services emit and its unit; `emit` takes the unit from it.
The dashboard (terraform/envs/aws/dashboard.tf) and the alarms (alerting.tf) use these names.
"""

from __future__ import annotations

import contextlib
import json
import math
import sys
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TextIO

from socialomega.core import logging as solog

NAMESPACE = "SocialOmega"

# Every metric, by the dimension it is emitted with, and its unit.
METRICS: dict[str, str] = {
    # publishers (Target): decided in publishers/service.py
    "Published": "Count",
    "Failed": "Count",  # PublishFailed, "failed" or "unconfirmed"
    "Unconfirmed": "Count",  # of those, the ones a person must check on the platform
    "Deferred": "Count",  # a quota, the daily cap or an open breaker: later, not a failure
    "PublishRetries": "Count",  # the platform answered retryable or unknown: the message comes back
    "CredentialsRejected": "Count",  # the token was refused and not refreshable: dead-lettered
    "DetectionToPublishLatency": "Seconds",  # AssetDetected's detected_at -> PublishSucceeded
    "BreakerOpenSeconds": "Seconds",
    "PostIndexConflicts": "Count",  # a platform id already indexed for another photo: the first is kept
    "EditsIgnored": "Count",  # a new version of a posted photo, not posted (on_edit=ignore)
    "PostsUpdated": "Count",  # a posted photo's post changed in place (on_edit=update)
    "PostsReleased": "Count",  # scheduled posts sent back to their queue at their time (scheduling/)
    "PostsMoved": "Count",  # scheduled posts moved to the next free slot while the breaker was open
    # processor (Service, or Target for what is per variant): processor/service.py
    "VariantBuildTime": "Milliseconds",  # one decode serves every target: per photo, not per target
    "VariantBytes": "Bytes",
    "VariantsSkipped": "Count",  # a target that cannot take the photo (too small, say)
    "PhotosRejected": "Count",  # no target can take it, or it is not a sound image
    # webhooks (Platform; WebhookServerErrors by Service): webhooks/service.py, handler.py
    "WebhookAccepted": "Count",  # a verified signature or an answered challenge
    "WebhookRejected": "Count",  # a bad signature or verify token
    "EngagementsRecorded": "Count",
    "EngagementsUnmatched": "Count",
    "WebhookUnreadable": "Count",
    "WebhookServerErrors": "Count",
    # every queue consumer (Service): core/consumer.py
    "RecordsRetried": "Count",
    "RecordsDeadLettered": "Count",
    "DeadLetterFailures": "Count",  # could not reach the DLQ: SQS redelivers it
    "RecordsOutOfTime": "Count",  # stopped by the invocation's deadline, progress saved
    # poller (Service) and the token keeper (Target), emitted by their own modules
    "PhotosParked": "Count",
    "TokenDaysLeft": "None",
    "TokenUnhealthy": "None",
    # the insights puller (Target): insights/service.py
    "InsightsRead": "Count",  # posts whose figures were read (all or some of them)
    "InsightsFailed": "Count",  # an error or a missing permission: the figures are not current
    "InsightsDeferred": "Count",  # the platform's rate limit or the deadline: read next run
}

# The units the specification allows (CloudWatch's StandardUnit).
UNITS = frozenset(
    {
        *("Seconds", "Microseconds", "Milliseconds", "Percent", "Count", "Count/Second", "None"),
        *("Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes"),
        *("Bits", "Kilobits", "Megabits", "Gigabits", "Terabits"),
        *("Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second"),
        *("Bits/Second", "Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second"),
    }
)
MAX_METRICS = 100  # per directive (the specification's limit)
MAX_DIMENSIONS = 30  # per dimension set
MAX_DIMENSION_VALUE = 1024  # characters


def emf_line(
    metrics: Mapping[str, float | None], dimensions: Mapping[str, str], unit: str | None = None, **properties: Any
) -> dict[str, Any]:
    """The EMF document of `metrics` (name -> value) under one dimension set; the unit is
    `unit` or the metric's own (`METRICS`). Values that are not finite numbers (None, NaN: JSON
    has no NaN) are left out, and so are more than `MAX_METRICS`."""
    values = {
        name: value
        for name, value in metrics.items()
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    }
    values = dict(list(values.items())[:MAX_METRICS])
    dims = {str(k): _dimension_value(v) for k, v in list(dimensions.items())[:MAX_DIMENSIONS]}
    return {
        "_aws": {
            "Timestamp": int(time.time() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": NAMESPACE,
                    "Dimensions": [list(dims)],
                    "Metrics": [{"Name": name, "Unit": _unit(name, unit)} for name in values],
                }
            ],
        },
        **{k: v for k, v in properties.items() if k not in values and k not in dims and k != "_aws"},
        **dims,
        **values,
    }


def _dimension_value(value: Any) -> str:
    """CloudWatch takes ASCII dimension values of 1 to 1024 characters, not all whitespace."""
    text = str(value).encode("ascii", "replace").decode("ascii")[:MAX_DIMENSION_VALUE]
    return text if text.strip() else "-"


def _unit(name: str, unit: str | None) -> str:
    chosen = unit or METRICS.get(name, "Count")
    return chosen if chosen in UNITS else "None"


def emit(
    metrics: Mapping[str, float | None],
    dimensions: Mapping[str, str],
    unit: str | None = None,
    stream: TextIO | None = None,
    **properties: Any,
) -> None:
    """Write one EMF line (a line of its own, nothing before or after it, as the spec requires).
    Never raises: a metric that cannot be written must not fail the work it counts."""
    try:
        line = emf_line(metrics, dimensions, unit, **properties)
        if not line["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
            return
        out = stream or solog.STDOUT  # whole lines, never inside a log line (core/logging.py)
        out.write(json.dumps(line, separators=(",", ":"), default=str) + "\n")
        out.flush()
    except Exception as exc:  # a closed stdout, an unserialisable property
        with contextlib.suppress(Exception):  # nowhere left to say it
            sys.stderr.write(f"metric not emitted: {type(exc).__name__}\n")


def seconds_between(since: Any, until: Any) -> float | None:
    """Seconds from one ISO-8601 time to another (a zone-less time is UTC), or None when either
    is missing or unreadable: a latency metric is left out rather than wrong."""
    if not since or not until:
        return None
    try:
        start, end = (datetime.fromisoformat(str(t).replace("Z", "+00:00")) for t in (since, until))
    except ValueError:
        return None
    start, end = (t if t.tzinfo else t.replace(tzinfo=UTC) for t in (start, end))
    return (end - start).total_seconds()
