"""X-Ray in the code: a subsegment per invocation, per record, per AWS call and per HTTP call.

In Lambda with active tracing, the Lambda service records the function's segment and hands
its id to the runtime in the `_X_AMZN_TRACE_ID` variable (`Root=1-...;Parent=<segment
id>;Sampled=1`), which `awslambdaric` sets anew before each invocation (bootstrap.py,
`update_xray_env_variable`; it deletes it when the invocation has no trace header). Our
subsegments hang below that segment: each is sent, complete, as a JSON document over UDP to the
X-Ray daemon at `AWS_XRAY_DAEMON_ADDRESS` (`{"format": "json", "version": 1}` and a newline
before the document: X-Ray developer guide, "Sending segment documents to the X-Ray daemon";
fields: "AWS X-Ray segment documents"). Sending is fire and forget: no wait, no error.

* `traced_handler(service)` wraps each handler: it reads the trace header once per invocation,
  binds `trace_id`, `aws_request_id` and `cold_start` to every log line (core/logging.py)
  and records the `## <service>` subsegment (annotated `service`, `cold_start`);
* `subsegment(name, **annotations)` records a block (the consumer's `record`); `annotate()`
  adds annotations to the innermost one (`asset_id`, `target`, ... searchable in X-Ray);
* every AWS client of `core/aws.py` reports its calls through botocore's events
  (`instrument_botocore`), and sends the `X-Amzn-Trace-Id` header on, so SQS, SNS and
  EventBridge carry the trace to the next function;
* every platform call of `core/http.py` goes through `http_request`.

Nothing secret reaches a document: no request or response body or header is recorded, an
exception's text only for our own code (an HTTP library's names the URL: type only there), a
URL without user info and with every query value replaced (`?access_token=[REDACTED]`: a
pre-signed upload URL's parameters are secrets whatever their names), and every string through
`core/logging.redact` (secret values the process loaded, tokens after auth schemes).

Locally (no `_X_AMZN_TRACE_ID`, or not sampled, or no daemon address) every function here is a
no-op that costs a context-variable read: no socket, no error, no warning.

Why this and not a library (import cost measured on Python 3.13 in cold processes, on top of
what the publisher already imports, median of 9; the publisher's budget is 300 ms in all):
* aws-xray-sdk 2.15: +110 to +220 ms, most of it two botocore X-Ray clients its sampler builds
  at import (cProfile: `sampling/connector.py:_create_xray_client`, ~190 ms), sampling that
  Lambda does itself; and the SDK entered maintenance mode on 2026-02-25 (security fixes only;
  AWS recommends OpenTelemetry: X-Ray developer guide, "X-Ray SDK and Daemon Support timeline");
* Powertools' Tracer wraps aws-xray-sdk: +130 to +250 ms;
* OpenTelemetry (SDK, OTLP/HTTP exporter, botocore and requests instrumentation, X-Ray id
  generator and propagator): +70 to +200 ms, and a container-image function has no ADOT layer:
  spans would need a collector in the image or an exporter signing each flush to X-Ray's OTLP
  endpoint at the end of every invocation;
* this module: ~2 ms (stdlib only), no dependency, one UDP datagram per subsegment.
UNCONFIRMED: how X-Ray's service map names an `aws` subsegment; the endpoint prefix ("s3",
"sqs") is what aws-xray-sdk sends.
"""

from __future__ import annotations

import functools
import json
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

from socialomega.core import logging as solog

TRACE_ENV = "_X_AMZN_TRACE_ID"
DAEMON_ENV = "AWS_XRAY_DAEMON_ADDRESS"
TRACE_HEADER = "X-Amzn-Trace-Id"
DAEMON_HEADER = b'{"format": "json", "version": 1}\n'
MAX_DOCUMENT_BYTES = 64 * 1024  # a segment document's limit
_ROOT = re.compile(r"^1-[0-9a-f]{8}-[0-9a-f]{24}$")
_ID = re.compile(r"^[0-9a-f]{16}$")
_ANNOTATION_KEY = re.compile(r"[^A-Za-z0-9_]")  # X-Ray filters only on alphanumeric keys and _
_NAME = re.compile(r"[^\w\s.:/%&#=+\\@-]")  # the characters a (sub)segment name may hold
_CONTEXT_KEY = "socialomega_subsegment"


@dataclass(frozen=True)
class TraceHeader:
    """`Root=1-<8 hex>-<24 hex>;Parent=<16 hex>;Sampled=1` (other fields are ignored)."""

    root: str
    parent: str | None
    sampled: bool

    @classmethod
    def parse(cls, value: str | None) -> TraceHeader | None:
        """The header's fields, or None when it is absent or has no well-formed root."""
        fields: dict[str, str] = {}
        for item in (value or "").split(";"):
            key, sep, val = item.partition("=")
            if sep:
                fields[key.strip()] = val.strip()
        root, parent = fields.get("Root", ""), fields.get("Parent", "")
        if not _ROOT.match(root):
            return None
        return cls(root, parent if _ID.match(parent) else None, fields.get("Sampled") == "1")


def daemon_address(value: str | None) -> tuple[str, int] | None:
    """`host:port`, or the UDP part of `tcp:host:port udp:host:port`; None if malformed."""
    parts = (value or "").split()
    chosen = next((p[4:] for p in parts if p.startswith("udp:")), parts[0] if len(parts) == 1 else "")
    host, sep, port = chosen.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        return None
    return host.strip("[]"), int(port)


class Daemon:
    """Datagrams to the X-Ray daemon: never blocks, never raises (a lost trace loses nothing)."""

    def __init__(self, address: tuple[str, int]) -> None:
        self.address = address
        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self._socket = socket.socket(family, socket.SOCK_DGRAM)
        self._socket.setblocking(False)
        self.sent = 0
        self.dropped = 0

    def send(self, document: dict[str, Any]) -> None:
        try:
            payload = DAEMON_HEADER + json.dumps(document, separators=(",", ":"), default=str).encode()
            if len(payload) > MAX_DOCUMENT_BYTES:
                self.dropped += 1
                return
            self._socket.sendto(payload, self.address)
            self.sent += 1
        except (OSError, ValueError, TypeError):
            self.dropped += 1


_daemons: dict[tuple[str, int], Daemon] = {}
_daemons_lock = threading.Lock()


def _daemon(address: tuple[str, int]) -> Daemon | None:
    with _daemons_lock:
        if address not in _daemons:
            try:
                _daemons[address] = Daemon(address)
            except OSError:
                return None
        return _daemons[address]


def _new_id() -> str:
    return os.urandom(8).hex()


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return solog.redact(value)
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


class Subsegment:
    """One open subsegment; `close()` sends it."""

    def __init__(self, name: str, trace_id: str, parent_id: str, daemon: Daemon, namespace: str | None = None) -> None:
        self.name = _NAME.sub("_", name)[:200] or "unnamed"
        self.id = _new_id()
        self.trace_id = trace_id
        self.parent_id = parent_id
        self.daemon = daemon
        self.namespace = namespace
        self.start_time = time.time()
        self.end_time: float | None = None
        self.annotations: dict[str, str | int | float | bool] = {}
        self.aws: dict[str, Any] = {}
        self.http: dict[str, Any] = {}
        self.error = self.fault = self.throttle = False
        self.cause: dict[str, Any] | None = None

    def annotate(self, **values: Any) -> None:
        for key, value in values.items():
            if value is None:
                continue
            if not isinstance(value, bool | int | float):
                value = str(value)[:1000]
            self.annotations[_ANNOTATION_KEY.sub("_", key)[:500]] = value

    def header(self) -> str:
        """The trace header that makes a downstream call a child of this subsegment."""
        return f"Root={self.trace_id};Parent={self.id};Sampled=1"

    def failed(self, exc: BaseException, *, detail: bool = True) -> None:
        """A fault caused by `exc`: its type, and its text only when `detail` (our own code)."""
        self.fault = True
        message = str(exc)[:300] if detail else ""
        self.cause = {"exceptions": [{"id": _new_id(), "type": type(exc).__name__, "message": message}]}

    def answered(self, status: int | None) -> None:
        if status is None:
            return
        self.http.setdefault("response", {})["status"] = status
        self.throttle = self.throttle or status == 429
        self.error = self.error or 400 <= status < 500
        self.fault = self.fault or status >= 500

    def document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "name": self.name,
            "id": self.id,
            "trace_id": self.trace_id,
            "parent_id": self.parent_id,
            "type": "subsegment",
            "start_time": self.start_time,
            "end_time": self.end_time if self.end_time is not None else time.time(),
        }
        for key, value in (
            ("namespace", self.namespace),
            ("annotations", self.annotations),
            ("aws", self.aws),
            ("http", self.http),
            ("cause", self.cause),
        ):
            if value:
                doc[key] = _scrub(value)
        for flag in ("error", "fault", "throttle"):
            if getattr(self, flag):
                doc[flag] = True
        return doc

    def close(self) -> None:
        if self.end_time is None:
            self.end_time = time.time()
            self.daemon.send(self.document())


@dataclass(frozen=True)
class _Trace:
    header: TraceHeader
    daemon: Daemon | None  # None: not sampled, or no daemon: nothing is sent


_trace: ContextVar[_Trace | None] = ContextVar("xray_trace", default=None)
_current: ContextVar[Subsegment | None] = ContextVar("xray_subsegment", default=None)


def current_trace_id() -> str | None:
    trace = _trace.get()
    return trace.header.root if trace is not None else None


def _open(name: str, namespace: str | None = None) -> Subsegment | None:
    """A new subsegment below the innermost open one (or the function's segment), or None when
    nothing is traced."""
    parent = _current.get()
    if parent is not None:
        return Subsegment(name, parent.trace_id, parent.id, parent.daemon, namespace)
    trace = _trace.get()
    if trace is None or trace.daemon is None or trace.header.parent is None:
        return None
    return Subsegment(name, trace.header.root, trace.header.parent, trace.daemon, namespace)


@contextmanager
def subsegment(name: str, *, namespace: str | None = None, **annotations: Any) -> Iterator[Subsegment | None]:
    """Record the block as a subsegment (None inside when nothing is traced); an exception
    leaving it is recorded as its fault and goes on: by type and text when our own code raised
    it, by type only otherwise (an HTTP or AWS library's text may quote a URL and its query)."""
    segment = _open(name, namespace)
    if segment is None:
        yield None
        return
    segment.annotate(**annotations)
    token = _current.set(segment)
    try:
        yield segment
    except BaseException as exc:
        segment.failed(exc, detail=_own(exc))
        raise
    finally:
        _current.reset(token)
        segment.close()


def _own(exc: BaseException) -> bool:
    """Whether `exc` is one of this package's exceptions (whose texts never quote a URL)."""
    return type(exc).__module__.partition(".")[0] == "socialomega"


def annotate(**values: Any) -> None:
    """Annotations (searchable: `annotation.asset_id = "..."`) on the innermost subsegment."""
    segment = _current.get()
    if segment is not None:
        segment.annotate(**values)


# --- an invocation ---------------------------------------------------------------------------

_started: set[str] = set()  # the services whose first invocation this process has begun
_started_lock = threading.Lock()


def _cold(service: str) -> bool:
    """True for the first invocation of `service` in this process, unless provisioned
    concurrency initialised it before any request came."""
    with _started_lock:
        first = service not in _started
        _started.add(service)
    return first and os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") != "provisioned-concurrency"


@contextmanager
def invocation(service: str, context: Any) -> Iterator[None]:
    """One invocation of `service`'s handler: its log fields and its subsegment."""
    cold = _cold(service)
    header = TraceHeader.parse(os.environ.get(TRACE_ENV))
    daemon = None
    if header is not None and header.sampled and header.parent is not None:
        address = daemon_address(os.environ.get(DAEMON_ENV))
        daemon = _daemon(address) if address is not None else None
    trace_token = _trace.set(_Trace(header, daemon) if header is not None else None)
    current_token = _current.set(None)
    try:
        with (
            solog.bind_invocation(
                aws_request_id=getattr(context, "aws_request_id", None),
                cold_start=cold,
                trace_id=header.root if header is not None else None,
            ),
            subsegment(f"## {service}", service=service, cold_start=cold),
        ):
            yield
    finally:
        _current.reset(current_token)
        _trace.reset(trace_token)


Handler = TypeVar("Handler", bound=Callable[[Any, Any], Any])


def traced_handler(service: str) -> Callable[[Handler], Handler]:
    """Decorate a Lambda handler `(event, context)` to run as one `invocation(service, ...)`."""

    def wrap(handler: Handler) -> Handler:
        @functools.wraps(handler)
        def run(event: Any, context: Any) -> Any:
            with invocation(service, context):
                return handler(event, context)

        return run  # type: ignore[return-value]

    return wrap


# --- AWS calls (botocore's events on every client of core/aws.py) ---------------------------


def instrument_botocore(events: Any) -> None:
    """Record every call of a client as an `aws` subsegment, and pass the trace on."""
    # First: a handler that answers a call itself (botocore's Stubber) ends the before-call chain.
    events.register_first("before-call.*.*", _aws_call_starts, unique_id="socialomega-xray-start")
    events.register_first("after-call.*.*", _aws_call_answered, unique_id="socialomega-xray-answer")
    events.register_first("after-call-error.*.*", _aws_call_failed, unique_id="socialomega-xray-error")


def _aws_call_starts(model: Any = None, params: Any = None, context: Any = None, **_: Any) -> None:
    if context is None or model is None:
        return
    segment = _open(str(model.service_model.endpoint_prefix), namespace="aws")
    if segment is None:
        return
    segment.aws = {"operation": model.name, "region": context.get("client_region")}
    context[_CONTEXT_KEY] = segment
    if isinstance(params, dict):
        params.setdefault("headers", {})[TRACE_HEADER] = segment.header()


def _aws_call_answered(http_response: Any = None, parsed: Any = None, context: Any = None, **_: Any) -> None:
    segment = context.pop(_CONTEXT_KEY, None) if context is not None else None
    if segment is None:
        return
    meta = parsed.get("ResponseMetadata", {}) if isinstance(parsed, dict) else {}
    if meta.get("RequestId"):
        segment.aws["request_id"] = meta["RequestId"]
    segment.aws["retries"] = int(meta.get("RetryAttempts") or 0)
    segment.answered(getattr(http_response, "status_code", None))
    segment.close()


def _aws_call_failed(exception: BaseException | None = None, context: Any = None, **_: Any) -> None:
    segment = context.pop(_CONTEXT_KEY, None) if context is not None else None
    if segment is None:
        return
    if exception is not None:
        segment.failed(exception, detail=False)  # a connection error names the endpoint URL
    segment.close()


# --- HTTP calls (core/http.py) ---------------------------------------------------------------


def safe_url(url: str) -> str:
    """`url` for a trace: no user info, every query value replaced, known secrets masked."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "[unparsable URL]"
    query = "&".join(f"{name}={solog.REDACTED}" for name, _ in parse_qsl(parts.query, keep_blank_values=True))
    return solog.redact(f"{parts.scheme}://{host}{port}{parts.path}" + (f"?{query}" if query else ""))


def http_request(send: Callable[..., Any], method: str, url: str, **kwargs: Any) -> Any:
    """`send(method, url, **kwargs)` (a requests session's `request`), as a `remote`
    subsegment named after the host: method, safe URL, status; an exception by type only."""
    try:
        host = urlsplit(url).hostname or "unknown host"
    except ValueError:
        host = "unknown host"
    segment = _open(host, namespace="remote")
    if segment is None:
        return send(method, url, **kwargs)
    segment.http = {"request": {"method": method.upper(), "url": safe_url(url)}}
    try:
        response = send(method, url, **kwargs)
    except BaseException as exc:
        segment.failed(exc, detail=False)
        segment.close()
        raise
    segment.answered(getattr(response, "status_code", None))
    segment.close()
    return response
