"""The one HTTP policy for calls to platforms.

* Every call goes through an `egress.session(policy)` (the SSRF guard), has a connect and a
  read timeout, and follows no redirect.
* Nothing here retries a POST: posting is not idempotent, so retries happen at the
  queue level (the message comes back) where the publication claim decides what to do.
* `classify` turns a response or an exception into one of six outcomes that every
  publisher handles the same way (see `classify`), reading the platforms' error bodies
  and rate-limit headers in this one place.
"""

from __future__ import annotations

import email.utils
import json
import time
from dataclasses import dataclass
from typing import Any, Literal

import requests

from socialomega.core.egress import UnsafeDestination

DEFAULT_TIMEOUT = (5.0, 20.0)  # (connect, read) seconds

Kind = Literal["ok", "retryable", "permanent", "unknown", "deferred", "auth"]


@dataclass(frozen=True)
class Outcome:
    kind: Kind
    status: int | None = None
    code: str = ""
    message: str = ""
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return self.kind == "ok"


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Parse Retry-After as delta-seconds or an HTTP date (RFC 9110 section 10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


RETRYABLE_STATUSES = {408, 425, 429, 500, 502, 503, 504}

# Meta Graph error codes (developers.facebook.com/docs/graph-api/guides/error-handling).
META_THROTTLE_CODES = {4, 17, 32, 613, 80001, 80002, 80004, 80005, 80006, 80008}
META_TRANSIENT_CODES = {1, 2}
META_AUTH_CODES = {102, 190}
# IG: server error, image download timed out, container not ready for publishing yet.
META_TRANSIENT_SUBCODES = {2207001, 2207003, 2207027}
META_QUOTA = (9, 2207042)  # IG: "You reached maximum number of posts"
# X problem types (https://api.x.com/2/problems/<kind>) that are not the status's default.
X_RETRYABLE_PROBLEMS = {"rate-limit-exceeded", "operational-disconnect"}
X_DEFERRED_PROBLEMS = {"usage-capped"}


def classify(response: requests.Response | None = None, error: BaseException | None = None) -> Outcome:
    """Map an HTTP result to ok / retryable / permanent / unknown / deferred / auth.

    * `unknown`: a timeout after the request was sent: the platform may have acted on it.
    * `deferred`: a posting quota is used up; try again later without counting a failure.
    * `auth`: the credentials were rejected or expired; a refresh or an operator fixes it.
    Platform error bodies (Meta, X, LinkedIn) refine the status-based answer, and the
    platforms' rate-limit headers become `retry_after`.
    """
    if error is not None:
        # Only the exception's type: requests quotes the URL in its text, and a pre-signed
        # upload URL (LinkedIn) or a query token would reach the record, the events and logs.
        message = type(error).__name__
        if isinstance(error, UnsafeDestination):
            # The guard's message names scheme, host and port only (core/egress.py).
            return Outcome("permanent", code="unsafe_destination", message=str(error)[:300])
        if isinstance(error, requests.exceptions.InvalidURL | requests.exceptions.InvalidSchema
                      | requests.exceptions.MissingSchema):
            return Outcome("permanent", code="unsafe_destination", message=message)
        if isinstance(error, requests.ConnectTimeout | requests.ConnectionError) and not isinstance(
            error, requests.ReadTimeout
        ):
            # Nothing reached the server (refused, DNS, connect timeout): safe to retry.
            return Outcome("retryable", code="connection_error", message=message)
        if isinstance(error, requests.Timeout):
            return Outcome("unknown", code="timeout", message=message)
        return Outcome("retryable", code=type(error).__name__, message=message)
    assert response is not None
    status = response.status_code
    if 200 <= status < 300:
        return Outcome("ok", status=status)
    body = _json(response)
    hint = retry_hint(response.headers)
    capped = _x_daily_cap(status, response.headers)
    if capped is not None:
        return capped
    platform = _meta_error(status, body, hint) or _x_error(status, body, hint) or _linkedin_error(status, body, hint)
    if platform is not None:
        return platform
    message = _error_message(response, body)
    if status == 401:
        return Outcome("auth", status=status, code="401", message=message)
    if status in RETRYABLE_STATUSES:
        return Outcome("retryable", status=status, code=str(status), message=message, retry_after=hint)
    return Outcome("permanent", status=status, code=str(status), message=message)


def retry_hint(headers: Any) -> float | None:
    """Seconds to wait, from whichever rate-limit header the platform sent: `Retry-After`
    (RFC 9110), X's `x-rate-limit-reset` (epoch seconds, when nothing remains), or Meta's
    `X-Business-Use-Case-Usage` `estimated_time_to_regain_access` (minutes)."""
    seconds = retry_after_seconds(headers.get("Retry-After"))
    reset = headers.get("x-rate-limit-reset")
    if reset and reset.strip().isdigit() and headers.get("x-rate-limit-remaining", "0").strip() == "0":
        seconds = max(seconds or 0.0, float(reset) - time.time())
    minutes = _meta_regain_minutes(headers.get("X-Business-Use-Case-Usage"))
    if minutes:
        seconds = max(seconds or 0.0, minutes * 60.0)
    return None if seconds is None else max(0.0, seconds)


def meta_usage_percent(headers: Any) -> float:
    """Highest usage percentage Meta reports (`X-App-Usage`, `X-Business-Use-Case-Usage`);
    100 means calls are being throttled."""
    highest = 0.0
    for name in ("X-App-Usage", "X-Business-Use-Case-Usage"):
        for entry in _meta_usage_entries(headers.get(name)):
            for key in ("call_count", "total_cputime", "total_time"):
                if isinstance(entry.get(key), int | float):
                    highest = max(highest, float(entry[key]))
    return highest


def _meta_usage_entries(raw: str | None) -> list[dict[str, Any]]:
    try:
        value = json.loads(raw) if raw else None
    except ValueError:
        return []
    if isinstance(value, dict) and all(isinstance(v, list) for v in value.values()) and value:
        return [e for entries in value.values() for e in entries if isinstance(e, dict)]
    return [value] if isinstance(value, dict) else []


def _meta_regain_minutes(raw: str | None) -> float | None:
    minutes = [e["estimated_time_to_regain_access"] for e in _meta_usage_entries(raw)
               if isinstance(e.get("estimated_time_to_regain_access"), int | float)]
    return max(minutes) if minutes else None


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def json_object(response: requests.Response) -> dict[str, Any]:
    """The JSON object of a response, or {} (a missing or non-object body is read as empty)."""
    body = _json(response)
    return body if isinstance(body, dict) else {}


def _meta_error(status: int, body: Any, hint: float | None) -> Outcome | None:
    err = body.get("error") if isinstance(body, dict) else None
    if not isinstance(err, dict) or not isinstance(err.get("code"), int):
        return None
    code, subcode = err["code"], err.get("error_subcode")
    label = f"meta:{code}" + (f"/{subcode}" if subcode else "")
    message = str(err.get("error_user_msg") or err.get("message") or "")[:300]
    if (code, subcode) == META_QUOTA:
        return Outcome("deferred", status, label, message, retry_after=hint or 3600.0)
    if code in META_AUTH_CODES or status == 401:
        return Outcome("auth", status, label, message)
    if code in META_THROTTLE_CODES:
        return Outcome("retryable", status, label, message, retry_after=hint or 60.0)
    if err.get("is_transient") is True or code in META_TRANSIENT_CODES or subcode in META_TRANSIENT_SUBCODES:
        return Outcome("retryable", status, label, message, retry_after=hint)
    if status >= 500 and err.get("is_transient") is not False:
        return Outcome("retryable", status, label, message, retry_after=hint)
    return Outcome("permanent", status, label, message)


def _x_error(status: int, body: Any, hint: float | None) -> Outcome | None:
    if not isinstance(body, dict):
        return None
    problem = body.get("type")
    if isinstance(problem, str) and "/2/problems/" in problem:
        kind = problem.rsplit("/", 1)[-1]
        message = str(body.get("detail") or body.get("title") or kind)
        # invalid-request problems carry the specific reason in errors[].message
        reasons = [str(e["message"]) for e in body.get("errors") or [] if isinstance(e, dict) and e.get("message")]
        if reasons:
            message = f"{message} {' '.join(reasons)}"
        message = message[:300]
        label = f"x:{kind}"
        if kind in X_DEFERRED_PROBLEMS:
            return Outcome("deferred", status, label, message, retry_after=hint or 3600.0)
        if kind in X_RETRYABLE_PROBLEMS or status in RETRYABLE_STATUSES:
            return Outcome("retryable", status, label, message, retry_after=hint)
        if status == 401:
            return Outcome("auth", status, label, message)
        return Outcome("permanent", status, label, message)
    errors = body.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict) and "code" in errors[0] \
            and "data" not in body:
        first = errors[0]
        label, message = f"x:{first.get('code')}", str(first.get("message", ""))[:300]
        if status == 429 or first.get("code") == 88:
            return Outcome("retryable", status, label, message, retry_after=hint)
        if status == 401:
            return Outcome("auth", status, label, message)
        if status in RETRYABLE_STATUSES:
            return Outcome("retryable", status, label, message, retry_after=hint)
        return Outcome("permanent", status, label, message)
    return None


# X's 24-hour posting caps (free tier: 17 posts per user a day) answer 429 with these
# headers (epoch-seconds reset) rather than a usage-capped problem.
X_DAILY_CAP_HEADERS = ("x-user-limit-24hour", "x-app-limit-24hour")


def _x_daily_cap(status: int, headers: Any) -> Outcome | None:
    if status != 429:
        return None
    for prefix in X_DAILY_CAP_HEADERS:
        if (headers.get(f"{prefix}-remaining") or "").strip() == "0":
            reset = (headers.get(f"{prefix}-reset") or "").strip()
            wait = max(0.0, float(reset) - time.time()) if reset.isdigit() else 3600.0
            return Outcome("deferred", status, f"x:{prefix}", "X's 24-hour posting limit is used up",
                           retry_after=wait)
    return None


def _linkedin_error(status: int, body: Any, hint: float | None = None) -> Outcome | None:
    """LinkedIn's `{"status", "serviceErrorCode"?, "code"?, "message"}`. LinkedIn's limits are
    daily and reset at midnight UTC, and it documents no Retry-After: a 429 whose message names a
    DAY limit ("Resource level throttle APPLICATION DAY limit ...") is a used-up quota (deferred
    until midnight UTC); any other 429 is retryable with whatever hint was sent (usually none, so
    the queue's backoff applies)."""
    if not isinstance(body, dict) or "serviceErrorCode" not in body and "code" not in body:
        return None
    if not isinstance(body.get("message"), str) or not isinstance(body.get("status", status), int):
        return None
    code = body.get("code") or body.get("serviceErrorCode")
    label, message = f"linkedin:{code}", body["message"][:300]
    if status == 401:
        return Outcome("auth", status, label, message)
    if status == 429 and " DAY limit" in body["message"]:
        return Outcome("deferred", status, label, message, retry_after=max(hint or 0.0, _seconds_to_utc_midnight()))
    if status in RETRYABLE_STATUSES:
        return Outcome("retryable", status, label, message, retry_after=hint)
    return Outcome("permanent", status, label, message)


def _seconds_to_utc_midnight(now: float | None = None) -> float:
    now = time.time() if now is None else now
    return 86400.0 - (now % 86400.0)


def _error_message(response: requests.Response, body: Any) -> str:
    if body is None:
        return response.text[:300]
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict):
            for key in ("message", "error_description", "detail", "description", "title"):
                if isinstance(err.get(key), str):
                    return err[key][:300]
        elif isinstance(err, str):
            # {"error": "invalid_request", "error_description"|"message": "..."} (OAuth 2.0, many REST APIs)
            detail = next((body[k] for k in ("error_description", "message", "detail") if isinstance(body.get(k), str)), "")
            return f"{err}: {detail}"[:300] if detail else err[:300]
    return str(body)[:300]
