"""The one HTTP policy for calls to platforms.

* Every call has a connect and a read timeout; redirects are not followed.
* Nothing here retries a POST: posting is not idempotent, so retries happen at the
  queue level (the message comes back) where the publication claim decides what to do.
* `classify` turns a response or an exception into one of four outcomes that every
  publisher handles the same way.
"""

from __future__ import annotations

import email.utils
import ipaddress
import socket
import time
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

import requests

DEFAULT_TIMEOUT = (5.0, 20.0)  # (connect, read) seconds

Kind = Literal["ok", "retryable", "permanent", "unknown"]


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


def session() -> requests.Session:
    s = requests.Session()
    s.max_redirects = 0
    s.headers["User-Agent"] = "SocialOmega/0.1 (+https://github.com/socialomega)"
    return s


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


def classify(response: requests.Response | None = None, error: BaseException | None = None) -> Outcome:
    """Map an HTTP result to ok / retryable / permanent / unknown.

    `unknown` is a timeout after the request was sent: the platform may have acted on it.
    """
    if error is not None:
        if isinstance(error, requests.ConnectTimeout | requests.ConnectionError) and not isinstance(
            error, requests.ReadTimeout
        ):
            # Nothing reached the server (refused, DNS, connect timeout): safe to retry.
            return Outcome("retryable", code="connection_error", message=str(error))
        if isinstance(error, requests.Timeout):
            return Outcome("unknown", code="timeout", message=str(error))
        return Outcome("retryable", code=type(error).__name__, message=str(error))
    assert response is not None
    status = response.status_code
    if 200 <= status < 300:
        return Outcome("ok", status=status)
    message = _error_message(response)
    if status in RETRYABLE_STATUSES:
        return Outcome(
            "retryable", status=status, code=str(status), message=message,
            retry_after=retry_after_seconds(response.headers.get("Retry-After")),
        )
    return Outcome("permanent", status=status, code=str(status), message=message)


def _error_message(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict):
            for key in ("message", "error_description", "detail", "description", "title"):
                if isinstance(err.get(key), str):
                    return err[key][:300]
        elif isinstance(err, str):
            return err[:300]
    return str(body)[:300]


class UnsafeDestination(ValueError):
    """The URL points somewhere a publisher must not call (SSRF guard)."""


def check_destination(url: str, allowed_hosts: list[str] | None, allow_private: bool = False) -> None:
    """OWASP SSRF checks: http(s) only, host on the allow-list, and unless explicitly
    allowed (local sandbox), no loopback/private/link-local address among all resolved IPs."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"}:
        raise UnsafeDestination(f"scheme {parts.scheme!r} is not allowed")
    host = parts.hostname or ""
    if allowed_hosts is not None and host not in allowed_hosts:
        raise UnsafeDestination(f"host {host!r} is not on the target's allow-list")
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(host, parts.port or (443 if parts.scheme == "https" else 80))
    except socket.gaierror as exc:
        raise UnsafeDestination(f"host {host!r} does not resolve: {exc}") from exc
    for info in infos:
        ip = ipaddress.ip_address(info[4][0])
        if not ip.is_global:
            raise UnsafeDestination(f"host {host!r} resolves to non-public address {ip}")
