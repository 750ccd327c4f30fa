"""CloudWatch metrics as embedded-metric-format (EMF) log lines.

In Lambda, a JSON line on stdout with an `_aws.CloudWatchMetrics` directive becomes a metric
(no PutMetricData call, no extra permission, no added latency); locally it is just a log line.
Format: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
Delivery is at least once: an alarm on these must tolerate an occasional double count.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any, TextIO

NAMESPACE = "SocialOmega"


def emf_line(
    metrics: dict[str, float], dimensions: dict[str, str], unit: str = "Count", **properties: Any
) -> dict[str, Any]:
    """The EMF document of `metrics` (name -> value) under one dimension set."""
    return {
        "_aws": {
            "Timestamp": int(time.time() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": NAMESPACE,
                    "Dimensions": [list(dimensions)],
                    "Metrics": [{"Name": name, "Unit": unit} for name in metrics],
                }
            ],
        },
        **properties,
        **dimensions,
        **metrics,
    }


def emit(
    metrics: dict[str, float],
    dimensions: dict[str, str],
    unit: str = "Count",
    stream: TextIO | None = None,
    **properties: Any,
) -> None:
    """Write one EMF line (a line of its own, nothing before or after it, as the spec requires)."""
    out = stream or sys.stdout
    out.write(json.dumps(emf_line(metrics, dimensions, unit, **properties), separators=(",", ":")) + "\n")
    out.flush()
