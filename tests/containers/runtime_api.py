"""A stand-in for the Lambda Runtime API, so an image runs the way Lambda runs it: its own
ENTRYPOINT and CMD (the runtime interface client, awslambdaric, serving the handler) polling
`http://$AWS_LAMBDA_RUNTIME_API` for events and posting back what the handler answered.

A real HTTP server (threads, HTTP/1.1 keep-alive as the client uses it) implementing version
2018-06-01 as the AWS Lambda developer guide documents it, "Using the Lambda runtime API for
custom runtimes" (docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html, and its OpenAPI
`runtime-api.zip`); summary in ../shared/reference/lambda-runtime-and-emf.md:

    GET  /2018-06-01/runtime/invocation/next            long poll; 200, the event as the body, headers
         Lambda-Runtime-Aws-Request-Id, Lambda-Runtime-Deadline-Ms (Unix ms),
         Lambda-Runtime-Invoked-Function-Arn, Lambda-Runtime-Trace-Id
    POST /2018-06-01/runtime/invocation/{id}/response   the handler's result; 202
    POST /2018-06-01/runtime/invocation/{id}/error      {"errorMessage", "errorType", "stackTrace"},
         header Lambda-Runtime-Function-Error-Type; 202
    POST /2018-06-01/runtime/init/error                 the handler could not be loaded; 202

A request id the API never handed out, or one already answered, gets 400 with an ErrorResponse
`{"errorMessage", "errorType"}` (the OpenAPI documents 400 for a bad request; the errorType
names used here are UNCONFIRMED). A response body over 6 MB (Lambda's synchronous payload limit)
gets 413. One stand-in serves one execution environment, as in Lambda: after answering, the
runtime asks for the next event and waits (for ever, as `next` is a long poll) until the
function is stopped.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from socialomega.core.deadline import Deadline

PREFIX = "/2018-06-01/runtime"
MAX_RESPONSE_BYTES = 6 * 1024 * 1024  # Lambda's synchronous invocation payload limit
_ANSWER = re.compile(rf"{PREFIX}/invocation/(?P<id>[^/]+)/(?P<kind>response|error)")


@dataclass(frozen=True)
class Outcome:
    """What the runtime posted for one invocation (or for its init): `kind` is "response",
    "error" or "init_error"; `body` the posted JSON (text when it is not JSON)."""

    kind: str
    body: Any
    error_type: str | None = None


@dataclass
class Invocation:
    request_id: str
    event: Any
    function_arn: str
    timeout_ms: int  # the function's timeout: its deadline is this long after it is handed out
    trace_id: str
    deadline_ms: int = 0  # Unix ms, set when handed out
    delivered: bool = False
    outcome: Outcome | None = None
    headers_seen: dict[str, str] = field(default_factory=dict)  # what `next` answered with


def trace_header() -> str:
    """An X-Ray trace header as Lambda passes it (Root=1-<epoch hex>-<96-bit hex>;Parent=...)."""
    return f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)};Parent={secrets.token_hex(8)};Sampled=0"


class RuntimeApi:
    """The Runtime API of one execution environment. `invoke(event)` queues an event and
    returns its request id; `outcome(request_id, deadline)` waits for what the runtime posted."""

    def __init__(self, function_arn: str, host: str = "127.0.0.1") -> None:
        self.function_arn = function_arn
        self._changed = threading.Condition()
        self._queue: list[Invocation] = []
        self._invocations: dict[str, Invocation] = {}
        self.init_error: Outcome | None = None
        self.requests: list[str] = []  # "METHOD path", in order: what the runtime asked
        self._closed = False
        self._server = ThreadingHTTPServer((host, 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="runtime-api", daemon=True)

    @property
    def address(self) -> str:
        """host:port, the value of AWS_LAMBDA_RUNTIME_API."""
        host, port = self._server.server_address[:2]
        return f"{host}:{port}"

    def __enter__(self) -> RuntimeApi:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with self._changed:
            self._closed = True
            self._changed.notify_all()
        self._server.shutdown()
        self._server.server_close()

    def invoke(self, event: Any, timeout_seconds: float = 30.0) -> str:
        """Queue `event` for the runtime's next `next`; the function times out `timeout_seconds`
        after it is handed out (Lambda-Runtime-Deadline-Ms)."""
        invocation = Invocation(
            request_id=str(uuid.uuid4()),
            event=event,
            function_arn=self.function_arn,
            timeout_ms=int(timeout_seconds * 1000),
            trace_id=trace_header(),
        )
        with self._changed:
            self._invocations[invocation.request_id] = invocation
            self._queue.append(invocation)
            self._changed.notify_all()
        return invocation.request_id

    def invocation(self, request_id: str) -> Invocation:
        with self._changed:
            return self._invocations[request_id]

    def outcome(self, request_id: str, deadline: Deadline) -> Outcome:
        """What the runtime posted for `request_id`, or its init error, waiting until `deadline`.
        Raises TimeoutError, saying what the runtime asked for, when nothing came."""
        with self._changed:
            while True:
                found = self._invocations[request_id].outcome or self.init_error
                if found is not None:
                    return found
                if deadline.expired():
                    raise TimeoutError(
                        f"no response, error or init error for {request_id}; the runtime asked: {self.requests}"
                    )
                self._changed.wait(timeout=min(1.0, max(0.05, deadline.remaining())))

    def wait_for_polls(self, count: int, deadline: Deadline) -> None:
        """Wait until the runtime has asked for the next event `count` times. Raises TimeoutError."""
        with self._changed:
            while sum(r == f"GET {PREFIX}/invocation/next" for r in self.requests) < count:
                if deadline.expired():
                    raise TimeoutError(f"the runtime asked for fewer than {count} events: {self.requests}")
                self._changed.wait(timeout=min(1.0, max(0.05, deadline.remaining())))

    # --- the server side ---------------------------------------------------------------------------
    def _asked(self, request: str) -> None:
        with self._changed:
            self.requests.append(request)
            self._changed.notify_all()

    def _next(self) -> Invocation | None:
        """The next queued invocation, waiting for one as long as the API is open."""
        with self._changed:
            while not self._queue:
                if self._closed:
                    return None
                self._changed.wait(timeout=1.0)
            invocation = self._queue.pop(0)
            invocation.deadline_ms = int(time.time() * 1000) + invocation.timeout_ms
            invocation.delivered = True
            return invocation

    def _answer(self, request_id: str, kind: str, body: Any, error_type: str | None) -> tuple[int, dict[str, str]]:
        with self._changed:
            invocation = self._invocations.get(request_id)
            if invocation is None or not invocation.delivered:
                return 400, {"errorMessage": f"unknown request id {request_id}", "errorType": "InvalidRequestID"}
            if invocation.outcome is not None:
                return 400, {
                    "errorMessage": f"{request_id} was already answered ({invocation.outcome.kind})",
                    "errorType": "InvalidStateTransition",
                }
            invocation.outcome = Outcome(kind, body, error_type)
            self._changed.notify_all()
            return 202, {"status": "OK"}

    def _init_error(self, body: Any, error_type: str | None) -> tuple[int, dict[str, str]]:
        with self._changed:
            self.init_error = Outcome("init_error", body, error_type)
            self._changed.notify_all()
            return 202, {"status": "OK"}

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the runtime client's connection is

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base class's name)
                pass  # the test reports what matters; requests are kept in api.requests

            def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def _send_json(self, status: int, doc: Any) -> None:
                self._send(status, json.dumps(doc).encode())

            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                api._asked(f"GET {self.path}")
                if self.path != f"{PREFIX}/invocation/next":
                    self._send_json(404, {"errorMessage": f"no such path {self.path}", "errorType": "NotFound"})
                    return
                invocation = api._next()
                if invocation is None:  # closing: the function is being stopped
                    self._send_json(500, {"errorMessage": "the environment is shutting down", "errorType": "Shutdown"})
                    return
                headers = {
                    "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
                    "Lambda-Runtime-Deadline-Ms": str(invocation.deadline_ms),
                    "Lambda-Runtime-Invoked-Function-Arn": invocation.function_arn,
                    "Lambda-Runtime-Trace-Id": invocation.trace_id,
                }
                invocation.headers_seen.update(headers)
                self._send(200, json.dumps(invocation.event).encode(), headers)

            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                api._asked(f"POST {self.path}")
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                error_type = self.headers.get("Lambda-Runtime-Function-Error-Type")
                try:
                    body: Any = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                answer = _ANSWER.fullmatch(self.path)
                if answer and answer["kind"] == "response" and length > MAX_RESPONSE_BYTES:
                    status, doc = 413, {"errorMessage": "response over 6 MB", "errorType": "RequestEntityTooLarge"}
                elif answer:
                    status, doc = api._answer(answer["id"], answer["kind"], body, error_type)
                elif self.path == f"{PREFIX}/init/error":
                    status, doc = api._init_error(body, error_type)
                else:
                    status, doc = 404, {"errorMessage": f"no such path {self.path}", "errorType": "NotFound"}
                self._send_json(status, doc)

        return Handler
