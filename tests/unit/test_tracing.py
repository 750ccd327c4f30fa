"""X-Ray subsegments (core/tracing.py) as the daemon receives them: a UDP socket on loopback
plays the daemon, the handlers, a botocore client and the HTTP policy do the work, and every
datagram is read back: the daemon's header line, a well-formed subsegment document, the
trace id and parent Lambda gave, the annotations, and no secret anywhere. Without a trace
header, or not sampled, or without a daemon address, nothing is sent and nothing fails."""

from __future__ import annotations

import io
import json
import re
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
from botocore.stub import Stubber

from socialomega.core import aws, config, tracing
from socialomega.core import logging as solog
from socialomega.core.http import ApiClient, DeadlineSession
from socialomega.local.lambda_context import LambdaContext
from socialomega.publishers import handler as publisher_handler
from socialomega.publishers.claims import Publications
from socialomega.publishers.service import PublishService
from tests.unit.fakes import FakeStore, RecordedQueue, RecordingSender
from tests.unit.test_emf import OutcomeByAsset, publish_requested
from tests.unit.test_handlers import sqs_event

ROOT = "1-5759e988-bd862e3fe1be46a994272793"
FUNCTION_SEGMENT = "53995c3f42cd8ad8"
HEADER = f"Root={ROOT};Parent={FUNCTION_SEGMENT};Sampled=1;Lineage=a87bd80c:0"
TOKEN = "EAAGm0PX4ZCpsBAtok3n"  # what must never reach a trace
SUBSEGMENT_FIELDS = {"name", "id", "trace_id", "parent_id", "type", "start_time", "end_time"}
OPTIONAL_FIELDS = {"namespace", "annotations", "aws", "http", "cause", "error", "fault", "throttle"}


class Daemon:
    """The X-Ray daemon's UDP port, on loopback."""

    def __init__(self) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self.socket.getsockname()[1]}"
        self.raw: list[bytes] = []

    def received(self) -> list[dict[str, Any]]:
        """Every datagram sent so far (loopback delivers a datagram before `sendto` returns)."""
        self.socket.setblocking(False)
        while True:
            try:
                self.raw.append(self.socket.recv(65536))
            except BlockingIOError:
                break
        docs = []
        for datagram in self.raw:
            header, newline, body = datagram.partition(b"\n")
            assert json.loads(header) == {"format": "json", "version": 1} and newline
            doc = json.loads(body)
            assert set(doc) >= SUBSEGMENT_FIELDS and set(doc) <= SUBSEGMENT_FIELDS | OPTIONAL_FIELDS, doc
            assert doc["type"] == "subsegment" and doc["trace_id"] == ROOT
            assert re.fullmatch("[0-9a-f]{16}", doc["id"]) and re.fullmatch("[0-9a-f]{16}", doc["parent_id"])
            assert doc["start_time"] <= doc["end_time"]
            for key, value in doc.get("annotations", {}).items():
                assert re.fullmatch(r"\w+", key) and isinstance(value, str | int | float | bool)
            docs.append(doc)
        assert TOKEN.encode() not in b"".join(self.raw)
        return docs

    def close(self) -> None:
        self.socket.close()


@pytest.fixture
def daemon(monkeypatch) -> Iterator[Daemon]:
    listening = Daemon()
    monkeypatch.setenv(tracing.DAEMON_ENV, listening.address)
    monkeypatch.setenv(tracing.TRACE_ENV, HEADER)
    yield listening
    listening.close()


@pytest.fixture
def logged() -> Iterator[io.StringIO]:
    out = io.StringIO()
    solog.configure(stream=out)
    yield out
    solog.configure(stream=solog.STDOUT)


def by_name(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {doc["name"]: doc for doc in docs}


def publisher(outcomes) -> PublishService:
    return PublishService(
        Publications(FakeStore()),
        None,
        RecordingSender(),
        "bus",
        lambda name: (OutcomeByAsset(outcomes), {}),
        own_target="rest",
        variants_bucket="so-processed",
    )


def test_a_handler_s_invocation_and_records_hang_below_the_function_s_segment(daemon, monkeypatch, logged):
    from socialomega.core.http import Outcome

    service = publisher({"asset-7": Outcome("ok", 201)})
    monkeypatch.setattr(publisher_handler, "_built", lambda target: (service, RecordedQueue()))
    with config.function_environment({"SO_PUBLISHER_TARGET": "rest"}):
        context = LambdaContext("pub", 30, aws_request_id="r-1")
        publisher_handler.handler(sqs_event(publish_requested("asset-7")), context)
    docs = by_name(daemon.received())
    invocation, record = docs["## publisher"], docs["record"]
    assert invocation["parent_id"] == FUNCTION_SEGMENT and record["parent_id"] == invocation["id"]
    assert invocation["annotations"]["service"] == "publisher" and "cold_start" in invocation["annotations"]
    assert record["annotations"]["asset_id"] == "asset-7" and record["annotations"]["target"] == "rest"
    assert record["annotations"]["event_type"] == "PublishRequested" and "fault" not in record
    lines = [json.loads(line) for line in logged.getvalue().splitlines()]
    assert lines and all(line["trace_id"] == ROOT and line["aws_request_id"] == "r-1" for line in lines)


def test_an_exception_leaving_the_handler_is_the_subsegment_s_fault_without_the_secret(daemon):
    solog.register_secret_values({"access_token": TOKEN})

    @tracing.traced_handler("failing")
    def handler(event, context):
        raise config.ConfigError(f"the platform refused {TOKEN}")

    with pytest.raises(config.ConfigError):
        handler({}, None)
    [doc] = daemon.received()
    assert doc["fault"] is True and doc["cause"]["exceptions"][0]["type"] == "ConfigError"
    assert doc["cause"]["exceptions"][0]["message"] == "the platform refused [REDACTED]"


@pytest.mark.parametrize(
    "error",
    [
        requests.ConnectionError("HTTPSConnectionPool: /debug_token?input_token=plain-value-1 (Caused by ...)"),
        RuntimeError("GET https://graph.example/oauth?fb_exchange_token=plain-value-1 failed"),
    ],
    ids=["requests", "builtin"],
)
def test_an_exception_not_of_our_own_code_leaving_a_block_is_recorded_by_type_only(daemon, error):
    # A library's text may quote the URL, query included, with a token not registered anywhere.
    @tracing.traced_handler("failing")
    def handler(event, context):
        with tracing.subsegment("record"):
            raise error

    with pytest.raises(type(error)):
        handler({}, None)
    docs = by_name(daemon.received())
    for name in ("record", "## failing"):
        assert docs[name]["fault"] is True
        assert docs[name]["cause"]["exceptions"][0] == {
            "id": docs[name]["cause"]["exceptions"][0]["id"],
            "type": type(error).__name__,
            "message": "",
        }
    assert b"plain-value-1" not in b"".join(daemon.raw)


def sqs_client() -> Any:
    return aws.client.__wrapped__("sqs")  # a fresh client, instrumented as every client is


def test_an_aws_call_is_an_aws_subsegment_and_passes_the_trace_on(daemon, monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    sqs = sqs_client()
    sent_headers: list[dict[str, str]] = []
    capture = lambda params, **_: sent_headers.append(dict(params["headers"]))  # noqa: E731
    sqs.meta.events.register_first("before-call.*.*", capture)  # after the client's own, before the stub
    url = "https://sqs.eu-west-1.amazonaws.com/123456789012/q"
    with Stubber(sqs) as stub, tracing.invocation("processor", None):
        stub.add_response("send_message", {"MessageId": "m-1"}, {"QueueUrl": url, "MessageBody": "{}"})
        stub.add_client_error("send_message", "AWS.SimpleQueueService.NonExistentQueue", http_status_code=400)
        sqs.send_message(QueueUrl=url, MessageBody="{}")
        with pytest.raises(sqs.exceptions.ClientError):
            sqs.send_message(QueueUrl=url, MessageBody="{}")
    first, second, invocation = daemon.received()
    assert (first["name"], first["namespace"], first["aws"]["operation"]) == ("sqs", "aws", "SendMessage")
    assert first["aws"]["region"] == "eu-west-1" and first["http"]["response"]["status"] == 200
    assert second["error"] is True and second["http"]["response"]["status"] == 400
    assert first["parent_id"] == second["parent_id"] == invocation["id"]
    # SQS keeps the header as the message's AWSTraceHeader: the consumer's trace continues this one.
    assert [h[tracing.TRACE_HEADER] for h in sent_headers] == [
        f"Root={ROOT};Parent={first['id']};Sampled=1",
        f"Root={ROOT};Parent={second['id']};Sampled=1",
    ]


class Platform(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        status = 429 if "/busy" in self.path else 500 if "/down" in self.path else 200
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def platform_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Platform)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_platform_calls_are_remote_subsegments_with_no_token_in_them(daemon, platform_url):
    solog.register_secret_values({"access_token": TOKEN})
    client = ApiClient(requests.Session(), base_url=platform_url, token=lambda: TOKEN)
    with tracing.invocation("publisher", None):
        assert client.call("GET", f"/v1/{TOKEN}/me?access_token={TOKEN}&fields=id")[1].ok
        assert client.call("GET", "/v1/busy")[1].kind == "retryable"
        assert client.call("GET", "/v1/down")[1].kind == "retryable"
        assert DeadlineSession(requests.Session()).get(f"{platform_url}/oauth?client_secret={TOKEN}").ok
        _, refused = client.call("GET", "http://127.0.0.1:9/closed", final=False)  # nothing listens on port 9
    docs = daemon.received()
    calls = [doc for doc in docs if doc.get("namespace") == "remote"]
    assert [doc["name"] for doc in calls] == ["127.0.0.1"] * 5
    ok, busy, down, oauth, closed = calls
    url = f"{platform_url}/v1/[REDACTED]/me?access_token=[REDACTED]&fields=[REDACTED]"
    assert ok["http"] == {"request": {"method": "GET", "url": url}, "response": {"status": 200}}
    assert busy["throttle"] is True and busy["error"] is True and down["fault"] is True
    assert oauth["http"]["request"]["url"] == f"{platform_url}/oauth?client_secret=[REDACTED]"
    assert refused.kind == "retryable" and closed["fault"] is True
    assert closed["cause"]["exceptions"][0]["message"] == ""  # requests' text quotes the URL: type only


def test_urls_lose_user_info_and_query_values():
    assert tracing.safe_url("https://user:pw@api.x.com:8443/2/tweets?a=1&token=z#f") == (
        "https://api.x.com:8443/2/tweets?a=[REDACTED]&token=[REDACTED]"
    )
    assert tracing.safe_url("http://[::1") == "[unparsable URL]"


@pytest.mark.parametrize(
    "environment",
    [
        {},  # locally: no trace header at all
        {tracing.TRACE_ENV: HEADER.replace("Sampled=1", "Sampled=0")},  # Lambda did not sample it
        {tracing.TRACE_ENV: HEADER, tracing.DAEMON_ENV: ""},  # tracing not active: no daemon
        {tracing.TRACE_ENV: "Root=garbage;Parent=also"},
        {tracing.TRACE_ENV: HEADER, tracing.DAEMON_ENV: "not an address"},
    ],
)
def test_without_a_sampled_trace_and_a_daemon_nothing_is_sent_and_nothing_fails(
    environment, monkeypatch, platform_url, recwarn
):
    listening = Daemon()
    monkeypatch.delenv(tracing.TRACE_ENV, raising=False)
    monkeypatch.setenv(tracing.DAEMON_ENV, environment.get(tracing.DAEMON_ENV, listening.address))
    if tracing.TRACE_ENV in environment:
        monkeypatch.setenv(tracing.TRACE_ENV, environment[tracing.TRACE_ENV])
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    sqs = sqs_client()
    try:
        with tracing.invocation("poller", None), Stubber(sqs) as stub:
            stub.add_response("get_queue_url", {"QueueUrl": "u"}, {"QueueName": "q"})
            with tracing.subsegment("work", asset_id="a1") as segment:
                assert segment is None
                tracing.annotate(target="rest")
            sqs.get_queue_url(QueueName="q")
            assert ApiClient(requests.Session(), base_url=platform_url).call("GET", "/v1/me")[1].ok
        assert listening.received() == [] and len(recwarn) == 0
    finally:
        listening.close()


def test_trace_headers_and_daemon_addresses_are_read_as_lambda_writes_them():
    header = tracing.TraceHeader.parse(HEADER)
    assert header == tracing.TraceHeader(ROOT, FUNCTION_SEGMENT, True)
    assert tracing.TraceHeader.parse(f"Root={ROOT}") == tracing.TraceHeader(ROOT, None, False)
    assert tracing.TraceHeader.parse(None) is None and tracing.TraceHeader.parse("Root=1-xyz") is None
    assert tracing.daemon_address("169.254.79.129:2000") == ("169.254.79.129", 2000)
    assert tracing.daemon_address("tcp:127.0.0.1:2000 udp:127.0.0.2:2001") == ("127.0.0.2", 2001)
    assert tracing.daemon_address("localhost") is None and tracing.daemon_address("h:99999") is None
