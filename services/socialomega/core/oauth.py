"""OAuth 2.0 user tokens that expire and rotate (X, Adobe IMS for Lightroom): one refresh policy.

The secret (Secrets Manager, JSON) holds ``client_id``, ``client_secret``, ``access_token``,
``refresh_token`` and, once refreshed here, ``expires_at`` (epoch seconds). The access token is
refreshed proactively when it expires within ``margin_seconds`` and, by the caller, reactively
after a 401. Both providers rotate the refresh token on every use, so:

* before refreshing, the secret is re-read (``fresh=True``): another invocation may already have
  rotated it, and then its token is used instead of spending the now-revoked refresh token;
* the rotated pair is written back at once; if that write fails, the new refresh token lives only
  in this process: ``unsaved`` says so (the poller then fails its invocation, so the alarm
  fires) and ``token_write_back_failed`` is logged: an operator must re-authorise;
* a refused refresh is checked against the secret once more: if another invocation rotated the
  pair meanwhile (a race both lose nothing in), its pair is used.

A refusal (400/401/403 from the token endpoint: revoked, reused or expired refresh token, wrong
client secret) is :class:`TokenRefused`: permanent until an operator re-authorises. Anything
else (timeout, 5xx, 429, a body without a token) is :class:`TokenRefreshFailed`, worth retrying.
Neither message ever carries a token.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Literal, Protocol

import requests

from socialomega.core import http
from socialomega.core.config import ConfigError
from socialomega.core.logging import register_secret_values

__all__ = ["RotatingToken", "SecretStore", "TokenRefreshFailed", "TokenRefused"]

REQUIRED_KEYS = ("client_id", "client_secret", "access_token", "refresh_token")


class SecretStore(Protocol):
    """Where the token pair lives (config.Credentials in the services)."""

    def current(self, *, fresh: bool = False) -> dict[str, Any]: ...

    def replace(self, value: dict[str, Any]) -> None: ...


class TokenRefused(Exception):
    """The token endpoint refused the refresh token or the client: re-authorise."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(f"token refresh refused: HTTP {status} {error}: {description}")
        self.status, self.error, self.description = status, error, description


class TokenRefreshFailed(Exception):
    """The refresh did not complete (network, 5xx, 429, malformed answer): try again later."""

    def __init__(
        self, kind: http.Kind, code: str, message: str, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.kind, self.code, self.status, self.retry_after = kind, code, status, retry_after


def _number(value: Any) -> float | None:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


class RotatingToken:
    """The current access token of one secret, refreshed with its refresh token when due.

    ``client_auth``: ``"basic"`` sends the client secret as HTTP Basic (X, a confidential
    client), ``"body"`` as a form field (Adobe IMS ``/ims/token/v3``); ``client_id`` is always
    a form field. ``default_expires_in`` applies when an answer has no ``expires_in``;
    ``errors`` are the provider's error bodies and rate-limit headers (`http.classify`).
    """

    def __init__(
        self,
        secrets: SecretStore,
        token_url: str,
        *,
        client_auth: Literal["basic", "body"],
        session: requests.Session,
        timeout: Any,
        log: Any,
        what: str,
        margin_seconds: float = 300,
        default_expires_in: float = 3600,
        clock: Callable[[], float] = time.time,
        errors: http.PlatformErrors | None = None,
    ) -> None:
        self.secrets, self.token_url, self.client_auth = secrets, token_url, client_auth
        self.session, self.timeout, self.log, self.what = session, timeout, log, what
        self.margin_seconds, self.default_expires_in, self.clock = margin_seconds, default_expires_in, clock
        self.errors = errors
        self._secret: dict[str, Any] | None = None
        # True while a rotated pair could not be written back: the refresh token in the
        # secret is spent, so an operator must re-authorise unless a later write succeeds.
        self.unsaved = False

    def forget(self) -> None:
        """Read the secret again on next use (config caches it per process)."""
        self._secret = None

    def secret(self, fresh: bool = False) -> dict[str, Any]:
        if self._secret is None or fresh:
            value = self.secrets.current(fresh=fresh)
            missing = [key for key in REQUIRED_KEYS if not value.get(key)]
            if missing:
                raise ConfigError(f"the {self.what} secret lacks {', '.join(missing)}")
            self._secret = dict(value)
        return self._secret

    def access_token(self) -> str:
        """The access token to send now; refreshed first if it expires within the margin (if
        that early refresh fails transiently, the token is used while it is still valid)."""
        secret = self.secret()
        if not self._due(secret):
            return str(secret["access_token"])
        try:
            return self.refresh(stale=str(secret["access_token"]))
        except TokenRefreshFailed as exc:
            expires_at = _number(secret.get("expires_at"))
            if expires_at is None or expires_at <= self.clock():
                raise
            self.log.warning("token_refresh_postponed", code=exc.code)
            return str(secret["access_token"])

    def _due(self, secret: dict[str, Any]) -> bool:
        expires_at = _number(secret.get("expires_at"))
        return expires_at is not None and expires_at - self.clock() <= self.margin_seconds

    def refresh(self, stale: str) -> str:
        """A new access token, replacing ``stale`` (rejected or about to expire)."""
        secret = self.secret(fresh=True)
        if secret["access_token"] != stale and not self._due(secret):
            self.log.info("token_rotated_elsewhere")
            return str(secret["access_token"])
        try:
            return self._grant(secret)
        except TokenRefused:
            # Two invocations may refresh at once: the loser's refresh token was just spent
            # by the winner, whose pair is in the secret by now. Use that pair before
            # declaring the grant dead.
            latest = self.secret(fresh=True)
            if latest["refresh_token"] == secret["refresh_token"]:
                raise
            self.log.info("token_rotated_elsewhere")
            if latest["access_token"] != stale and not self._due(latest):
                return str(latest["access_token"])
            return self._grant(latest)

    def _grant(self, secret: dict[str, Any]) -> str:
        """POST the refresh grant; store and write back the rotated pair."""
        form = {
            "grant_type": "refresh_token",
            "refresh_token": secret["refresh_token"],
            "client_id": secret["client_id"],
        }
        auth = None
        if self.client_auth == "basic":
            auth = (str(secret["client_id"]), str(secret["client_secret"]))
        else:
            form["client_secret"] = secret["client_secret"]
        try:
            response = self.session.post(
                self.token_url, data=form, auth=auth, timeout=self.timeout, allow_redirects=False
            )
        except requests.RequestException as exc:
            # A lost answer may have rotated the refresh token without us learning the new one;
            # retrying is all there is (an operator re-authorises if it was).
            outcome = http.classify(error=exc, platform_errors=self.errors)
            raise TokenRefreshFailed(
                "retryable", "token_" + (outcome.code or "error"), f"token refresh failed: {type(exc).__name__}"
            ) from None
        body = http.json_object(response)
        if response.status_code in (400, 401, 403):
            raise TokenRefused(
                response.status_code,
                str(body.get("error") or response.status_code),
                str(body.get("error_description") or "the refresh token was refused")[:300],
            )
        outcome = http.classify(response, platform_errors=self.errors)
        if not outcome.ok or not body.get("access_token"):
            raise TokenRefreshFailed(
                "retryable" if outcome.ok else outcome.kind,
                "token_" + (outcome.code or "invalid_response"),
                "token refresh failed",
                response.status_code,
                outcome.retry_after,
            )
        register_secret_values([body.get("access_token"), body.get("refresh_token")])
        expires_in = _number(body.get("expires_in")) or self.default_expires_in
        rotated = {
            **secret,
            "access_token": body["access_token"],
            "refresh_token": body.get("refresh_token") or secret["refresh_token"],
            "expires_at": int(self.clock() + expires_in),
        }
        self._secret = rotated
        try:
            self.secrets.replace(rotated)
        except Exception as exc:  # the new refresh token lives only here now
            self.unsaved = True
            self.log.error("token_write_back_failed", error=type(exc).__name__)
        else:
            self.unsaved = False
            self.log.info("token_refreshed", expires_at=rotated["expires_at"])
        return str(rotated["access_token"])
