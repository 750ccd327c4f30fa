"""structlog JSON lines with correlation fields, and a redactor so no secret is ever logged.

Every log line carries whatever `bind_event` put in the context (correlation_id,
asset_id, event_type, service), so one photo can be followed across services with one
filter, e.g. `jq 'select(.correlation_id=="...")'`. Every line written during an invocation
also carries the invocation's own fields (`bind_invocation`, called by core/tracing.py):
`aws_request_id`, `cold_start` and the X-Ray `trace_id`. They live apart from the bound
event fields, so the consumer's per-record `clear()` keeps them.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from contextvars import ContextVar
from types import MappingProxyType
from typing import Any, TextIO, cast

import structlog

# Names whose values are secret, as dict keys or log fields.
_SECRET_KEY = re.compile(r"(token|secret|password|passwd|authorization|api[_-]?key|signature|credential|cookie)", re.I)
# A name ending in one of these, whatever comes before it (`fb_exchange_token`, `input_token`,
# `client_secret`, `x-amz-credential`): `\b` would not fire after `_` or inside a word. `code`
# (an OAuth authorization code) only as a whole name, so `status_code=500` stays readable.
_NAMES = r"(?<![\w-])(?:[\w-]*(?:token|secret|password|passwd|key|signature|credential)|code)"
# An auth scheme and its credentials, anywhere: "Bearer abc", "Basic abc=".
_SCHEME = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+")
# The value of an Authorization or API-key header in any notation: "Authorization: Token abc",
# "'Authorization': 'OAuth abc'", "X-Api-Key: abc" (a scheme and one credential word).
_AUTHORIZATION = re.compile(
    r"(?i)(\b(?:proxy-)?(?:authorization|x-api-key|api[_-]key|x-auth-token)[\"']?\s*[:=]\s*[\"']?)"
    r"[^\"'\s,;&}]+(?:[ ][^\"'\s,;&}]+)?"
)
# name=value in queries, forms and reprs: "access_token=abc", "client_secret=abc".
_ASSIGNED = re.compile(rf"(?i)({_NAMES}=)[^&\s\"',}}]+")
# "name": "value" in JSON and reprs: '"access_token": "abc"', "'X-Api-Key': 'abc'".
_QUOTED = re.compile(rf"(?i)([\"'](?:{_NAMES})[\"']\s*:\s*)([\"'])(?:\\.|(?!\2).)*\2")
REDACTED = "[REDACTED]"

# Every secret value the process has loaded (config.secret registers them): masked wherever it
# appears, whatever the text around it looks like. Patterns above catch the rest.
_known_values: set[str] = set()
_known_pattern: re.Pattern[str] | None = None
_MIN_SECRET_LENGTH = 6  # shorter values would mask ordinary words


def register_secret_values(values: Any) -> None:
    """Mask these secret values (and those nested in dicts and lists) in everything redacted."""
    global _known_pattern
    found: set[str] = set()

    def collect(value: Any) -> None:
        if isinstance(value, str) and len(value) >= _MIN_SECRET_LENGTH:
            found.add(value)
        elif isinstance(value, dict):
            for item in value.values():
                collect(item)
        elif isinstance(value, list | tuple):
            for item in value:
                collect(item)

    collect(values)
    if found - _known_values:
        _known_values.update(found)
        ordered = sorted(_known_values, key=len, reverse=True)  # longest first: no partial masks
        _known_pattern = re.compile("|".join(re.escape(v) for v in ordered))


def redact(text: str) -> str:
    """`text` with known secret values, credentials after auth schemes, Authorization values
    and secret-named parameters masked. For log values, DLQ reasons, stored error messages."""
    if _known_pattern is not None:
        text = _known_pattern.sub(REDACTED, text)
    text = _AUTHORIZATION.sub(r"\1" + REDACTED, text)
    text = _SCHEME.sub(r"\1 " + REDACTED, text)
    text = _QUOTED.sub(r"\1\2" + REDACTED + r"\2", text)
    return _ASSIGNED.sub(r"\1" + REDACTED, text)


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: (REDACTED if _SECRET_KEY.search(str(k)) else _redact_value(v)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value(v) for v in value]
    return value


def redact_secrets(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> dict[str, Any]:
    """structlog processor: mask secret-looking keys and bearer/query tokens in values."""
    return {
        key: (REDACTED if _SECRET_KEY.search(key) and key != "event" else _redact_value(value))
        for key, value in event_dict.items()
    }


# The fields of the invocation being handled (a context variable: the local runtime runs
# several functions' invocations at once, each in its own context).
_invocation: ContextVar[Mapping[str, Any]] = ContextVar("invocation_fields", default=MappingProxyType({}))


@contextmanager
def bind_invocation(**fields: Any) -> Iterator[None]:
    """Put `fields` (those not None) on every line logged until the block ends."""
    token = _invocation.set({k: v for k, v in fields.items() if v is not None})
    try:
        yield
    finally:
        _invocation.reset(token)


def add_invocation_fields(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: the invocation's fields, under any the line sets itself."""
    for key, value in _invocation.get().items():
        event_dict.setdefault(key, value)
    return event_dict


class _Stdout:
    """Whatever `sys.stdout` is when a line is written (the one Lambda reads; a test may have
    swapped it since logging was configured), so no logger keeps writing to a stream gone.

    Whole lines only, one at a time: `print` writes a message and its newline in two calls, and
    the processor's threads log and emit EMF lines at once. A metric line that landed between a
    log line and its newline would not be a line of its own, and CloudWatch would drop it. So each
    thread's text is held until its newline and written under one lock (`metrics.emit` writes
    here too)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending = threading.local()

    def write(self, text: str) -> int:
        held: str = getattr(self._pending, "text", "") + text
        if not held.endswith("\n"):
            self._pending.text = held
            return len(text)
        self._pending.text = ""
        with self._lock:
            sys.stdout.write(held)
        return len(text)

    def flush(self) -> None:
        sys.stdout.flush()


STDOUT = cast(TextIO, _Stdout())
_configured = False


def configure(level: str = "INFO", stream: Any = None) -> None:
    global _configured
    if _configured and stream is None:
        return
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            add_invocation_fields,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            redact_secrets,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(stream or STDOUT),
        cache_logger_on_first_use=False,
    )
    _configured = True


def get_logger(**initial: Any) -> Any:
    """A structlog logger (a filtering bound logger: `info`, `warning`, `bind`, ...)."""
    configure()
    return structlog.get_logger(**initial)


def bind_event(envelope: Any, service: str) -> None:
    """Bind the correlation fields of the message being handled to every log line."""
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(
        service=service,
        correlation_id=envelope.correlation_id,
        asset_id=envelope.asset_id,
        event_type=envelope.type,
        event_id=envelope.event_id,
    )


def clear() -> None:
    structlog.contextvars.clear_contextvars()
