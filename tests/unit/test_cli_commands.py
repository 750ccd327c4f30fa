"""The `socialomega` commands through click's runner, on an environment of fakes, and how an
environment is found (ops/environment.py)."""

import json
import sys

import pytest
from click.testing import CliRunner

from socialomega.cli import commands, health
from socialomega.cli import main as cli_main
from socialomega.core.targets import Target
from socialomega.ops import environment
from socialomega.ops.environment import Manifest, ManifestError, Where
from tests.unit.fakes import FakeStore
from tests.unit.test_cli_dead_letters import FakeSqs, message
from tests.unit.test_cli_status import _store

MANIFEST = {
    "schema_version": 1,
    "env": "tdev",
    "buckets": {"raw": "r", "processed": "p", "store": "s"},
    "consumers": {
        "processor": {"queue_url": "http://sqs/images", "dlq_url": "http://sqs/images-dlq", "service": "processor"},
        "publisher-rest": {
            "queue_url": "http://sqs/rest",
            "dlq_url": "http://sqs/rest-dlq",
            "service": "publisher",
            "target": "rest",
        },
    },
    "images_queue_url": "http://sqs/images",
    "publish_topic_arn": "arn:topic",
    "event_bus": "bus",
    "config_prefix": "/socialomega/tdev",
    "secret_prefix": "socialomega/tdev",
    "functions": None,
    "schedule_dlqs": {"poller-schedule": "http://sqs/schedule-dlq", "token-keeper-schedule": "http://sqs/keeper-dlq"},
    "alarm_topic_arn": None,
}


class FakeEnvironment(environment.Environment):
    def __init__(self, store=None, sqs=None, sns=None):
        super().__init__("tdev", Manifest.model_validate(MANIFEST), Where(region="eu-west-1"))
        self._store, self._clients = store or FakeStore(), {"sqs": sqs, "sns": sns}

    def client(self, service):
        return self._clients[service]

    def targets(self):
        return [Target(name=n, platform="rest") for n in ("gallery", "rest", "x")]

    def store(self):
        return self._store


def run(env, *args):
    return CliRunner().invoke(commands.cli, ["--env", "tdev", *args], obj=commands.State(resolved=env))


def test_status_prints_a_table_and_json_of_the_same_rows():
    env = FakeEnvironment(store=_store())
    table = run(env, "status", "--asset", "a1")
    assert table.exit_code == 0, table.output
    lines = table.output.splitlines()
    assert lines[0].split()[:4] == ["ASSET", "PHOTO", "TARGET", "STATE"]
    assert any("https://example.test/p/1" in line and "published" in line and "2.50" in line for line in lines)
    assert "1 published, 1 rejected, 1 retrying" in table.output
    as_json = run(env, "status", "--failed", "--json")
    assert [(r["target"], r["state"], r["reason"]) for r in json.loads(as_json.stdout)] == [
        ("gallery", "rejected", "too small"),
        ("x", "retrying", "auth: token revoked"),
    ]


def test_an_unknown_target_or_queue_is_a_usage_error_naming_the_choices():
    env = FakeEnvironment(store=_store(), sqs=FakeSqs([]))
    bad_target = run(env, "status", "--target", "nope")
    assert bad_target.exit_code == 2 and "gallery, rest, x" in bad_target.output
    bad_queue = run(env, "dlq", "show", "nope")
    assert bad_queue.exit_code == 2
    assert "processor, publisher-rest, poller-schedule, token-keeper-schedule" in bad_queue.output


def test_dlq_list_shows_every_dlq_with_depth_and_grouped_reasons():
    sqs = FakeSqs(
        [
            message(1, so_failure_reason="bad", so_failure_code="image_rejected"),
            message(2, so_failure_reason="bad", so_failure_code="image_rejected"),
        ]
    )
    result = run(FakeEnvironment(sqs=sqs), "--json", "dlq", "list")
    assert result.exit_code == 0, result.output
    found = {q["queue"]: q for q in json.loads(result.stdout)}
    # the fake answers every URL alike
    assert set(found) == {"processor", "publisher-rest", "poller-schedule", "token-keeper-schedule"}
    assert found["processor"]["reasons"] == [{"code": "image_rejected", "reason": "bad", "count": 2}]
    assert found["poller-schedule"]["redrivable"] is False and found["token-keeper-schedule"]["redrivable"] is False
    table = run(FakeEnvironment(sqs=sqs), "dlq", "list").output
    assert "2x image_rejected: bad" in table


def test_dlq_show_lists_messages_with_receive_counts_and_bodies_on_request():
    sqs = FakeSqs([message(1, so_failure_reason="bad", so_failure_code="c")])
    result = run(FakeEnvironment(sqs=sqs), "dlq", "show", "processor", "--json", "--body")
    (letter,) = json.loads(result.stdout)
    assert letter["receive_count"] == 1 and letter["asset_id"] == "a1" and '"asset_id": "a1"' in letter["body"]


@pytest.mark.parametrize("queue", ["poller-schedule", "token-keeper-schedule"])
def test_redrive_of_a_schedule_dlq_says_why_not_and_fails(queue):
    result = run(FakeEnvironment(sqs=FakeSqs([message(1)])), "dlq", "redrive", queue)
    assert result.exit_code == 1 and "no queue to move" in result.output


def test_redrive_reports_progress_on_stderr_and_the_end_on_stdout():
    sqs = FakeSqs([message(1), message(2)], moves_per_poll=2)
    result = CliRunner().invoke(
        commands.cli, ["dlq", "redrive", "processor"], obj=commands.State(resolved=FakeEnvironment(sqs=sqs))
    )
    assert result.exit_code == 0
    assert result.stdout.strip() == "processor: completed, 2 of 2 message(s) moved"
    assert "processor: running, 0 message(s) moved" in result.stderr


def test_parked_photos_table():
    from socialomega.poller.parking import PARKED_PREFIX

    store = FakeStore()
    store.put(
        f"{PARKED_PREFIX}lr/a9.json",
        {
            "status": "parked",
            "source": "lr",
            "asset_id": "a9",
            "version": "3",
            "attempts": 5,
            "parked_at": "2026-11-24T10:00:00+00:00",
            "reason": "HTTP 404",
        },
    )
    result = run(FakeEnvironment(store=store), "parked")
    assert result.output.splitlines()[1].split()[:4] == ["lr", "a9", "3", "5"] and "HTTP 404" in result.output


def test_a_missing_manifest_is_one_clear_line(monkeypatch):
    def missing(*_a, **_k):
        raise ManifestError("no environment 'tdev' on this account and region: SSM parameter ... does not exist")

    monkeypatch.setattr(environment.Environment, "resolve", classmethod(lambda cls, *a, **k: missing()))
    result = CliRunner().invoke(commands.cli, ["--env", "tdev", "status"], obj=commands.State())
    assert (
        result.exit_code == 1 and "Error: no environment 'tdev'" in result.output and "Traceback" not in result.output
    )


def test_without_click_the_command_says_how_to_install_it(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "click", None)
    assert cli_main.main(["status"]) == 2
    assert "pip install 'socialomega[ops]'" in capsys.readouterr().err


def test_an_environment_is_local_with_an_endpoint_or_when_named_local(monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.setenv("LOCALSTACK_ENDPOINT", "http://127.0.0.1:4999")
    assert Where.decide("local") == Where(None, "us-east-1", "http://127.0.0.1:4999")
    assert Where.decide("prod", region="eu-west-1") == Where(None, "eu-west-1", None)
    monkeypatch.setenv("AWS_REGION", "eu-central-1")
    assert Where.decide("prod", profile="ops").region == "eu-central-1" and not Where.decide("prod").local
    assert Where.decide("itest", endpoint_url="http://127.0.0.1:4566").local


def test_the_manifest_lists_every_dlq_and_refuses_nonsense():
    manifest = Manifest.model_validate(MANIFEST)
    assert [(q.name, q.source_url) for q in manifest.dead_letter_queues()] == [
        ("processor", "http://sqs/images"),
        ("publisher-rest", "http://sqs/rest"),
        ("poller-schedule", None),
        ("token-keeper-schedule", None),
    ]
    assert manifest.settings().store_bucket == "s" and manifest.settings().config_prefix == "/socialomega/tdev"
    with pytest.raises(ManifestError, match="not a valid operator manifest"):
        Manifest.parse('{"env": "x"}', "SSM parameter /socialomega/x/operations")
    shadowing = {**MANIFEST, "schedule_dlqs": {"processor": "http://sqs/other"}}
    with pytest.raises(ManifestError, match="processor named both as a consumer and as a schedule DLQ"):
        Manifest.parse(json.dumps(shadowing), "SSM parameter /socialomega/tdev/operations")


def test_doctor_health_checks_read_the_running_environment():
    from socialomega.core import store as keys

    store = FakeStore()
    store.put(keys.breaker_key("rest"), {"state": "open", "open_since": 0, "failures": 6, "last_reason": "HTTP 503"})
    store.put(keys.breaker_key("x"), {"state": "closed", "failures": 0})
    env = FakeEnvironment(store=store, sqs=FakeSqs([message(1)]))
    breakers = {c.name: c for c in health.breaker_checks(env)}
    assert breakers["breaker rest"].status == "warn" and "HTTP 503" in breakers["breaker rest"].detail
    assert breakers["breaker x"].status == "ok"
    queues = {c.name: c for c in health.queue_checks(env)}
    assert queues["dlq processor"].status == "warn" and "dlq show processor" in queues["dlq processor"].fix
    assert "dlq redrive" not in queues["dlq poller-schedule"].fix  # nothing to redrive it to
    assert queues["dlq token-keeper-schedule"].status == "warn"
    assert "dlq show token-keeper-schedule" in queues["dlq token-keeper-schedule"].fix
    assert "dlq redrive" not in queues["dlq token-keeper-schedule"].fix
    assert health.parked_check(env).status == "ok"


class FakeSns:
    def __init__(self, subscriptions):
        self.subscriptions = subscriptions

    def get_paginator(self, _name):
        outer = self

        class Pages:
            def paginate(self, TopicArn):
                return [{"Subscriptions": outer.subscriptions}]

        return Pages()


def test_an_alarm_topic_nobody_confirmed_fails_the_doctor():
    env = FakeEnvironment(sns=FakeSns([{"SubscriptionArn": "PendingConfirmation", "Protocol": "email"}]))
    env.manifest = env.manifest.model_copy(update={"alarm_topic_arn": "arn:alarms"})
    check = health.alarm_topic_check(env)
    assert check.status == "fail" and "1 pending confirmation" in check.detail and "confirmation e-mail" in check.fix
    env._clients["sns"] = FakeSns([{"SubscriptionArn": "arn:aws:sns:eu-west-1:1:alarms:abc", "Protocol": "email"}])
    assert health.alarm_topic_check(env).status == "ok"


def test_what_the_domain_code_prints_goes_to_stderr_and_stdout_stays_the_result():
    from socialomega.core import metrics

    class Chatty(FakeEnvironment):
        def store(self):
            metrics.emit({"Published": 1}, {"Service": "publisher"})  # an EMF line, as handlers write them
            return super().store()

    result = run(Chatty(store=_store()), "status", "--json")
    assert result.exit_code == 0
    assert len(json.loads(result.stdout)) == 6
    assert '"CloudWatchMetrics"' in result.stderr


def test_replay_takes_the_replays_own_options_and_refuses_a_bad_range():
    env = FakeEnvironment()
    bad = run(env, "replay", "--from", "2026-11-25", "--to", "2026-11-24")
    assert bad.exit_code == 2 and "socialomega replay: error: empty time range" in bad.stderr
    usage = run(env, "replay", "--help")
    assert usage.exit_code == 0 and "usage: socialomega replay" in usage.output and "--dry-run" in usage.output
    assert "--env" not in usage.output  # the group's --env finds the environment


# --- one deadline per command (--timeout) -------------------------------------------------------


class Clock:
    """time.monotonic for core/deadline.py that moves only when a fake call says so."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    from socialomega.core import deadline

    fake = Clock()
    monkeypatch.setattr(deadline.time, "monotonic", fake)
    return fake


class SlowSqs(FakeSqs):
    """Each depth read takes `seconds` of the fake clock."""

    def __init__(self, clock, seconds, messages=()):
        super().__init__(list(messages))
        self.clock, self.seconds, self.depths = clock, seconds, 0

    def get_queue_attributes(self, QueueUrl, AttributeNames):
        if AttributeNames != ["QueueArn"]:
            self.depths += 1
            self.clock.now += self.seconds
        return super().get_queue_attributes(QueueUrl, AttributeNames)


def test_dlq_list_stops_at_its_one_timeout_with_a_clear_message(clock):
    sqs = SlowSqs(clock, 40.0, [message(1, so_failure_reason="bad")])
    queues = len(FakeEnvironment().manifest.dead_letter_queues())
    result = run(FakeEnvironment(sqs=sqs), "--timeout", "50", "dlq", "list")
    assert result.exit_code == 1
    assert f"stopped at the --timeout of 50 s: listing the DLQs (2 of {queues} read) not finished" in result.output
    assert sqs.depths == 2  # the third DLQ was not started: one deadline for all, not 60 s each
    assert all(m["visible"] for m in sqs.messages.values())  # what was peeked is visible again
    within = run(FakeEnvironment(sqs=SlowSqs(clock, 20.0)), "dlq", "list")  # the default: 120 s
    assert within.exit_code == 0 and len(within.output.splitlines()) == 1 + queues, within.output


def test_every_command_runs_under_its_deadline_the_commands_timeout_winning(clock, monkeypatch):
    from socialomega.core import deadline
    from socialomega.tokens.health import TokenHealth

    seen = []

    def check_tokens(configuration, targets=None, expiring_days=14.0):
        seen.append(deadline.current().remaining())
        clock.now += 30  # the platform took all of it; the tokens package reports that target `unknown`
        return [TokenHealth("x", "x", "unknown", detail="not checked: x token refresh: only 0.0 s left")]

    monkeypatch.setattr("socialomega.tokens.check_tokens", check_tokens)
    monkeypatch.setattr(FakeEnvironment, "configuration", lambda self: None)
    result = run(FakeEnvironment(), "--timeout", "300", "tokens", "--timeout", "25")
    assert seen == [25.0]
    assert result.exit_code == 1 and result.stdout.splitlines()[1].split()[:3] == ["x", "x", "unknown"]
    assert "stopped at the --timeout of 25 s: the targets it did not reach show `unknown`" in result.stderr
    run(FakeEnvironment(), "tokens")
    assert seen[-1] == commands.DEFAULT_TIMEOUT

    followed = []

    def redrive(sqs, queue, deadline, progress):
        followed.append(deadline.remaining())
        return dead_letters.MoveProgress(queue.name, "RUNNING", moved=1, to_move=3, started_here=True)

    from socialomega.cli import dead_letters

    monkeypatch.setattr(dead_letters, "redrive", redrive)
    env = FakeEnvironment(sqs=FakeSqs([]))
    assert run(env, "--timeout", "7", "dlq", "redrive", "processor").exit_code == 1  # still running: not done
    moving = run(env, "dlq", "redrive", "processor", "--timeout", "9")
    assert followed == [7.0, 9.0]
    assert "stopped at the --timeout of 9 s: the move task goes on in SQS" in moving.stderr
    bad = run(env, "--timeout", "0", "status")
    assert bad.exit_code == 2 and "must be more than 0 seconds" in bad.output


def test_status_and_doctor_stop_at_the_deadline(clock):
    from socialomega.core import store as keys

    class SlowStore(FakeStore):
        def get(self, key):
            clock.now += 20 if key.startswith("metadata/assets/") else 0
            return super().get(key)

    store = SlowStore()
    for asset in ("a1", "a2", "a3", "a4"):
        store.put(keys.asset_key(asset), {"asset_id": asset, "latest_version": "v1", "versions": {"v1": {}}})
    stopped = CliRunner().invoke(
        commands.cli,
        ["--timeout", "30", "status"],
        obj=commands.State(resolved=FakeEnvironment(store=store)),
    )
    assert stopped.exit_code == 1 and "stopped at the --timeout of 30 s: reading the state of 4 photo(s)" in (
        stopped.output
    )

    class Sts:
        def get_caller_identity(self):
            clock.now += 60  # an STS answer that took the whole --timeout
            return {"Account": "123456789012", "Arn": "arn:aws:iam::123456789012:user/ops"}

    class Configuration:
        def parameter(self, name):
            return []

    env = FakeEnvironment(sqs=FakeSqs([]))
    env._clients["sts"] = Sts()
    env.configuration = lambda: Configuration()
    result = run(env, "--timeout", "45", "doctor")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[-3] == (
        "FAIL timeout: stopped before checking the lambda concurrency: the command's deadline had passed"
    )
    assert lines[-2].strip() == "-> run it again with a longer one: socialomega --env tdev --timeout SECONDS doctor"
    assert lines[-1] == "doctor: 1 failed"
    assert [line.split()[:2] for line in lines[:2]] == [["ok", "region:"], ["ok", "credentials:"]]
    assert any(line.startswith("WARN functions:") for line in lines)  # made before the deadline: kept


# --- tokens refresh takes the group's --target --------------------------------------------------


def test_tokens_refresh_takes_the_groups_targets_and_refuses_its_expiring_days(monkeypatch):
    from socialomega.tokens.health import RefreshResult, TokenHealth

    asked = []

    def refresh_tokens(configuration, within_days, targets, force):
        asked.append((targets, within_days))
        return [RefreshResult(t, "x", "not_due", "later", TokenHealth(t, "x", "ok")) for t in targets or ["all"]]

    monkeypatch.setattr("socialomega.tokens.refresh_tokens", refresh_tokens)
    monkeypatch.setattr(FakeEnvironment, "configuration", lambda self: None)
    env = FakeEnvironment()
    result = run(env, "tokens", "--target", "x", "refresh", "--target", "rest", "--within-days", "3")
    assert result.exit_code == 0, result.output
    assert asked == [(["x", "rest"], 3.0)]
    assert run(env, "tokens", "refresh").exit_code == 0 and asked[-1] == (None, 14.0)
    refused = run(env, "tokens", "--expiring-days", "30", "refresh")
    assert refused.exit_code == 2 and "`tokens refresh` takes its own: --within-days" in refused.output
    assert len(asked) == 2  # nothing was refreshed


def test_doctor_prints_the_preflights_check_list_with_whole_fixes():
    from socialomega.ops import preflight
    from socialomega.ops.preflight import Check

    fix = "aws secretsmanager put-secret-value --secret-id socialomega/tdev/rest --secret-string " + "x" * 150
    text = preflight.render([Check("region", "ok", "eu-west-1"), Check("secret rest", "fail", "lacks api_key", fix)])
    assert text.splitlines() == [
        "ok   region: eu-west-1",
        "FAIL secret rest: lacks api_key",
        f"     -> {fix}",  # a command to copy: never cut
        "preflight: 1 failed",
    ]
    assert preflight.render([Check("region", "ok", "eu-west-1")], "doctor").endswith("doctor: ok")


def test_the_region_of_an_environment_is_core_aws_regions_and_a_local_stacks_never_a_profiles(tmp_path, monkeypatch):
    config = tmp_path / "config"
    config.write_text("[profile ops]\nregion = eu-north-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    assert Where.decide("prod", profile="ops") == Where("ops", "eu-north-1", None)
    assert Where.decide("itest", profile="ops", endpoint_url="http://127.0.0.1:4566").region == "us-east-1"
    env = FakeEnvironment()
    env.where = Where("ops", None, None)

    class NoCredentials:
        def get_caller_identity(self):
            from botocore.exceptions import NoCredentialsError

            raise NoCredentialsError()

    env._clients["sts"] = NoCredentials()
    region, credentials = health.doctor(env)
    assert region == health.Check("region", "ok", "eu-north-1") and credentials.status == "fail"


# --- schedule ----------------------------------------------------------------------------------


class ScheduledEnvironment(FakeEnvironment):
    def targets(self):
        slots = {"slots": ["09:00", "18:00"], "timezone": "Europe/Berlin"}
        return [Target(name="rest", platform="rest", schedule=slots)]


def scheduled_store():
    from datetime import UTC, datetime, timedelta

    from socialomega.core.store import asset_key
    from socialomega.scheduling.queue import SlotQueue

    store = FakeStore()
    queue = SlotQueue(store)
    soon = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    for n, asset in enumerate(("a1", "a2")):
        store.put(asset_key(asset), {"asset_id": asset, "metadata": {"title": f"Photo {n}"}})
        queue.reserve(
            "rest",
            soon + timedelta(hours=n),
            {"asset_id": asset, "version": "v1", "state": "waiting", "envelope": {}, "why": "schedule"},
            slot_instant=True,
        )
    return store


def test_schedule_lists_waiting_posts_and_cancels_one():
    env = ScheduledEnvironment(store=scheduled_store())
    shown = run(env, "schedule", "--json")
    assert shown.exit_code == 0, shown.output
    rows = json.loads(shown.output)
    assert [r["asset_id"] for r in rows] == ["a1", "a2"] and rows[0]["title"] == "Photo 0"
    assert rows[0]["local"] != rows[0]["at"]  # shown in the target's own time zone too
    cancelled = run(env, "schedule", "cancel", "a1")
    assert cancelled.exit_code == 0 and "cancelled on: rest" in cancelled.output
    assert [r["asset_id"] for r in json.loads(run(env, "schedule", "--json").output)] == ["a2"]
    assert run(env, "schedule", "cancel", "a1").exit_code == 1  # nothing waits for it any more


def test_schedule_move_needs_a_time_with_an_offset():
    env = ScheduledEnvironment(store=scheduled_store())
    assert run(env, "schedule", "move", "a2", "--to", "2026-12-24T09:00").exit_code == 2
    moved = run(env, "schedule", "move", "a2", "--to", "2026-12-24T09:00+01:00", "--json")
    assert moved.exit_code == 0, moved.output
    assert json.loads(moved.output)[0]["at"].startswith("2026-12-24T08:00")
