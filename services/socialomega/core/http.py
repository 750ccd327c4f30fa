"""The one HTTP policy for calls to platforms, and the one API client that applies it.

* Every call goes through an `egress.session(policy)` (the SSRF guard), has a connect and a
  read timeout, and follows no redirect: `ApiClient` does all three, adds the bearer token,
  and repeats a call once with a new token when the platform refused the old one.
* Nothing here retries a POST: posting is not idempotent, so retries happen at the
  queue level (the message comes back) where the publication claim decides what to do.
* Every call fits the invocation's deadline (`core/deadline.py`): its timeouts are the
  configured ones cut to what is left (`deadline.current().timeout`), and a call that cannot
  get `MIN_CALL_SECONDS` is not sent at all: `ApiClient.call` answers it with the retryable
  outcome `deadline_outcome` (nothing was sent, so even a final call is safe to repeat).
* `classify` turns a response or an exception into one of six outcomes that every
  publisher handles the same way (see `classify`). It knows HTTP only; what a platform adds
  (its error bodies, its rate-limit headers) comes in as that platform's `PlatformErrors`
  (`socialomega/platforms/<name>/errors.py`, Meta's in `platforms/meta/errors.py`).
"""

from __future__ import annotations

import email.utils
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC
from typing import Any, Literal

import requests

from socialomega.core import deadline, tracing
from socialomega.core.deadline import DeadlineReached
from socialomega.core.egress import UnsafeDestination

DEFAULT_TIMEOUT = (5.0, 20.0)  # (connect, read) seconds
# When a step stopped at the deadline with nothing sent, the message may come back at once:
# the next invocation has its whole time. A second only keeps a redelivery from being immediate.
DEADLINE_RETRY_SECONDS = 1.0

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
    """Parse Retry-After as delta-seconds or an HTTP date (RFC 9110 section 10.2.3); a date
    without a zone is UTC, a past date or a negative number is 0, anything else None."""
    if not value or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def deadline_outcome(message: str, retry_after: float = DEADLINE_RETRY_SECONDS) -> Outcome:
    """A step stopped at the invocation's deadline where stopping loses nothing (a call not sent,
    a wait loop stopped with its progress saved): retryable, code "deadline", soon."""
    return Outcome("retryable", code="deadline", message=message[:300], retry_after=max(retry_after, 0.0))


RETRYABLE_STATUSES = {408, 425, 429, 500, 502, 503, 504}

Headers = Mapping[str, str]


def _nothing(*_: Any) -> None:
    return None


@dataclass(frozen=True)
class PlatformErrors:
    """What one platform adds to `classify`.

    * `parse(status, body, headers, hint)`: the outcome its error body (or headers) means, or
      None to leave the answer to HTTP's status; `body` is the decoded JSON (any type, or None)
      and `hint` the seconds to wait that the headers give (see `retry_hint`).
    * `wait(headers)`: seconds to wait from the platform's own rate-limit headers, or None.
    """

    parse: Callable[[int, Any, Headers, float | None], Outcome | None] = _nothing
    wait: Callable[[Headers], float | None] = _nothing


def classify(
    response: requests.Response | None = None,
    error: BaseException | None = None,
    platform_errors: PlatformErrors | None = None,
) -> Outcome:
    """Map an HTTP result to ok / retryable / permanent / unknown / deferred / auth.

    * `unknown`: a timeout after the request was sent: the platform may have acted on it.
    * `deferred`: a posting quota is used up; try again later without counting a failure.
    * `auth`: the credentials were rejected or expired; a refresh or an operator fixes it.
    `platform_errors` (the caller's platform) refine the status-based answer from the error
    body, and its rate-limit headers join Retry-After in `retry_after`.
    """
    if error is not None:
        # Only the exception's type: requests quotes the URL in its text, and a pre-signed
        # upload URL (LinkedIn) or a query token would reach the record, the events and logs.
        message = type(error).__name__
        if isinstance(error, UnsafeDestination):
            # The guard's message names scheme, host and port only (core/egress.py).
            return Outcome("permanent", code="unsafe_destination", message=str(error)[:300])
        if isinstance(
            error,
            requests.exceptions.InvalidURL | requests.exceptions.InvalidSchema | requests.exceptions.MissingSchema,
        ):
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
    hint = retry_hint(response.headers, platform_errors)
    if platform_errors is not None:
        found = platform_errors.parse(status, body, response.headers, hint)
        if found is not None:
            return found
    message = _error_message(response, body)
    if status == 401:
        return Outcome("auth", status=status, code="401", message=message)
    if status in RETRYABLE_STATUSES:
        return Outcome("retryable", status=status, code=str(status), message=message, retry_after=hint)
    return Outcome("permanent", status=status, code=str(status), message=message)


def retry_hint(headers: Headers, platform_errors: PlatformErrors | None = None) -> float | None:
    """Seconds to wait: `Retry-After` (RFC 9110), or what the platform's own rate-limit headers
    say (`platform_errors.wait`), whichever is longer."""
    seconds = retry_after_seconds(headers.get("Retry-After"))
    platform = platform_errors.wait(headers) if platform_errors is not None else None
    if platform is not None:
        seconds = max(seconds or 0.0, platform)
    return None if seconds is None else max(0.0, seconds)


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def json_object(response: requests.Response) -> dict[str, Any]:
    """The JSON object of a response, or {} (a missing or non-object body is read as empty)."""
    body = _json(response)
    return body if isinstance(body, dict) else {}


def _error_message(response: requests.Response, body: Any) -> str:
    if body is None:
        return response.text[:300]
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict):
            for key in ("message", "error_description", "detail", "description", "title"):
                if isinstance(err.get(key), str):
                    return str(err[key])[:300]
        elif isinstance(err, str):
            # {"error": "invalid_request", "error_description"|"message": "..."} (OAuth 2.0, many REST APIs)
            detail = next(
                (body[k] for k in ("error_description", "message", "detail") if isinstance(body.get(k), str)), ""
            )
            return f"{err}: {detail}"[:300] if detail else err[:300]
    return str(body)[:300]


class ApiClient:
    """One platform API's calls, the way every publisher makes them.

    * `session`: the publisher's guarded session (`egress.session(policy)`): every destination,
      the first and any later one, passes the SSRF guard;
    * `timeout`: (connect, read) seconds for every call (one call may pass its own), cut to
      what the bound deadline leaves (`deadline.current().timeout`) for each request sent;
    * no redirect is followed (a 3xx is the answer);
    * `base_url` is put before a path that is not a full `http(s)://` URL;
    * `headers` go on every call (a call's own headers win);
    * `token()`: the bearer token for each call (None: the caller sends its own auth headers);
    * `refresh(refused_token)`: called once when an answer refused the token (`rejected`,
      by default: `classify` says "auth"); it returns the token to repeat the call with, or
      None to keep the refusal. The caller decides: a refusal means the platform did nothing,
      so repeating even a post is safe, but only a token that changed can change the answer;
    * `errors`: the platform's `PlatformErrors`, for `classify`.
    """

    def __init__(
        self,
        session: Any,
        *,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        errors: PlatformErrors | None = None,
        base_url: str = "",
        headers: Mapping[str, str] | None = None,
        token: Callable[[], str] | None = None,
        refresh: Callable[[str], str | None] | None = None,
        rejected: Callable[[requests.Response], bool] | None = None,
    ) -> None:
        self.session = session
        self.timeout = timeout
        self.errors = errors
        self.base_url = base_url
        self.headers = dict(headers or {})
        self.token = token
        self.refresh = refresh
        self.rejected = rejected or (lambda response: self.classify(response).kind == "auth")

    def send(
        self, method: str, path: str, *, headers: Mapping[str, str] | None = None, **kwargs: Any
    ) -> requests.Response:
        """One call (and its one repeat with a new token); raises `requests.RequestException`, or
        `DeadlineReached` before sending a request the deadline leaves too little time for."""
        url = path if path.startswith(("https://", "http://")) else self.base_url + path
        configured = kwargs.pop("timeout", None) or self.timeout
        deadline.current().timeout(configured, f"{method} not sent")  # before a token refresh, too
        token = self.token() if self.token is not None else None
        response = self._request(method, url, token, headers, configured, kwargs)
        if token is not None and self.refresh is not None and self.rejected(response):
            fresh = self.refresh(token)
            if fresh is not None:
                response = self._request(method, url, fresh, headers, configured, kwargs)
        return response

    def call(
        self, method: str, path: str, *, final: bool = True, **kwargs: Any
    ) -> tuple[requests.Response | None, Outcome]:
        """`send`, classified: (the response, its outcome), or (None, the exception's outcome).
        `final=False` for a call that is harmless to repeat (an upload, a read, a step before
        the post): a timeout after sending it is then "retryable", not "unknown". A call the
        deadline leaves too little time for is not sent: `deadline_outcome`, even when final."""
        try:
            response = self.send(method, path, **kwargs)
        except DeadlineReached as reached:
            return None, deadline_outcome(str(reached))
        except requests.RequestException as exc:
            outcome = self.classify(error=exc)
            if outcome.kind == "unknown" and not final:
                outcome = Outcome("retryable", outcome.status, outcome.code, outcome.message, outcome.retry_after)
            return None, outcome
        return response, self.classify(response)

    def classify(self, response: requests.Response | None = None, error: BaseException | None = None) -> Outcome:
        return classify(response, error, self.errors)

    def _request(
        self,
        method: str,
        url: str,
        token: str | None,
        headers: Mapping[str, str] | None,
        configured: tuple[float, float] | float,
        kwargs: dict[str, Any],
    ) -> requests.Response:
        timeout = deadline.current().timeout(configured, f"{method} not sent")  # per request: time has passed
        bearer = {"Authorization": f"Bearer {token}"} if token is not None else {}
        response: requests.Response = tracing.http_request(  # an X-Ray subsegment (a no-op locally)
            self.session.request,
            method,
            url,
            headers={**self.headers, **bearer, **(headers or {})},
            allow_redirects=False,
            timeout=timeout,
            **kwargs,
        )
        return response


class DeadlineSession:
    """A session's `request`/`get`/`post` with every timeout cut to the bound deadline, for code
    that calls `requests` itself rather than through `ApiClient` (core/oauth.RotatingToken's
    token refresh). Raises `DeadlineReached` before sending when too little time is left. The
    wrapped session (the publisher's guarded one) does the sending, so the SSRF guard holds."""

    def __init__(self, session: Any) -> None:
        self.session = session

    def request(
        self, method: str, url: str, *, timeout: tuple[float, float] | float = DEFAULT_TIMEOUT, **kwargs: Any
    ) -> requests.Response:
        response: requests.Response = tracing.http_request(
            self.session.request,
            method,
            url,
            timeout=deadline.current().timeout(timeout, f"{method} not sent"),
            **kwargs,
        )
        return response

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", url, **kwargs)
