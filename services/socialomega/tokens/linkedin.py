"""LinkedIn tokens: health from token introspection, renewal with a refresh token where granted.

Secret keys: `access_token` (`platforms/linkedin/settings.py` TOKEN_KEY); optionally `client_id`
and `client_secret` (the LinkedIn app's, needed for both calls), `refresh_token`, and
`expires_at` / `refresh_token_expires_at` (epoch seconds, written here after a refresh).

* Inspect: `POST {oauth}/oauth/v2/introspectToken`, form `client_id, client_secret, token` ->
  `{"active", "status": active|expired|revoked, "client_id", "authorized_at", "created_at",
  "expires_at", "scope", "auth_type"}` (epoch seconds); 400: a bad client id or token, 401: a
  bad client secret (learn.microsoft.com/en-us/linkedin/shared/authentication/token-introspection).
* Renew: `POST {oauth}/oauth/v2/accessToken`, form `grant_type=refresh_token, refresh_token,
  client_id, client_secret` -> `{"access_token", "expires_in", "refresh_token",
  "refresh_token_expires_in"}`. Only for approved Marketing Developer Platform partners; access
  tokens live 60 days, the refresh token 365 days from the first authorisation, and a refresh
  neither extends nor rotates it: the new access token never outlives it
  (learn.microsoft.com/en-us/linkedin/shared/authentication/programmatic-refresh-tokens). The
  exact form fields come from the standard OAuth 2.0 refresh grant (RFC 6749 section 6):
  UNCONFIRMED against LinkedIn's own text. A refused refresh (400/401) needs the member to
  authorise the app again; LinkedIn "reserves the right to revoke" tokens at any time.
* Without `client_id`/`client_secret`, health comes from the stored `expires_at`, if any.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import requests

from socialomega.core import egress, http
from socialomega.core.logging import register_secret_values
from socialomega.platforms.linkedin import errors as linkedin_errors
from socialomega.platforms.linkedin.settings import TOKEN_KEY
from socialomega.tokens.health import (
    TOKEN_TIMEOUT,
    Context,
    RefreshResult,
    TokenHealth,
    epoch,
    fresh_secret,
    required,
    write_if_unchanged,
)

REAUTHORISE = "the member must authorise the app again (LinkedIn OAuth) and the new token go into the secret"


class LinkedInTokens:
    platform = "linkedin"
    renewable = True  # where the secret holds a refresh token (an MDP partner's)

    def session_for(self, settings: Any) -> requests.Session:
        policy = egress.EgressPolicy.of(
            settings.oauth_base_url, settings.api_base_url, allow_private=settings.allow_private_network
        )
        return egress.session(policy)

    def check(self, ctx: Context) -> TokenHealth:
        secret = fresh_secret(ctx.credentials)
        token = required(secret, TOKEN_KEY, ctx.name)
        refresh_ends = epoch(secret.get("refresh_token_expires_at"))
        refreshable = _can_refresh(secret, ctx.now)
        extra = {"refreshable": refreshable, "refresh_expires_at": refresh_ends}
        if not (secret.get("client_id") and secret.get("client_secret")):
            stored = epoch(secret.get("expires_at"))
            how = "not inspected: add client_id and client_secret (the LinkedIn app's) to the secret to introspect it"
            if stored is None:
                return ctx.health("unknown", f"expiry unknown ({how}; no expires_at in the secret)", **extra)
            return ctx.timed("ok" if stored > ctx.now else "expired", stored, how, **extra)
        form = {"client_id": str(secret["client_id"]), "client_secret": str(secret["client_secret"]), "token": token}
        response, outcome = _api(ctx).call("POST", "/oauth/v2/introspectToken", data=form, final=False)
        if response is None or not outcome.ok:
            if response is not None and response.status_code == 401:
                return ctx.health("unknown", "introspection refused the client secret (401)", **extra)
            if response is not None and response.status_code == 400:
                return ctx.health(
                    "invalid", f"LinkedIn does not know the token or the client id (400): {REAUTHORISE}", **extra
                )
            return ctx.health("unknown", f"introspection failed ({outcome.code or outcome.kind}): {outcome.message}")
        body = http.json_object(response)
        expires_at = epoch(body.get("expires_at"))
        scopes = tuple(s for s in str(body.get("scope") or "").split(",") if s)
        status = str(body.get("status") or ("active" if body.get("active") else "")).lower()
        if status == "active" and body.get("active") is not False:
            how = "introspected" + ("; refreshed automatically" if refreshable else f"; not refreshable: {REAUTHORISE}")
            return ctx.timed("ok", expires_at, how + " before it expires", scopes=scopes, **extra)
        if status == "expired":
            return ctx.timed("expired", expires_at, "LinkedIn says the token expired" + _then(refreshable), **extra)
        return ctx.timed("invalid", expires_at, f"LinkedIn says the token is {status or 'not active'}: {REAUTHORISE}")

    def refresh(self, ctx: Context, before: TokenHealth) -> RefreshResult:
        secret = fresh_secret(ctx.credentials)
        old = required(secret, TOKEN_KEY, ctx.name)
        if not _can_refresh(secret, ctx.now):
            return RefreshResult(ctx.name, ctx.platform, "not_refreshable", "no usable refresh token", before)
        form = {
            "grant_type": "refresh_token",
            "refresh_token": str(secret["refresh_token"]),
            "client_id": str(secret["client_id"]),
            "client_secret": str(secret["client_secret"]),
        }
        response, outcome = _api(ctx).call("POST", "/oauth/v2/accessToken", data=form, final=False)
        if response is None or not outcome.ok:
            refused = response is not None and response.status_code in (400, 401)
            why = f"{outcome.code or outcome.kind}: {outcome.message}" + (f"; {REAUTHORISE}" if refused else "")
            return RefreshResult(ctx.name, ctx.platform, "refused" if refused else "failed", why[:300], before)
        body = http.json_object(response)
        new = body.get("access_token")
        if not isinstance(new, str) or not new:
            return RefreshResult(ctx.name, ctx.platform, "failed", "the refresh answered without a token", before)
        register_secret_values([new, body.get("refresh_token")])
        updates: dict[str, Any] = {TOKEN_KEY: new}
        if _seconds(body.get("expires_in")):
            updates["expires_at"] = _after(ctx.now, body["expires_in"])
        if isinstance(body.get("refresh_token"), str) and body["refresh_token"]:
            updates["refresh_token"] = body["refresh_token"]
        if _seconds(body.get("refresh_token_expires_in")):
            updates["refresh_token_expires_at"] = _after(ctx.now, body["refresh_token_expires_in"])
        if not write_if_unchanged(ctx.credentials, TOKEN_KEY, old, updates):
            return RefreshResult(
                ctx.name, ctx.platform, "rotated_elsewhere", "the secret changed meanwhile: left alone", before
            )
        after = self.check(ctx)
        return RefreshResult(ctx.name, ctx.platform, "refreshed", "refreshed and written to the secret", before, after)


def _api(ctx: Context) -> http.ApiClient:
    return http.ApiClient(
        ctx.session, base_url=ctx.settings.oauth_base_url, errors=linkedin_errors.ERRORS, timeout=TOKEN_TIMEOUT
    )


def _can_refresh(secret: dict[str, Any], now: datetime) -> bool:
    if not (secret.get("refresh_token") and secret.get("client_id") and secret.get("client_secret")):
        return False
    ends = epoch(secret.get("refresh_token_expires_at"))
    return ends is None or ends > now


def _then(refreshable: bool) -> str:
    return "; its refresh token can renew it" if refreshable else f": {REAUTHORISE}"


def _seconds(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


def _after(now: datetime, seconds: float) -> int:
    return int((now + timedelta(seconds=float(seconds))).timestamp())


TOKENS = LinkedInTokens()
