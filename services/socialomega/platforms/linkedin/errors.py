"""LinkedIn errors, for `core.http.classify`.

LinkedIn answers `{"status", "serviceErrorCode"?, "code"?, "message"}`. Its limits are daily
and reset at midnight UTC, and it documents no Retry-After: a 429 whose message names a DAY
limit ("Resource level throttle APPLICATION DAY limit ...") is a used-up quota (deferred until
midnight UTC); any other 429 is retryable with whatever hint was sent (usually none, so the
queue's backoff applies).
"""

from __future__ import annotations

import time
from typing import Any

from socialomega.core.http import RETRYABLE_STATUSES, Headers, Outcome, PlatformErrors


def _parse(status: int, body: Any, headers: Headers, hint: float | None) -> Outcome | None:
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


ERRORS = PlatformErrors(parse=_parse)
