"""The handlers' EMF lines, each checked against CloudWatch's embedded metric format
specification (docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/
CloudWatch_Embedded_Metric_Format_Specification.html): the processor, publisher and webhook
handlers run over fakes, every line they print that names `_aws` is validated, and the metrics
each outcome must produce are there with their dimensions. Without Lambda the same lines are
plain stdout lines: nothing here runs in Lambda, and nothing fails."""

from __future__ import annotations

import io
import json
import math
import time
from typing import Any

import pytest

from socialomega.core import config, metrics
from socialomega.core.breaker import BreakerOpen
from socialomega.core.envelope import new_event
from socialomega.core.http import Outcome
from socialomega.core.targets import Target
from socialomega.processor import handler as processor_handler
from socialomega.processor.service import ProcessorService
from socialomega.publishers import handler as publisher_handler
from socialomega.publishers.base import PublishResult
from socialomega.publishers.claims import Publications
from socialomega.publishers.service import PublishService
from socialomega.sandbox import webhooks as platform_side
from socialomega.webhooks import handler as webhook_handler
from socialomega.webhooks.service import WebhookService
from socialomega.webhooks.signatures import WebhookKeys
from tests.unit.fakes import FakeStore, MemoryBlobs, RecordedQueue, RecordingSender
from tests.unit.test_handlers import detected, jpeg, sqs_event

MAX_LINE_BYTES = 256 * 1024  # the older, stricter of the documented event sizes (now 1 MB)


def emf_problems(line: str) -> list[str]:
    """What makes `line` (one stdout line) an invalid EMF document; [] when it is valid."""
    try:
        doc = json.loads(line)
    except ValueError as exc:
        return [f"not one JSON object on its own line: {exc}"]
    if not isinstance(doc, dict):
        return ["the root is not an object"]
    problems: list[str] = []
    if len(line.encode()) > MAX_LINE_BYTES:
        problems.append("larger than a log event may be")
    meta = doc.get("_aws")
    if not isinstance(meta, dict):
        return ["no _aws metadata object"]
    stamp = meta.get("Timestamp")
    if not isinstance(stamp, int) or isinstance(stamp, bool) or abs(stamp - time.time() * 1000) > 86_400_000:
        problems.append(f"Timestamp {stamp!r} is not epoch milliseconds of about now")
    directives = meta.get("CloudWatchMetrics")
    if not isinstance(directives, list) or not directives:
        return [*problems, "CloudWatchMetrics is not a non-empty list"]
    for directive in directives:
        if not isinstance(directive, dict):
            problems.append("a directive is not an object")
            continue
        namespace = directive.get("Namespace")
        if not isinstance(namespace, str) or not 1 <= len(namespace) <= 255:
            problems.append(f"Namespace {namespace!r}")
        dimension_sets = directive.get("Dimensions")
        if not isinstance(dimension_sets, list):
            problems.append("Dimensions is not an array of dimension sets")
            dimension_sets = []
        for dimension_set in dimension_sets:
            if not isinstance(dimension_set, list) or len(dimension_set) > metrics.MAX_DIMENSIONS:
                problems.append(f"dimension set {dimension_set!r} is not an array of at most 30 names")
                continue
            for name in dimension_set:
                value = doc.get(name) if isinstance(name, str) else None
                if not isinstance(value, str):
                    problems.append(f"dimension {name!r} is not a top-level string member")
                elif not value.strip() or len(value) > 1024 or not value.isascii():
                    problems.append(f"dimension {name!r} has value {value!r}: 1 to 1024 ASCII characters")
        definitions = directive.get("Metrics")
        if not isinstance(definitions, list) or not 1 <= len(definitions) <= metrics.MAX_METRICS:
            problems.append("Metrics is not an array of 1 to 100 metric definitions")
            definitions = []
        for definition in definitions:
            name = definition.get("Name") if isinstance(definition, dict) else None
            if not isinstance(name, str) or not 1 <= len(name) <= 255:
                problems.append(f"metric definition {definition!r} has no name")
                continue
            if definition.get("Unit", "None") not in metrics.UNITS:
                problems.append(f"{name}: unit {definition.get('Unit')!r} is not one CloudWatch knows")
            value = doc.get(name)
            values = value if isinstance(value, list) else [value]
            if not values or len(values) > 100 or not all(_number(v) for v in values):
                problems.append(f"{name}: value {value!r} is not a number or an array of numbers")
    return problems


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def emf_lines(text: str) -> list[dict[str, Any]]:
    """Every line of `text` that names `_aws`, each one checked: a test fails on the first
    invalid line, with what is wrong."""
    found = []
    for line in text.splitlines():
        if "_aws" in line or "CloudWatchMetrics" in line:
            assert emf_problems(line) == [], line
            found.append(json.loads(line))
    return found


def emitted(docs: list[dict[str, Any]]) -> dict[tuple[str, tuple[tuple[str, str], ...]], list[float]]:
    """(metric, its dimensions) -> the values emitted."""
    seen: dict[tuple[str, tuple[tuple[str, str], ...]], list[float]] = {}
    for doc in docs:
        for directive in doc["_aws"]["CloudWatchMetrics"]:
            assert directive["Namespace"] == metrics.NAMESPACE
            for dimension_set in directive["Dimensions"]:
                dims = tuple((name, doc[name]) for name in dimension_set)
                for definition in directive["Metrics"]:
                    assert definition["Name"] in metrics.METRICS, f"{definition['Name']} is not in metrics.METRICS"
                    assert definition["Unit"] == metrics.METRICS[definition["Name"]]
                    seen.setdefault((definition["Name"], dims), []).append(doc[definition["Name"]])
    return seen


# --- the validator itself can fail ------------------------------------------------------------


def valid() -> dict[str, Any]:
    return metrics.emf_line({"Published": 1}, {"Target": "rest"})


@pytest.mark.parametrize(
    ("spoil", "problem"),
    [
        (lambda d: d.pop("_aws"), "no _aws"),
        (lambda d: d["_aws"].update(Timestamp=time.time()), "Timestamp"),
        (lambda d: d["_aws"].update(CloudWatchMetrics=[]), "CloudWatchMetrics"),
        (lambda d: d.pop("Target"), "dimension 'Target'"),
        (lambda d: d.update(Target=7), "dimension 'Target'"),
        (lambda d: d.update(Target="caf\u00e9"), "ASCII"),
        (lambda d: d["_aws"]["CloudWatchMetrics"][0].update(Dimensions=[[f"D{n}" for n in range(31)]]), "30"),
        (lambda d: d["_aws"]["CloudWatchMetrics"][0]["Metrics"][0].update(Unit="Photos"), "unit"),
        (lambda d: d.update(Published="1"), "not a number"),
        (lambda d: d.update(Published=True), "not a number"),
        (lambda d: d.pop("Published"), "not a number"),
    ],
)
def test_the_validator_refuses_what_the_specification_refuses(spoil, problem):
    doc = valid()
    assert emf_problems(json.dumps(doc)) == []
    spoil(doc)
    assert any(problem in found for found in emf_problems(json.dumps(doc)))
    assert emf_problems("metric: " + json.dumps(valid()))  # text before the object


def test_emit_writes_one_valid_line_and_never_raises():
    out = io.StringIO()
    metrics.emit({"VariantBytes": 1234, "Broken": math.nan}, {"Target": "caf\u00e9 \u2603"}, stream=out, note="x")
    [doc] = emf_lines(out.getvalue())
    assert doc["VariantBytes"] == 1234 and "Broken" not in doc and doc["Target"] == "caf? ?"
    assert doc["_aws"]["CloudWatchMetrics"][0]["Metrics"] == [{"Name": "VariantBytes", "Unit": "Bytes"}]
    metrics.emit({"Broken": math.inf}, {"Target": "x"}, stream=out)  # nothing left to emit: no line
    assert len(out.getvalue().splitlines()) == 1
    closed = io.StringIO()
    closed.close()
    metrics.emit({"Published": 1}, {"Target": "x"}, stream=closed)  # a metric never fails the work it counts


def test_latency_is_measured_between_iso_times_and_left_out_when_unknown():
    assert metrics.seconds_between("2026-11-24T10:00:00+00:00", "2026-11-24T10:02:30+00:00") == 150.0
    assert metrics.seconds_between("2026-11-24T10:00:00Z", "2026-11-24T11:00:00+01:00") == 0.0
    assert metrics.seconds_between("2026-11-24T10:00:00", "2026-11-24T10:00:01+00:00") == 1.0  # no zone: UTC
    assert metrics.seconds_between(None, "2026-11-24T10:00:00+00:00") is None
    assert metrics.seconds_between("yesterday", "2026-11-24T10:00:00+00:00") is None


def test_the_dashboard_charts_every_metric_in_the_namespace_the_code_emits():
    from pathlib import Path

    dashboard = (Path(__file__).parents[2] / "terraform/envs/aws/dashboard.tf").read_text()
    assert f'dashboard_namespace = "{metrics.NAMESPACE}"' in dashboard
    assert [name for name in metrics.METRICS if f'"{name}"' not in dashboard] == []


# --- the handlers ------------------------------------------------------------------------------


def test_the_processor_handler_reports_build_time_bytes_skips_rejections_and_dead_letters(monkeypatch, capsys):
    raw = MemoryBlobs("so-raw", {"raw/a1/v1.jpg": jpeg(), "raw/bad/v1.jpg": b"\xff\xd8 not a jpeg"})
    targets = [
        Target(name="rest", platform="rest"),
        Target(name="big", platform="rest", spec={"min_width": 3000, "max_width": 4000}),
    ]
    service = ProcessorService(raw, MemoryBlobs("so-processed"), FakeStore(), RecordingSender(), "t", lambda: targets)
    queue = RecordedQueue()
    monkeypatch.setattr(processor_handler, "_built", lambda: (service, queue))
    capsys.readouterr()
    processor_handler.handler(sqs_event(detected(), detected("raw/bad/v1.jpg", "bad")), None)
    seen = emitted(emf_lines(capsys.readouterr().out))
    [build_ms] = seen[("VariantBuildTime", (("Service", "processor"),))]
    assert build_ms > 0
    [size] = seen[("VariantBytes", (("Target", "rest"),))]
    assert size == len(service.variants.objects["processed/a1/v1/rest.jpg"])
    assert seen[("VariantsSkipped", (("Target", "big"),))] == [1]
    assert seen[("PhotosRejected", (("Service", "processor"),))] == [1]
    assert seen[("RecordsDeadLettered", (("Service", "processor"),))] == [1]


class OutcomeByAsset:
    """A platform answering each photo as scripted."""

    platform, retry_is_safe = "rest", True

    def __init__(self, outcomes: dict[str, Outcome]) -> None:
        self.outcomes = outcomes

    def publish(self, request, images, progress):
        return PublishResult(self.outcomes[request.asset_id], remote_id="p-" + request.asset_id)


def publish_requested(asset: str, detected_at: str | None = "2026-11-24T10:00:00+00:00"):
    return new_event(
        "PublishRequested",
        asset,
        {
            "target": "rest",
            "platform": "rest",
            "version": "v1",
            "variant": {"bucket": "so-processed", "key": f"processed/{asset}/v1/rest.jpg", "width": 10, "height": 10},
            "metadata": {"detected_at": detected_at} if detected_at else {},
        },
    )


def test_the_publisher_handler_reports_each_outcome_per_target(monkeypatch, capsys):
    platform = OutcomeByAsset(
        {
            "ok": Outcome("ok", 201),
            "undated": Outcome("ok", 201),
            "bad": Outcome("permanent", 400, "400", "caption too long"),
            "quota": Outcome("deferred", 429, "quota", "daily quota used", retry_after=600),
            "slow": Outcome("retryable", 503, "503", "try later", retry_after=5),
            "token": Outcome("auth", 401, "401", "token expired"),
        }
    )
    service = PublishService(
        Publications(FakeStore()),
        None,
        RecordingSender(),
        "bus",
        lambda name: (platform, {}),
        own_target="rest",
        variants_bucket="so-processed",
    )
    queue = RecordedQueue()
    monkeypatch.setattr(publisher_handler, "_built", lambda target: (service, queue))
    capsys.readouterr()
    with config.function_environment({"SO_PUBLISHER_TARGET": "rest"}):
        answer = publisher_handler.handler(
            sqs_event(
                *(publish_requested(a) for a in ("ok", "bad", "quota", "slow", "token")),
                publish_requested("undated", detected_at=None),
            ),
            None,
        )
    assert answer == {"batchItemFailures": []}
    seen = emitted(emf_lines(capsys.readouterr().out))
    rest = (("Target", "rest"),)
    assert seen[("Published", rest)] == [1, 1] and seen[("Failed", rest)] == [1] and seen[("Unconfirmed", rest)] == [0]
    [latency] = seen[("DetectionToPublishLatency", rest)]  # none for the photo without a detection time
    assert latency > 0  # from the photo's detection (2026-11-24 10:00 UTC) to its publication now
    assert seen[("Deferred", rest)] == [1] and seen[("PublishRetries", rest)] == [1]
    assert seen[("CredentialsRejected", rest)] == [1]
    assert seen[("RecordsRetried", (("Service", "publisher"),))] == [1]
    assert seen[("RecordsDeadLettered", (("Service", "publisher"),))] == [1]  # the rejected token


def test_an_open_breaker_reports_its_age_and_a_deferral(monkeypatch, capsys):
    class Open:
        target = "rest"

        def admit(self):
            raise BreakerOpen("rest", 30.0, {"state": "open", "open_since": time.time() - 120})

    service = PublishService(
        Publications(FakeStore()), None, RecordingSender(), "bus", lambda name: (OutcomeByAsset({}), {})
    )
    service.breaker_for = lambda target: Open()
    monkeypatch.setattr(publisher_handler, "_built", lambda target: (service, RecordedQueue()))
    capsys.readouterr()
    with config.function_environment({"SO_PUBLISHER_TARGET": "rest"}):
        publisher_handler.handler(sqs_event(publish_requested("waits", detected_at=None)), None)
    seen = emitted(emf_lines(capsys.readouterr().out))
    [open_seconds] = seen[("BreakerOpenSeconds", (("Target", "rest"),))]
    assert open_seconds >= 120 and seen[("Deferred", (("Target", "rest"),))] == [1]


def test_the_webhook_handler_reports_verifications_engagement_and_its_own_5xx(monkeypatch, capsys):
    keys = WebhookKeys.from_secret(platform_side.sandbox_secret())
    store, sender = FakeStore(), RecordingSender()
    store.put(
        "posts/facebook/104857600000001_5.json",
        {
            "platform": "facebook",
            "remote_id": "104857600000001_5",
            "target": "facebook",
            "asset_id": "asset-1",
            "version": "v1",
            "correlation_id": "corr-1",
        },
    )
    service = WebhookService(store, sender, "bus", lambda: keys)
    monkeypatch.setattr(webhook_handler, "_service", lambda: service)

    def post(body: bytes, signature: str | None = None) -> dict:
        name, value = platform_side.signature_header("facebook", body)
        return {
            "httpMethod": "POST",
            "pathParameters": {"platform": "facebook"},
            "headers": {name: signature or value},
            "body": body.decode(),
        }

    like = json.dumps(platform_side.notification("facebook", "like", "104857600000001_5")).encode()
    challenge = {
        "httpMethod": "GET",
        "pathParameters": {"platform": "facebook"},
        "queryStringParameters": {
            "hub.mode": "subscribe",
            "hub.challenge": "1158201444",
            "hub.verify_token": platform_side.META_VERIFY_TOKEN,
        },
    }
    capsys.readouterr()
    answers = [
        webhook_handler.handler(challenge, None),
        webhook_handler.handler(post(like), None),
        webhook_handler.handler(post(like, signature="sha256=" + "0" * 64), None),
        webhook_handler.handler(post(b'{"object": "page", "entry": "not a list"}'), None),
        webhook_handler.handler({"httpMethod": "GET", "pathParameters": {"platform": "nowhere"}}, None),
    ]
    sender.fail_bus = 1
    answers.append(webhook_handler.handler(post(like), None))
    assert [a["statusCode"] for a in answers] == [200, 200, 401, 200, 404, 500]
    seen = emitted(emf_lines(capsys.readouterr().out))
    facebook = (("Platform", "facebook"),)
    assert seen[("WebhookAccepted", facebook)] == [1, 1, 1, 1]  # the challenge and three signed bodies
    assert seen[("WebhookRejected", facebook)] == [1]
    assert seen[("EngagementsRecorded", facebook)] == [1] and seen[("EngagementsUnmatched", facebook)] == [0]
    assert seen[("WebhookUnreadable", facebook)] == [1]
    assert seen[("WebhookServerErrors", (("Service", "webhooks"),))] == [1]
    assert not any(dims == (("Platform", "nowhere"),) for _, dims in seen)  # no metric per made-up name
