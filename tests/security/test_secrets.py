"""Secrets: every secret value of the sandbox configuration, driven through every error path of
the real pipeline, must be found in none of: the log, the DLQs (bodies and attributes), the
stored documents, the events.

The pipeline runs on LocalStack, deployed by Terraform (the integration stack of
tests/conftest.py, shared with the integration suite when both run in one session, as `make
test` does), driven by the local runtime, while the sandbox fails in every way a platform can: a REST target
that quotes the request headers (API key and bearer token) back in its 400 error, 500s and 429s,
expired tokens on every social platform (LinkedIn's cannot be refreshed: dead-lettered with the
reason), X's and Adobe IMS's token refreshes (rotated tokens), Lightroom 503s, and forged
webhook calls. Every secret: the values of every sandbox secret, the webhook keys, the tokens
the fakes issued during the run (rotated X and Lightroom pairs, REST client-credentials tokens).
"""

from __future__ import annotations

import base64
import json
import sys

import pytest
import requests

from socialomega.core import aws
from socialomega.core import logging as solog
from socialomega.local import sandbox_config
from tests.conftest import wait_idle
from tests.security import tally

pytestmark = pytest.mark.integration
MIN_LENGTH = 6  # shorter strings ("rest", "x") are names, not secrets


def _strings(value) -> set[str]:
    if isinstance(value, str):
        return {value} if len(value) >= MIN_LENGTH else set()
    if isinstance(value, dict):
        return set().union(*(_strings(v) for v in value.values())) if value else set()
    if isinstance(value, list | tuple):
        return set().union(*(_strings(v) for v in value)) if value else set()
    return set()


def secret_values(sandbox, stack) -> set[str]:
    """Every secret the run knew: configured, and issued by the fakes during the run."""
    values = _strings(sandbox_config.secrets(sandbox.credentials))
    sm = aws.client("secretsmanager")
    prefix = stack["service_env"]["SO_SECRET_PREFIX"]
    for name in sandbox_config.secrets(sandbox.credentials):
        current = json.loads(sm.get_secret_value(SecretId=f"{prefix}/{name}")["SecretString"])
        values |= _strings({k: v for k, v in current.items() if k != "expires_at"})
    x_fake = sandbox.social["x"]
    with x_fake.lock:
        values |= _strings(list(x_fake.access_tokens) + list(x_fake.refresh_tokens) + list(x_fake.used_refresh_tokens))
    with sandbox.rest.lock:
        values |= _strings(list(sandbox.rest.tokens))
    # The token keeper's refreshes: Meta's exchanged tokens, LinkedIn's new access/refresh tokens.
    instagram, linkedin = sandbox.social["instagram"], sandbox.social["linkedin"]
    with instagram.lock:
        values |= _strings(list(instagram.issued))
    with linkedin.lock:
        values |= _strings(list(linkedin.access_tokens) + list(linkedin.refresh_tokens))
    lightroom = sandbox.lightroom.state
    with lightroom.lock:
        values |= _strings(list(lightroom.refreshed_tokens))
    # Client credentials also travel as HTTP Basic: that spelling is a secret too.
    for secret in sandbox_config.secrets(sandbox.credentials).values():
        if secret.get("client_id") and secret.get("client_secret"):
            values.add(base64.b64encode(f"{secret['client_id']}:{secret['client_secret']}".encode()).decode())
    return values


def everything_written(stack, log_text: str) -> dict[str, str]:
    """Where a secret could have ended up: name -> text."""
    found: dict[str, str] = {"log": log_text}
    s3, sqs = aws.client("s3"), aws.client("sqs")
    bucket = stack["service_env"]["SO_STORE_BUCKET"]
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            found[f"s3://{bucket}/{item['Key']}"] = (
                s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read().decode("utf-8", "replace")
            )
    for name, consumer in stack["consumers"].items():
        while True:
            got = sqs.receive_message(
                QueueUrl=consumer["dlq_url"],
                MaxNumberOfMessages=10,
                WaitTimeSeconds=0,
                MessageAttributeNames=["All"],
                VisibilityTimeout=300,
            )
            messages = got.get("Messages", [])
            if not messages:
                break
            for message in messages:
                found[f"dlq:{name}:{message['MessageId']}"] = json.dumps(
                    {"body": message["Body"], "attributes": message.get("MessageAttributes", {})}
                )
    return found


def leaks(secrets: set[str], written: dict[str, str]) -> list[tuple[str, str]]:
    return [(where, secret[:4] + "...") for where, text in written.items() for secret in secrets if secret in text]


def drive_every_error_path(sandbox, runtime) -> None:
    # New work whatever ran before on this stack: three new photos and a new version of one.
    for _ in range(3):
        sandbox.add_photo()
    sandbox.edit_photo(next(p.id for p in sandbox.selected_photos() if not p.corrupt), title="Dunes, edited")
    # REST: a target that quotes our headers back (X-Api-Key on rest, the bearer token on gallery).
    sandbox.fail_rest_next(2, status=400, path_contains="/v1/posts")
    sandbox.fail_rest_next(2, status=400, path_contains="/v1/media")
    sandbox.fail_rest_next(1, status=500, path_contains="/v1/posts")
    sandbox.fail_rest_next(1, status=429, path_contains="/v1/media")
    # Social platforms: expired tokens (X and Instagram/Facebook re-read or refresh; LinkedIn
    # cannot, so its photos are dead-lettered with the reason), server errors, rate limits.
    for platform in ("x", "instagram", "facebook", "linkedin"):
        sandbox.social[platform].expire_token()
        sandbox.fail_social_next(platform, "500", 1)
        sandbox.fail_social_next(platform, "429", 1)
    # Lightroom: an expired user token (Adobe IMS refreshes it) and a 503.
    sandbox.expire_lightroom_token()
    sandbox.fail_lightroom_next(1, 503)
    runtime.run_schedule("poller")
    wait_idle(runtime, timeout=240)
    # Forged and malformed webhook calls, for every platform.
    for platform in ("facebook", "instagram", "x", "linkedin"):
        url = f"{runtime.webhook_url}/webhooks/{platform}"
        requests.post(
            url,
            data=b'{"object": "page", "entry": []}',
            timeout=10,
            headers={
                "X-Hub-Signature-256": "sha256=" + "0" * 64,
                "x-twitter-webhooks-signature": "sha256=AAAA",
                "X-LI-Signature": "00",
            },
        )
        requests.get(
            url,
            params={
                "hub.mode": "subscribe",
                "hub.verify_token": "wrong",
                "hub.challenge": "1",
                "crc_token": "abc\n",
                "challengeCode": "nope",
            },
            timeout=10,
        )


def test_no_secret_reaches_logs_dlqs_documents_or_events(sandbox, stack, runtime, tmp_path):
    log_path = tmp_path / "pipeline.log"
    with log_path.open("w") as stream:
        solog.configure(stream=stream)
        try:
            drive_every_error_path(sandbox, runtime)
        finally:
            solog.configure(stream=sys.stdout)
    log_text = log_path.read_text()
    written = everything_written(stack, log_text)
    secrets = secret_values(sandbox, stack)

    # The error paths really ran: failures recorded, something dead-lettered, tokens rotated.
    failed_records = [w for w, text in written.items() if w.startswith("s3://") and '"status": "failed"' in text]
    dead_letters = [w for w in written if w.startswith("dlq:")]
    assert failed_records and dead_letters
    assert "Rejected request with headers" in log_text + "".join(written.values())
    for event in ("publish_failed", "record_dead_lettered", "token_refreshed", "webhook_rejected"):
        assert f'"{event}"' in log_text, event

    found = leaks(secrets, written)
    tally.count("secrets", "secret values checked", len(secrets))
    tally.count("secrets", "log lines", len(log_text.splitlines()))
    tally.count("secrets", "stored documents", sum(1 for w in written if w.startswith("s3://")))
    tally.count("secrets", "event log documents", sum(1 for w in written if "/events/" in w))
    tally.count("secrets", "DLQ messages", len(dead_letters))
    tally.count("secrets", "failure records", len(failed_records))
    tally.count("secrets", "secrets found", len(found))
    assert found == []


def test_the_scan_finds_a_secret_that_is_there(sandbox, stack):
    """The suite's own control: a planted secret is found by the same scan."""
    planted = sandbox_config.secrets(sandbox.credentials)["rest"]["api_key"]
    store = stack["service_env"]["SO_STORE_BUCKET"]
    aws.client("s3").put_object(Bucket=store, Key="planted/secret.json", Body=json.dumps({"k": planted}).encode())
    try:
        found = leaks(secret_values(sandbox, stack), everything_written(stack, "line with " + planted))
        assert ("log", planted[:4] + "...") in found and (
            "s3://" + store + "/planted/secret.json",
            planted[:4] + "...",
        ) in found
    finally:
        aws.client("s3").delete_object(Bucket=store, Key="planted/secret.json")
