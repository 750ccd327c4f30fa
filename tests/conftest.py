"""Fixtures shared by the suites that run the pipeline (integration, security, containers).

The LocalStack stack (`sandbox`, `stack`, `runtime`) lives here so that the integration suite
and the security tier's secrets suite, run in one pytest session by `make test`, share one
sandbox and one Terraform apply; the containers suite provides its own `stack` and `sandbox`
(the compose stack), and the unit tier its own in-process `sandbox`.

The LocalStack stack: LocalStack (started if needed), the sandbox on ephemeral ports,
`terraform/envs/local` applied for real in workspace `itest`, and the local runtime."""

from __future__ import annotations

import os
import time
from typing import Any

import pytest

from socialomega.core import aws, config
from socialomega.core.store import MetadataStore
from socialomega.local import localstack, sandbox_config, terraform
from socialomega.local.runtime import LocalRuntime, apply_service_env
from socialomega.sandbox.server import Sandbox

ENV = "itest"
RESILIENCE = {
    "retry_base_seconds": 1,
    "retry_max_delay_seconds": 8,
    "breaker_threshold": 5,
    "breaker_cooldown_seconds": 4,
    "breaker_max_cooldown_seconds": 8,
    "record_min_seconds": 5,
}


@pytest.fixture(scope="session")
def sandbox():
    box = Sandbox(seed=11, include_corrupt=True)
    # The suite posts each photo several times (edits make new versions): more than X's free
    # tier allows in a day. The cap itself is covered by the X contract tests.
    box.social["x"].set_daily_cap(1000)
    box.start()
    yield box
    box.stop()


@pytest.fixture(scope="session")
def stack(sandbox) -> dict[str, Any]:
    localstack.start()
    variables = {
        "lightroom_settings": sandbox_config.lightroom_settings(sandbox.lightroom_url),
        # The suites edit photos to publish them again: every edit is a new post here.
        "targets": sandbox_config.targets(sandbox.urls, misconfigured=True, on_edit="repost"),
        "secrets": sandbox_config.secrets(sandbox.credentials),
        # The same logic as in AWS, on a shorter clock: waits of seconds, not minutes.
        "resilience": RESILIENCE,
    }
    outputs, seconds = terraform.apply(ENV, variables)
    print(f"\nterraform apply envs/local ({ENV}): {seconds:.1f} s")
    apply_service_env(outputs, localstack.ENDPOINT)
    aws.client.cache_clear()
    config.clear_caches()
    _reset(outputs)
    return outputs


def _reset(outputs: dict[str, Any]) -> None:
    """Start from empty buckets and queues: the workspace may hold an earlier run's data."""
    s3, sqs = aws.client("s3"), aws.client("sqs")
    env = outputs["service_env"]
    for bucket in (env["SO_RAW_BUCKET"], env["SO_PROCESSED_BUCKET"], env["SO_STORE_BUCKET"]):
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
            items = [
                {"Key": v["Key"], "VersionId": v["VersionId"]}
                for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
            ]
            if items:
                s3.delete_objects(Bucket=bucket, Delete={"Objects": items, "Quiet": True})
    for consumer in outputs["consumers"].values():
        for url in (consumer["queue_url"], consumer["dlq_url"]):
            sqs.purge_queue(QueueUrl=url)
    urls = [url for c in outputs["consumers"].values() for url in (c["queue_url"], c["dlq_url"])]
    deadline = time.monotonic() + 30
    while True:  # a purge may take a moment to show: wait until every queue reads empty
        counts = {
            url: sum(
                int(v)
                for v in sqs.get_queue_attributes(
                    QueueUrl=url,
                    AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
                )["Attributes"].values()
            )
            for url in urls
        }
        if not any(counts.values()):
            return
        assert time.monotonic() < deadline, f"queues not empty 30 s after the purge: {counts}"
        time.sleep(0.2)


@pytest.fixture(scope="session")
def runtime(stack):
    rt = LocalRuntime.from_terraform_outputs(stack, webhook_port=0)  # webhooks on any free port
    rt.start()
    yield rt
    rt.stop()


def wait_idle(runtime: LocalRuntime, timeout: float = 180.0) -> None:
    assert runtime.wait_until_idle(timeout=timeout), f"pipeline not idle after {timeout}s: {runtime.stats()}"


@pytest.fixture(scope="session")
def first_run(sandbox, stack, runtime) -> dict[str, Any]:
    started = time.monotonic()
    poll = runtime.run_schedule("poller")
    wait_idle(runtime)
    return {"poll": poll, "seconds": time.monotonic() - started}


def pytest_report_header(config):  # noqa: ARG001
    return [
        f"localstack endpoint: {localstack.ENDPOINT}",
        f"AWS_ENDPOINT_URL set: {bool(os.environ.get('AWS_ENDPOINT_URL'))}",
    ]


@pytest.fixture(scope="module")
def store(stack) -> MetadataStore:
    """The metadata store (S3) of the stack under test."""
    return MetadataStore(aws.client("s3"), stack["service_env"]["SO_STORE_BUCKET"])
