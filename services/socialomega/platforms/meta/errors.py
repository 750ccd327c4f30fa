"""Meta Graph errors and rate-limit headers, for `core.http.classify` (Facebook and Instagram).

Error bodies are `{"error": {"code", "error_subcode"?, "is_transient"?, "message",
"error_user_msg"?}}` (developers.facebook.com/docs/graph-api/guides/error-handling); throttles
come as codes on 400/403 without Retry-After, and `X-Business-Use-Case-Usage` says when access
comes back (`estimated_time_to_regain_access`, minutes).
"""

from __future__ import annotations

import json
from typing import Any

import requests

from socialomega.core.http import Headers, Outcome, PlatformErrors, json_object

THROTTLE_CODES = {4, 17, 32, 613, 80001, 80002, 80004, 80005, 80006, 80008}
TRANSIENT_CODES = {1, 2}
AUTH_CODES = {102, 190}
# IG: server error, image download timed out, container not ready for publishing yet.
TRANSIENT_SUBCODES = {2207001, 2207003, 2207027}
QUOTA = (9, 2207042)  # IG: "You reached maximum number of posts"


def _parse(status: int, body: Any, headers: Headers, hint: float | None) -> Outcome | None:
    err = body.get("error") if isinstance(body, dict) else None
    if not isinstance(err, dict) or not isinstance(err.get("code"), int):
        return None
    code, subcode = err["code"], err.get("error_subcode")
    label = f"meta:{code}" + (f"/{subcode}" if subcode else "")
    message = str(err.get("error_user_msg") or err.get("message") or "")[:300]
    if (code, subcode) == QUOTA:
        return Outcome("deferred", status, label, message, retry_after=hint or 3600.0)
    if code in AUTH_CODES or status == 401:
        return Outcome("auth", status, label, message)
    if code in THROTTLE_CODES:
        return Outcome("retryable", status, label, message, retry_after=hint or 60.0)
    if err.get("is_transient") is True or code in TRANSIENT_CODES or subcode in TRANSIENT_SUBCODES:
        return Outcome("retryable", status, label, message, retry_after=hint)
    if status >= 500 and err.get("is_transient") is not False:
        return Outcome("retryable", status, label, message, retry_after=hint)
    return Outcome("permanent", status, label, message)


def _wait(headers: Headers) -> float | None:
    minutes = [
        e["estimated_time_to_regain_access"]
        for e in _usage_entries(headers.get("X-Business-Use-Case-Usage"))
        if isinstance(e.get("estimated_time_to_regain_access"), int | float)
    ]
    return max(minutes) * 60.0 if minutes and max(minutes) else None


ERRORS = PlatformErrors(parse=_parse, wait=_wait)


def usage_percent(headers: Headers) -> float:
    """Highest usage percentage Meta reports (`X-App-Usage`, `X-Business-Use-Case-Usage`);
    100 means calls are being throttled."""
    highest = 0.0
    for name in ("X-App-Usage", "X-Business-Use-Case-Usage"):
        for entry in _usage_entries(headers.get(name)):
            for key in ("call_count", "total_cputime", "total_time"):
                if isinstance(entry.get(key), int | float):
                    highest = max(highest, float(entry[key]))
    return highest


def _usage_entries(raw: str | None) -> list[dict[str, Any]]:
    try:
        value = json.loads(raw) if raw else None
    except ValueError:
        return []
    if isinstance(value, dict) and all(isinstance(v, list) for v in value.values()) and value:
        return [e for entries in value.values() for e in entries if isinstance(e, dict)]
    return [value] if isinstance(value, dict) else []


def error_codes(response: requests.Response) -> tuple[Any, Any]:
    """(code, error_subcode) of a Graph error answer; (None, None) for anything else."""
    err = json_object(response).get("error")
    return (err.get("code"), err.get("error_subcode")) if isinstance(err, dict) else (None, None)


def token_rejected(response: requests.Response) -> bool:
    """Graph refused the access token (codes 102, 190) before acting on the call."""
    return error_codes(response)[0] in AUTH_CODES
