import io
import json

import pytest

from socialomega.core import logging as solog
from socialomega.core.envelope import new_event


@pytest.fixture(autouse=True)
def _logs_back_to_stdout():
    """These tests send the logs to a buffer; the tests after them get stdout back."""
    yield
    solog.configure(stream=solog.STDOUT)


def capture(**fields) -> dict:
    stream = io.StringIO()
    solog.configure(stream=stream)
    solog.get_logger().info("something", **fields)
    return json.loads(stream.getvalue().splitlines()[-1])


def test_secret_keys_and_values_never_reach_the_log():
    line = capture(
        access_token="abc123",
        headers={"Authorization": "Bearer abc123", "Accept": "json"},
        url="https://host/x?access_token=abc123&x=1",
        note="sent Bearer abc123 to host",
        client_secret="s3cr3t",
    )
    text = json.dumps(line)
    assert "abc123" not in text and "s3cr3t" not in text
    assert line["headers"]["Accept"] == "json"
    assert line["url"] == "https://host/x?access_token=[REDACTED]&x=1"


def test_bound_event_fields_are_on_every_line():
    stream = io.StringIO()
    solog.configure(stream=stream)
    event = new_event("AssetDetected", "asset-9", {}, correlation_id="corr-9")
    solog.bind_event(event, "processor")
    try:
        solog.get_logger().info("one")
        solog.get_logger().warning("two")
    finally:
        solog.clear()
    lines = [json.loads(x) for x in stream.getvalue().splitlines()]
    assert [(x["correlation_id"], x["asset_id"], x["event_type"], x["service"]) for x in lines] == [
        ("corr-9", "asset-9", "AssetDetected", "processor")
    ] * 2


ROOT_A = "1-5759e988-bd862e3fe1be46a994272793"
ROOT_B = "1-6759e988-cd862e3fe1be46a994272794"


def test_every_line_of_an_invocation_carries_its_trace_id_request_id_and_cold_start(monkeypatch):
    """awslambdaric sets _X_AMZN_TRACE_ID anew before each invocation and deletes it when an
    invocation has none; the consumer clears the bound event fields before each record."""
    from socialomega.core import tracing
    from socialomega.local.lambda_context import LambdaContext

    stream = io.StringIO()
    solog.configure(stream=stream)
    monkeypatch.delenv(tracing.DAEMON_ENV, raising=False)
    monkeypatch.delenv("AWS_LAMBDA_INITIALIZATION_TYPE", raising=False)

    @tracing.traced_handler("logging-test")
    def handler(event, context):
        solog.get_logger().info("before_records")
        solog.bind_event(new_event("AssetDetected", "asset-1", {}), "logging-test")
        solog.get_logger().info("in_a_record")
        solog.clear()  # as the consumer does between records
        solog.get_logger().info("after_records", trace_id="kept when a line sets its own")

    monkeypatch.setenv(tracing.TRACE_ENV, f"Root={ROOT_A};Parent=53995c3f42cd8ad8;Sampled=1")
    handler({}, LambdaContext("f", 30, aws_request_id="req-1"))
    monkeypatch.setenv(tracing.TRACE_ENV, f"Root={ROOT_B};Parent=63995c3f42cd8ad8;Sampled=0")
    handler({}, LambdaContext("f", 30, aws_request_id="req-2"))
    monkeypatch.delenv(tracing.TRACE_ENV)
    handler({}, None)
    solog.get_logger().info("outside")
    lines = [json.loads(x) for x in stream.getvalue().splitlines()]
    assert [(x["event"], x.get("trace_id"), x.get("aws_request_id"), x.get("cold_start")) for x in lines] == [
        ("before_records", ROOT_A, "req-1", True),
        ("in_a_record", ROOT_A, "req-1", True),
        ("after_records", "kept when a line sets its own", "req-1", True),
        ("before_records", ROOT_B, "req-2", False),  # an unsampled trace still has its id
        ("in_a_record", ROOT_B, "req-2", False),
        ("after_records", "kept when a line sets its own", "req-2", False),
        ("before_records", None, None, False),  # locally: no trace header, no context
        ("in_a_record", None, None, False),
        ("after_records", "kept when a line sets its own", None, False),
        ("outside", None, None, None),
    ]
    assert lines[1]["asset_id"] == "asset-1"


def test_provisioned_concurrency_is_not_a_cold_start(monkeypatch):
    from socialomega.core import tracing

    stream = io.StringIO()
    solog.configure(stream=stream)
    monkeypatch.setenv("AWS_LAMBDA_INITIALIZATION_TYPE", "provisioned-concurrency")
    with tracing.invocation("logging-provisioned", None):
        solog.get_logger().info("first")
    assert json.loads(stream.getvalue())["cold_start"] is False


def test_invocations_running_at_once_keep_their_own_fields():
    """The local runtime runs several functions' invocations in one process, each in a thread
    with a fresh contextvars context."""
    import contextvars
    import threading

    from socialomega.core import tracing
    from socialomega.local.lambda_context import LambdaContext

    stream = io.StringIO()
    solog.configure(stream=stream)
    both_inside = threading.Barrier(2, timeout=10)

    def invoke(request_id: str) -> None:
        with tracing.invocation("logging-threads", LambdaContext("f", 30, aws_request_id=request_id)):
            both_inside.wait()  # each logs while the other's invocation is open
            solog.get_logger().info("working", mine=request_id)

    threads = [threading.Thread(target=contextvars.Context().run, args=(invoke, f"req-{n}")) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    lines = [json.loads(x) for x in stream.getvalue().splitlines()]
    assert sorted((x["mine"], x["aws_request_id"]) for x in lines) == [("req-0", "req-0"), ("req-1", "req-1")]


def test_a_metric_line_never_lands_inside_a_log_line(monkeypatch):
    """`print` writes a log line and its newline in two calls; an EMF line another thread emits
    in between must still come out as a line of its own (else CloudWatch drops the metric)."""
    import sys
    import threading

    from socialomega.core import metrics

    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    half_written, emitted = threading.Event(), threading.Event()

    def log_line() -> None:
        solog.STDOUT.write('{"event": "photo_processed"}')  # what print() writes first
        half_written.set()
        emitted.wait(5)
        solog.STDOUT.write("\n")

    writer = threading.Thread(target=log_line)
    writer.start()
    half_written.wait(5)
    metrics.emit({"Published": 1}, {"Target": "rest"})
    emitted.set()
    writer.join(5)
    lines = out.getvalue().splitlines()
    assert len(lines) == 2, lines
    assert json.loads(lines[0])["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"] == "Published"
    assert json.loads(lines[1]) == {"event": "photo_processed"}


@pytest.mark.parametrize(
    "text, secret",
    [
        # Meta's renewal and inspection put the token in the query (tokens/meta.py): the names
        # end in `token` after `_`, where `\b` never fires.
        ("GET /v25.0/oauth/access_token?grant_type=fb_exchange_token&fb_exchange_token=EAAfbx123456", "EAAfbx123456"),
        ("GET /v25.0/debug_token?input_token=EAAinput98765&x=1", "EAAinput98765"),
        ('{"input_token": "EAAquoted4321"}', "EAAquoted4321"),
        ("X-Amz-Credential=AKIAEXAMPLE77%2F", "AKIAEXAMPLE77"),
        ("my-api-key=mk-value-55", "mk-value-55"),
        ("db_password=pw-value-66", "pw-value-66"),
    ],
)
def test_a_name_ending_in_token_secret_password_or_key_is_masked_whatever_its_prefix(text, secret):
    assert secret not in solog.redact(text)
    assert secret not in json.dumps(capture(note=text))


def test_ordinary_parameters_stay_readable():
    text = "status_code=500&grant_type=fb_exchange_token&limit=25&code=auth-code-77"
    assert solog.redact(text) == "status_code=500&grant_type=fb_exchange_token&limit=25&code=[REDACTED]"
