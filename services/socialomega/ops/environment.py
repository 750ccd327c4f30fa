"""One deployed environment, found from its name alone: what the operator command works on.

Terraform writes an operator manifest to SSM, `/socialomega/<env>/operations` (JSON; written by
terraform/modules/pipeline, so the local and the aws roots both have it): the buckets, each
queue consumer's queue and DLQ, the event bus, the publish topic, the config and secret
prefixes and the secret names, and what only the aws root knows (the function names, the
scheduled functions' DLQs, the alarm topic; null on a local stack). Only operators read it: no
function's role names it.

Where AWS is: the SDK's own settings (`--profile`/`AWS_PROFILE`, `--region`/`AWS_REGION`/
`AWS_DEFAULT_REGION`), and for a local stack the endpoint, exactly as local mode points every
client at LocalStack: `AWS_ENDPOINT_URL` in the process environment, which `core/aws.py` (the one
client factory) and boto3 honour. An environment is local when an endpoint is given
(`--endpoint-url` or `AWS_ENDPOINT_URL`), or when it is named `local` (then LocalStack where
`local/localstack.endpoint()` finds it).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from socialomega.core import aws, config
from socialomega.core.store import MetadataStore
from socialomega.core.targets import Target, load_targets

MANIFEST_NAME = "operations"  # /socialomega/<env>/operations
LOCAL_ENV = "local"


def manifest_parameter(env: str) -> str:
    return f"/socialomega/{env}/{MANIFEST_NAME}"


class ManifestError(RuntimeError):
    """The environment's manifest is missing or malformed: say what to do."""


class Consumer(BaseModel):
    """One queue consumer (processor, analytics, publisher-<target>): its queue and DLQ."""

    model_config = ConfigDict(extra="ignore")
    queue_url: str
    dlq_url: str
    service: str
    target: str | None = None  # publishers only
    maximum_concurrency: int | None = None


class Manifest(BaseModel):
    """The JSON of `/socialomega/<env>/operations` (terraform/modules/pipeline `operations`)."""

    model_config = ConfigDict(extra="ignore")
    schema_version: int = 1
    env: str
    buckets: dict[str, str]  # raw, processed, store
    consumers: dict[str, Consumer]
    images_queue_url: str
    publish_topic_arn: str
    event_bus: str
    config_prefix: str
    secret_prefix: str
    secret_names: list[str] = Field(default_factory=list)
    # The aws root's alone (null on a local stack, which has no functions, schedules or alarms).
    functions: dict[str, str] | None = None
    # Each EventBridge schedule's DLQ by name (poller-schedule, token-keeper-schedule): failed
    # scheduled invocations, listed with the consumers' DLQs but never redriven.
    schedule_dlqs: dict[str, str] | None = None
    alarm_topic_arn: str | None = None

    @model_validator(mode="after")
    def _one_name_per_dlq(self) -> Manifest:
        # `dlq show|redrive NAME` picks a queue by name: a schedule may not shadow a consumer.
        clashes = sorted(set(self.schedule_dlqs or {}) & set(self.consumers))
        if clashes:
            raise ValueError(f"{', '.join(clashes)} named both as a consumer and as a schedule DLQ")
        return self

    @classmethod
    def parse(cls, text: str, where: str) -> Manifest:
        try:
            return cls.model_validate(json.loads(text))
        except (json.JSONDecodeError, ValidationError) as exc:
            raise ManifestError(f"{where} is not a valid operator manifest: {exc}") from None

    @property
    def store_bucket(self) -> str:
        return self.buckets["store"]

    def settings(self) -> config.Settings:
        """The services' own settings (core/config.Settings), as Terraform gives them to the functions."""
        return config.Settings(
            env=self.env,
            raw_bucket=self.buckets["raw"],
            processed_bucket=self.buckets["processed"],
            store_bucket=self.buckets["store"],
            images_queue_url=self.images_queue_url,
            publish_topic_arn=self.publish_topic_arn,
            event_bus=self.event_bus,
            config_prefix=self.config_prefix,
            secret_prefix=self.secret_prefix,
        )

    def dead_letter_queues(self) -> list[DeadLetterQueue]:
        """Every DLQ: each consumer's (redriven to its own queue), then each schedule's (failed
        scheduled invocations: no queue to send them back to; the next scheduled run tries again)."""
        found = [DeadLetterQueue(name, c.dlq_url, c.queue_url) for name, c in sorted(self.consumers.items())]
        found += [DeadLetterQueue(name, url, None) for name, url in sorted((self.schedule_dlqs or {}).items()) if url]
        return found


@dataclass(frozen=True)
class DeadLetterQueue:
    name: str  # the consumer's (processor, publisher-rest, analytics) or the schedule's (poller-schedule)
    url: str
    source_url: str | None  # where a redrive sends its messages; None: not redrivable


@dataclass(frozen=True)
class Where:
    """How to reach AWS: what the SDK is told (None: its own default chain decides)."""

    profile: str | None = None
    region: str | None = None
    endpoint_url: str | None = None  # set: a local stack

    @property
    def local(self) -> bool:
        return self.endpoint_url is not None

    @classmethod
    def decide(
        cls, env: str, profile: str | None = None, region: str | None = None, endpoint_url: str | None = None
    ) -> Where:
        endpoint = endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None
        if endpoint is None and env == LOCAL_ENV:
            from socialomega.local import localstack  # local mode's one rule for where LocalStack is

            endpoint = localstack.endpoint()
        if endpoint is None:
            return cls(profile, aws.region(region, profile), None)
        # A local stack's region is local mode's (us-east-1 unless set), never a profile's.
        return cls(profile, aws.region(region, configured=False) or "us-east-1", endpoint)

    def apply(self) -> None:
        """Point `core/aws.py`'s clients here: the process environment the SDK reads, then a
        fresh client cache. LocalStack takes any credentials; test ones are set only when none are."""
        if self.profile:
            os.environ["AWS_PROFILE"] = self.profile
        if self.region:
            os.environ["AWS_DEFAULT_REGION"] = self.region  # the variable botocore reads (AWS_REGION it does not)
        if self.endpoint_url:
            os.environ["AWS_ENDPOINT_URL"] = self.endpoint_url
            if not self.profile:
                os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
                os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")
        aws.client.cache_clear()


class Environment:
    """An environment's manifest, targets and AWS clients (always `core/aws.client`)."""

    def __init__(self, name: str, manifest: Manifest, where: Where) -> None:
        self.name = name
        self.manifest = manifest
        self.where = where

    @property
    def local(self) -> bool:
        return self.where.local

    @classmethod
    def resolve(
        cls, name: str, profile: str | None = None, region: str | None = None, endpoint_url: str | None = None
    ) -> Environment:
        where = Where.decide(name, profile, region, endpoint_url)
        where.apply()
        return cls(name, read_manifest(aws.client("ssm"), name, where), where)

    def client(self, service: str) -> Any:
        return aws.client(service)

    def configuration(self) -> config.Configuration:
        return config.Configuration(self.manifest.settings(), self.client("ssm"), self.client("secretsmanager"))

    def targets(self) -> list[Target]:
        """The enabled targets (`/socialomega/<env>/targets`, core/targets.py)."""
        return load_targets(self.configuration())

    def store(self) -> MetadataStore:
        return MetadataStore(self.client("s3"), self.manifest.store_bucket)

    def describe(self) -> str:
        where = (
            f"LocalStack {self.where.endpoint_url}"
            if self.local
            else f"AWS {self.where.region or '(SDK default region)'}"
        )
        return f"{self.name} on {where}"


def read_manifest(ssm: Any, env: str, where: Where | None = None) -> Manifest:
    name = manifest_parameter(env)
    try:
        text = ssm.get_parameter(Name=name)["Parameter"]["Value"]
    except ssm.exceptions.ParameterNotFound:
        on = "this LocalStack" if where is not None and where.local else "this account and region"
        raise ManifestError(
            f"no environment {env!r} on {on}: SSM parameter {name} does not exist "
            "(apply Terraform for it first, or check --env, --profile and --region)"
        ) from None
    return Manifest.parse(text, f"SSM parameter {name}")
