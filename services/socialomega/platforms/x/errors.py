"""X API v2 errors and rate-limit headers, for `core.http.classify`.

* Problems: `{"type": "https://api.x.com/2/problems/<kind>", "title", "detail", "errors"?}`;
  kinds that are not the status's default are listed below.
* v1.1-style `{"errors": [{"code", "message"}]}` (code 88: rate limit).
* `x-rate-limit-reset` (epoch seconds) when `x-rate-limit-remaining` is 0.
* The 24-hour posting caps (free tier: 17 posts per user a day) answer 429 with
  `x-user-limit-24hour-*` / `x-app-limit-24hour-*` headers (epoch-seconds reset) rather than a
  usage-capped problem: deferred until the reset.
"""

from __future__ import annotations

import time
from typing import Any

from socialomega.core.http import RETRYABLE_STATUSES, Headers, Outcome, PlatformErrors

RETRYABLE_PROBLEMS = {"rate-limit-exceeded", "operational-disconnect"}
DEFERRED_PROBLEMS = {"usage-capped"}
DAILY_CAP_HEADERS = ("x-user-limit-24hour", "x-app-limit-24hour")


def _parse(status: int, body: Any, headers: Headers, hint: float | None) -> Outcome | None:
    return _daily_cap(status, headers) or _problem(status, body, hint)


def _daily_cap(status: int, headers: Headers) -> Outcome | None:
    if status != 429:
        return None
    for prefix in DAILY_CAP_HEADERS:
        if (headers.get(f"{prefix}-remaining") or "").strip() == "0":
            reset = (headers.get(f"{prefix}-reset") or "").strip()
            wait = max(0.0, float(reset) - time.time()) if reset.isdigit() else 3600.0
            return Outcome("deferred", status, f"x:{prefix}", "X's 24-hour posting limit is used up", retry_after=wait)
    return None


def _problem(status: int, body: Any, hint: float | None) -> Outcome | None:
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
        if kind in DEFERRED_PROBLEMS:
            return Outcome("deferred", status, label, message, retry_after=hint or 3600.0)
        if kind in RETRYABLE_PROBLEMS or status in RETRYABLE_STATUSES:
            return Outcome("retryable", status, label, message, retry_after=hint)
        if status == 401:
            return Outcome("auth", status, label, message)
        return Outcome("permanent", status, label, message)
    errors = body.get("errors")
    if (
        isinstance(errors, list)
        and errors
        and isinstance(errors[0], dict)
        and "code" in errors[0]
        and "data" not in body
    ):
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


def _wait(headers: Headers) -> float | None:
    reset = headers.get("x-rate-limit-reset")
    if reset and reset.strip().isdigit() and headers.get("x-rate-limit-remaining", "0").strip() == "0":
        return float(reset) - time.time()
    return None


ERRORS = PlatformErrors(parse=_parse, wait=_wait)
