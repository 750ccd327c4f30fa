"""The `socialomega` operator command against the local stack (LocalStack, the sandbox fakes,
the local runtime): found from `--env` alone through the SSM manifest Terraform wrote, the same
code as on a real account."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from socialomega.core import aws, config
from socialomega.local import localstack
from tests.conftest import ENV, wait_idle


@dataclass(frozen=True)
class Run:
    exit_code: int
    stdout: str
    stderr: str


SCRIPT = Path(sys.executable).with_name("socialomega")  # the installed console script


def socialomega(*args: str) -> Run:
    """One run of the command as an operator runs it: a process of the console script (in this
    process the local runtime's threads would write their metric lines into its stdout)."""
    done = subprocess.run(
        [str(SCRIPT), "--env", ENV, "--endpoint-url", localstack.ENDPOINT, *args],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ},
    )
    return Run(done.returncode, done.stdout, done.stderr)


def as_json(*args: str) -> Any:
    result = socialomega(*args, "--json")
    assert result.exit_code in (0, 1), result.stderr
    return json.loads(result.stdout)


def wait_for(check, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"{what}: not within {timeout:.0f} s"
        time.sleep(0.5)


def test_every_dlq_is_found_from_the_environments_name(stack, first_run):
    queues = {q["queue"] for q in as_json("dlq", "list")}
    assert queues == set(stack["consumers"])  # every consumer's DLQ; a local stack has no schedule DLQ


def test_status_shows_every_photo_and_target_with_post_reason_and_times(sandbox, stack, first_run):
    targets = sorted(n.removeprefix("publisher-") for n in stack["consumers"] if n.startswith("publisher-"))
    rows = as_json("status")
    assets = {r["asset_id"] for r in rows}
    assert assets >= {p.id for p in sandbox.selected_photos() if not p.corrupt}
    for asset in assets:  # every photo x every target, one row each
        assert sorted(r["target"] for r in rows if r["asset_id"] == asset) == targets
    published = [r for r in rows if r["state"] == "published"]
    assert published, "the first run published photos"
    assert all(r["remote_id"] and r["published_at"] and r["detected_at"] for r in published)
    assert all(r["seconds_to_publish"] is not None and r["seconds_to_publish"] >= 0 for r in published)

    one = published[0]
    table = socialomega("status", "--asset", one["asset_id"], "--target", one["target"])
    assert table.exit_code == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split()[:4] == ["ASSET", "PHOTO", "TARGET", "STATE"]
    assert (
        one["asset_id"] in lines[1] and "published" in lines[1] and (one["remote_url"] or one["remote_id"]) in lines[1]
    )

    failed = as_json("status", "--failed")
    assert all(r["state"] in ("failed", "unconfirmed", "rejected", "retrying") for r in failed)
    assert {(r["asset_id"], r["target"]) for r in failed} == {
        (r["asset_id"], r["target"])
        for r in rows
        if r["state"] in ("failed", "unconfirmed", "rejected") or (r["state"] == "retrying" and r["reason"])
    }
    # instagram-tall's spec (about 1:2) fits no photo: rejected by the processor or refused by the
    # platform fake, each with its reason; the corrupt upload is rejected for every target.
    tall = [r for r in rows if r["target"] == "instagram-tall"]
    assert tall and all(r["state"] in ("failed", "rejected") and r["reason"] for r in tall)
    corrupt = {p.id for p in sandbox.selected_photos() if p.corrupt}
    assert corrupt and {(r["asset_id"], r["state"]) for r in rows if r["asset_id"] in corrupt} == {
        (asset, "rejected") for asset in corrupt
    }
    assert all(r in failed for r in tall)


def test_a_poison_message_is_listed_with_its_reason_then_redriven_out_of_the_dlq(stack, runtime, first_run):
    consumer = stack["consumers"]["publisher-rest"]
    sqs = aws.client("sqs")
    marker = f"poison-{uuid.uuid4().hex[:8]}"
    sqs.send_message(QueueUrl=consumer["queue_url"], MessageBody=json.dumps({"not": "an envelope", "marker": marker}))

    def ours(letters: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [m for m in letters if marker in m["body"]]

    try:
        wait_for(lambda: ours(as_json("dlq", "show", "publisher-rest", "--body")), 60, "the poison in the DLQ")
        listed = {q["queue"]: q for q in as_json("dlq", "list")}
        assert listed["publisher-rest"]["messages"] >= 1 and listed["publisher-rest"]["redrivable"]
        assert any(r["code"] == "invalid_message" and r["reason"] for r in listed["publisher-rest"]["reasons"])
        (poison,) = ours(as_json("dlq", "show", "publisher-rest", "--body"))
        assert poison["code"] == "invalid_message" and poison["failed_service"]
        assert poison["receive_count"] >= 1 and poison["sent_at"]
        table = socialomega("dlq", "list")
        assert table.exit_code == 0 and "invalid_message" in table.stdout

        redrive = socialomega("dlq", "redrive", "publisher-rest", "--timeout", "60")
        assert redrive.exit_code == 0, redrive.stderr
        assert "publisher-rest: completed" in redrive.stdout and "moved" in redrive.stdout
        assert "publisher-rest:" in redrive.stderr  # progress on stderr
        wait_idle(runtime)
        # It left the DLQ and went through the publisher again, which dead-lettered it anew
        # (still poison): a new message, the same reason.
        wait_for(lambda: ours(as_json("dlq", "show", "publisher-rest", "--body")), 60, "the poison back in the DLQ")
        (again,) = ours(as_json("dlq", "show", "publisher-rest", "--body"))
        assert again["message_id"] != poison["message_id"] and again["code"] == "invalid_message"
    finally:
        _delete_matching(sqs, consumer["dlq_url"], marker)
    # Safe to run again: with nothing (of this test's) left it moves what is there, or nothing.
    again_redrive = socialomega("dlq", "redrive", "publisher-rest", "--json")
    assert again_redrive.exit_code == 0 and json.loads(again_redrive.stdout)["ok"]


def _delete_matching(sqs: Any, url: str, marker: str) -> None:
    """Leave the DLQ as the other suites expect it: without this test's poison."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=5).get("Messages", [])
        if not messages:
            return
        for m in messages:
            if marker in m["Body"]:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
            else:
                sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0)


def test_doctor_lists_its_checks_and_fails_on_a_secret_without_its_key(stack, first_run):
    healthy = socialomega("doctor", "--json")
    checks = {c["name"]: c for c in json.loads(healthy.stdout)}
    assert checks["credentials"]["status"] == "ok" and checks["manifest"]["status"] == "ok"
    assert checks["targets"]["status"] == "ok", checks["targets"]
    secret = f"secret socialomega/{ENV}/rest"
    assert checks[secret]["status"] == "ok" and "api_key" in checks[secret]["detail"]
    for name in stack["consumers"]:
        assert checks[f"queue {name}"]["status"] == "ok"
        assert checks[f"dlq {name}"]["status"] in ("ok", "warn")
    assert checks["parked photos"]["status"] in ("ok", "warn")
    assert healthy.exit_code == (1 if any(c["status"] == "fail" for c in checks.values()) else 0)
    assert all(c["status"] != "fail" for c in checks.values()), [c for c in checks.values() if c["status"] == "fail"]

    secrets = aws.client("secretsmanager")
    name = f"socialomega/{ENV}/rest"
    before = secrets.get_secret_value(SecretId=name)["SecretString"]
    secrets.put_secret_value(SecretId=name, SecretString=json.dumps({"note": "the api_key went missing"}))
    try:
        broken = socialomega("doctor")
        assert broken.exit_code == 1
        lines = broken.stdout.splitlines()
        at = next(n for n, line in enumerate(lines) if name in line)
        assert lines[at] == f"FAIL secret {name}: lacks api_key"  # preflight.render: the deploy's own list
        assert lines[at + 1].strip().startswith(f"-> aws secretsmanager put-secret-value --secret-id {name} ")
        assert lines[-1] == "doctor: 1 failed"
    finally:
        secrets.put_secret_value(SecretId=name, SecretString=before)
        config.clear_caches()


# The sandbox's social tokens as the stack starts them (sandbox/instagram.py, linkedin.py: 60 days;
# facebook.py: a Page token that never expires; x.py: a full refresh pair), seen with the default
# 14-day window; the token keeper's refreshes (tests/integration/test_tokens.py) keep them so.
SANDBOX_HEALTH = {"instagram": "ok", "facebook": "never_expires", "linkedin": "ok", "x": "ok"}
# What `tokens refresh` (no --target, --within-days 14) does with them (tokens/health.py
# _refresh_one): nothing is due; a Page token has no refresh; X rotates only when named.
SANDBOX_REFRESH = {"instagram": "not_due", "facebook": "not_refreshable", "linkedin": "not_due", "x": "not_due"}


def social_targets(stack: dict[str, Any], found: list[dict[str, Any]]) -> dict[str, str]:
    """target -> platform of what the command listed, which must be every social target of the
    stack: the rest and gallery targets (API keys, client credentials) have no expiring token."""
    names = {n.removeprefix("publisher-") for n in stack["consumers"] if n.startswith("publisher-")}
    listed = {item["target"]: item["platform"] for item in found}
    assert len(listed) == len(found) and set(listed) <= names, found
    assert {"instagram", "facebook", "x", "linkedin"} <= set(listed.values())
    assert set(listed.values()) <= set(SANDBOX_HEALTH), found
    return listed


def test_tokens_lists_each_targets_credential_health(stack, first_run):
    from socialomega.tokens.health import STATUSES, UNHEALTHY

    result = socialomega("tokens", "--json")
    found = json.loads(result.stdout)
    platforms = social_targets(stack, found)
    assert all(item["status"] in STATUSES for item in found)
    assert {item["target"]: item["status"] for item in found} == {t: SANDBOX_HEALTH[p] for t, p in platforms.items()}
    assert result.exit_code == (1 if any(item["status"] in UNHEALTHY for item in found) else 0), result.stderr
    assert result.exit_code == 0

    table = socialomega("tokens")
    assert table.exit_code == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split()[:3] == ["TARGET", "PLATFORM", "STATUS"]
    assert {tuple(line.split()[:3]) for line in lines[1:]} == {(t, p, SANDBOX_HEALTH[p]) for t, p in platforms.items()}


def test_tokens_refresh_refreshes_nothing_that_is_not_due(stack, first_run):
    from typing import get_args

    from socialomega.tokens.health import Action

    result = socialomega("tokens", "refresh", "--json")
    found = json.loads(result.stdout)
    platforms = social_targets(stack, found)
    assert all(item["action"] in get_args(Action) for item in found)
    assert all(item["before"]["target"] == item["target"] and item["after"] is None for item in found)
    assert {item["target"]: item["action"] for item in found} == {t: SANDBOX_REFRESH[p] for t, p in platforms.items()}
    failed = [item for item in found if item["action"] in ("refused", "failed")]  # RefreshResult.failed
    assert result.exit_code == (1 if failed else 0), result.stderr
    assert result.exit_code == 0

    # The group's --target reaches the refresh: that target alone.
    one = socialomega("tokens", "--target", "linkedin", "refresh", "--json")
    assert one.exit_code == 0, one.stderr
    assert [(i["target"], i["action"]) for i in json.loads(one.stdout)] == [("linkedin", "not_due")]
    refused = socialomega("tokens", "--expiring-days", "3", "refresh")
    assert refused.exit_code == 2 and "--within-days" in refused.stderr


def test_replay_counts_the_logged_events_of_a_day_in_a_dry_run(stack, first_run):
    from datetime import UTC, datetime, timedelta

    today = datetime.now(UTC).date()
    since, today = (today - timedelta(days=1)).isoformat(), today.isoformat()  # the first run may be before midnight
    report = as_json("replay", "--from", since, "--to", today, "--dry-run")
    assert report["ok"] and report["dry_run"] and report["sent"] == {}
    assert report["selected"].get("AssetDetected", 0) >= 1 and report["selected"].get("PublishSucceeded", 0) >= 1
    table = socialomega("replay", "--from", since, "--to", today, "--dry-run", "--type", "PublishSucceeded")
    assert table.exit_code == 0 and "would re-send (dry run)" in table.stdout and "PublishSucceeded" in table.stdout
