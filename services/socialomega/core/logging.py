"""structlog JSON lines with correlation fields, and a redactor so no secret is ever logged.

Every log line carries whatever `bind_event` put in the context (correlation_id,
asset_id, event_type, service), so one photo can be followed across services with one
filter, e.g. `jq 'select(.correlation_id=="...")'`.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

import structlog

_SECRET_KEY = re.compile(r"(token|secret|password|authorization|api[_-]?key|signature|credential)", re.I)
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+")
_QUERY_SECRET = re.compile(r"(?i)((?:access_token|token|signature|X-Amz-Signature|key)=)[^&\s\"']+")
REDACTED = "[REDACTED]"


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return _QUERY_SECRET.sub(r"\1" + REDACTED, _BEARER.sub(r"\1 " + REDACTED, value))
    if isinstance(value, dict):
        return {k: (REDACTED if _SECRET_KEY.search(str(k)) else _redact_value(v)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value(v) for v in value]
    return value


def redact_secrets(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: mask secret-looking keys and bearer/query tokens in values."""
    return {
        key: (REDACTED if _SECRET_KEY.search(key) and key != "event" else _redact_value(value))
        for key, value in event_dict.items()
    }


_configured = False


def configure(level: str = "INFO", stream: Any = None) -> None:
    global _configured
    if _configured and stream is None:
        return
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            redact_secrets,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(stream or sys.stdout),
        cache_logger_on_first_use=False,
    )
    _configured = True


def get_logger(**initial: Any) -> structlog.stdlib.BoundLogger:
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
