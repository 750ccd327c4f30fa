"""The one place that builds AWS clients.

In AWS the SDK finds everything itself. In local mode `AWS_ENDPOINT_URL` (which boto3
also honours natively) points every client at LocalStack; this module only adds the
settings LocalStack needs (path-style S3) and a retry mode that is explicit rather than
boto3's legacy default.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from typing import Any

import boto3
from botocore.config import Config

from socialomega.core import tracing


def endpoint_url() -> str | None:
    return os.environ.get("AWS_ENDPOINT_URL") or None


def region(given: str | None = None, profile: str | None = None, configured: bool = True) -> str | None:
    """The one reading of "which region" for operator code (preflight, `socialomega`): `given`,
    else AWS_REGION (the AWS CLI's and Lambda's; botocore ignores it), else AWS_DEFAULT_REGION,
    else, when `configured`, the region of `profile` (default: AWS_PROFILE, then `default`) in
    the SDK's config files. None when nothing names one. A profile that does not exist raises
    botocore's ProfileNotFound."""
    found = given or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if not found and configured:
        found = boto3.session.Session(profile_name=profile).region_name
    return found or None


def _config() -> Config:
    return Config(
        # Every AWS call must fit the handlers' deadlines (core/deadline.py): a read timeout
        # bounds each wait for bytes (not a whole download), so 10 s is ample for S3 and SQS.
        retries={"mode": "standard", "max_attempts": 3},
        connect_timeout=3,
        read_timeout=10,
        s3={"addressing_style": "path"} if endpoint_url() else {},
    )


def new_client(service: str) -> Any:
    """A client of its own (what `client` caches): for a caller that stands in for several
    Lambda instances at once, e.g. a benchmark's concurrent writers."""
    session = boto3.session.Session()
    made = session.client(service, endpoint_url=endpoint_url(), config=_config())
    tracing.instrument_botocore(made.meta.events)  # each call an X-Ray subsegment (a no-op locally)
    return made


@cache
def client(service: str) -> Any:
    """A cached client per service (clients are thread-safe; sessions are not)."""
    return new_client(service)


@dataclass(frozen=True)
class Clients:
    """The AWS clients a service's bootstrap hands to its adapters (tests pass fakes)."""

    s3: Any
    sqs: Any
    sns: Any
    events: Any

    @classmethod
    def default(cls) -> Clients:
        return cls(client("s3"), client("sqs"), client("sns"), client("events"))
