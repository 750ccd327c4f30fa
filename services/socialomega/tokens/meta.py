"""Instagram and Facebook Page tokens (Meta Graph API): health from `debug_token`, Instagram's
long-lived user token renewed with `fb_exchange_token`.

The publishers use graph.facebook.com with Facebook Login (platforms/instagram/publisher.py,
platforms/facebook/publisher.py). Secret keys: Instagram `access_token`, Facebook
`page_access_token`; both optionally `app_id` and `app_secret` (the Meta app's), which this
module needs to inspect and renew a token, and `expires_at` (epoch seconds), written here.

* Inspect: `GET /{v}/debug_token?input_token=<token>` with an app token `{app-id}|{app-secret}`
  (or a token of a developer of the app) -> `{"data": {app_id, type: USER|PAGE, application,
  is_valid, issued_at?, expires_at, data_access_expires_at, scopes, user_id, error?}}`
  (developers.facebook.com/docs/facebook-login/access-tokens/debugging-and-error-handling;
  /docs/graph-api/reference/debug_token). `expires_at: 0` is read as "never": Meta says "Long-lived
  Page access tokens do not have an expiration date" (docs/facebook-login/guides/access-tokens/
  get-long-lived); that debug_token reports them with 0 is UNCONFIRMED (third-party schemas).
  An invalid token comes back with `is_valid: false` and `error: {code, message, subcode}`
  (subcode 463: expired; UNCONFIRMED that debug_token answers 200 rather than an error there:
  both are handled).
* Renew (Instagram with Facebook Login: a long-lived User token, "about 60 days"):
  `GET /{v}/oauth/access_token?grant_type=fb_exchange_token&client_id&client_secret&fb_exchange_token`
  -> `{"access_token", "token_type", "expires_in"}` (docs/facebook-login/guides/access-tokens/
  get-long-lived). "You can not use an expired token to request a long-lived token": an expired
  one needs an operator. Meta documents this call as a GET with the app secret in the query
  string; nothing here logs a URL (core/http.classify never quotes one).
* A Facebook Page token derived from a long-lived user token never expires; there is nothing to
  renew (a new one comes from `GET /{page-id}?fields=access_token` with a user token an operator
  holds). `data_access_expires_at` (90 days of unused permissions, docs/reference/login) is
  reported in `detail`; whether it stops a Page from posting is UNCONFIRMED.
* Instagram Login (graph.instagram.com) is not what the publisher uses. Were it to, its tokens
  would be renewed with `GET graph.instagram.com/refresh_access_token?grant_type=ig_refresh_token`
  (a token at least 24 h old and not expired; developers.facebook.com/docs/instagram-platform/
  reference/refresh_access_token), and whether debug_token reads them is UNCONFIRMED. A target
  pointed there is reported from its stored `expires_at` only, and not renewed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import requests

from socialomega.core import egress, http
from socialomega.core.logging import register_secret_values
from socialomega.platforms.facebook import settings as facebook_settings
from socialomega.platforms.instagram import settings as instagram_settings
from socialomega.platforms.meta import errors as meta_errors
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

INSTAGRAM_LOGIN_HOST = "graph.instagram.com"
EXPIRED_SUBCODE = 463


@dataclass(frozen=True)
class MetaTokens:
    """One Graph platform's token: the secret key holding it (its settings module's TOKEN_KEY),
    and whether it can be renewed."""

    platform: str
    token_key: str
    renewable: bool  # Instagram's user token: fb_exchange_token; a Facebook Page token: no

    def session_for(self, settings: Any) -> requests.Session:
        return egress.session(settings.api_policy())

    # --- health -----------------------------------------------------------------------------
    def check(self, ctx: Context) -> TokenHealth:
        secret = fresh_secret(ctx.credentials)
        token = required(secret, self.token_key, ctx.name)
        stored = epoch(secret.get("expires_at"))
        if _instagram_login(ctx.settings):
            return self._stored(ctx, stored, refreshable=False, how="an Instagram Login host: not inspected or renewed")
        app = _app_token(secret)
        if app is None:
            return self._stored(
                ctx,
                stored,
                refreshable=False,
                how="not inspected: add app_id and app_secret (the Meta app's) to the secret so debug_token "
                "can read its expiry" + (" and it can be renewed" if self.renewable else ""),
            )
        response, outcome = _api(ctx, app).call("GET", "debug_token", params={"input_token": token}, final=False)
        if response is None or not outcome.ok:
            if outcome.kind == "auth" and response is not None and not _names_input_token(response):
                return ctx.health("unknown", f"debug_token refused the app credentials: {outcome.message}")
            if outcome.kind == "auth":
                return self._refused(ctx, outcome.code, outcome.message)
            return ctx.health("unknown", f"debug_token failed ({outcome.code or outcome.kind}): {outcome.message}")
        data = http.json_object(response).get("data")
        if not isinstance(data, dict):
            return ctx.health("unknown", "debug_token answered without data")
        return self._from_debug(ctx, data)

    def _from_debug(self, ctx: Context, data: dict[str, Any]) -> TokenHealth:
        expires_at = epoch(data.get("expires_at"))
        scopes = tuple(str(s) for s in data.get("scopes") or [] if isinstance(s, str))
        kind = str(data.get("type") or "").upper()
        if data.get("is_valid") is not True:
            found = data.get("error")
            error: dict[str, Any] = found if isinstance(found, dict) else {}
            subcode = error.get("subcode") or error.get("error_subcode")
            expired = subcode == EXPIRED_SUBCODE or (expires_at is not None and expires_at <= ctx.now)
            message = str(error.get("message") or "the token is not valid")[:200]
            return ctx.timed(
                "expired" if expired else "invalid",
                expires_at,
                f"{message}: {_reauthorise(self.platform)}",
                scopes=scopes,
            )
        data_access = epoch(data.get("data_access_expires_at"))
        notes = [f"{kind or 'token'} token, checked with debug_token"]
        if data_access is not None:
            notes.append(f"data access until {data_access:%Y-%m-%d}")
        renewable = self.renewable and kind != "PAGE" and expires_at is not None
        if expires_at is not None and not renewable:
            notes.append(_reauthorise(self.platform) + " before it expires")
        return ctx.timed("ok", expires_at, "; ".join(notes), scopes=scopes, refreshable=renewable)

    def _stored(self, ctx: Context, stored: datetime | None, *, refreshable: bool, how: str) -> TokenHealth:
        if stored is None:
            return ctx.health("unknown", f"expiry unknown ({how}; no expires_at in the secret)")
        alive = stored > ctx.now
        return ctx.timed("ok" if alive else "expired", stored, how, refreshable=refreshable and alive)

    def _refused(self, ctx: Context, code: str, message: str) -> TokenHealth:
        return ctx.health(
            "expired" if f"/{EXPIRED_SUBCODE}" in code else "invalid",
            f"{message[:200]} ({code}): {_reauthorise(self.platform)}",
        )

    # --- renewal ----------------------------------------------------------------------------
    def refresh(self, ctx: Context, before: TokenHealth) -> RefreshResult:
        secret = fresh_secret(ctx.credentials)
        old = required(secret, self.token_key, ctx.name)
        app_id, app_secret = secret.get("app_id"), secret.get("app_secret")
        if not app_id or not app_secret or _instagram_login(ctx.settings):
            return RefreshResult(ctx.name, ctx.platform, "not_refreshable", "no app_id/app_secret", before)
        params = {
            "grant_type": "fb_exchange_token",
            "client_id": str(app_id),
            "client_secret": str(app_secret),
            "fb_exchange_token": old,
        }
        response, outcome = _api(ctx, None).call("GET", "oauth/access_token", params=params, final=False)
        if response is None or not outcome.ok:
            why = f"{outcome.code or outcome.kind}: {outcome.message}"
            if outcome.kind in ("auth", "permanent"):
                why = f"{why}; {_reauthorise(self.platform)}"
                return RefreshResult(ctx.name, ctx.platform, "refused", why[:300], before)
            return RefreshResult(ctx.name, ctx.platform, "failed", why[:300], before)
        body = http.json_object(response)
        new = body.get("access_token")
        if not isinstance(new, str) or not new:
            return RefreshResult(ctx.name, ctx.platform, "failed", "the renewal answered without a token", before)
        register_secret_values([new])
        updates: dict[str, Any] = {self.token_key: new}
        expires_in = body.get("expires_in")
        if isinstance(expires_in, int | float) and expires_in > 0:
            updates["expires_at"] = int((ctx.now + timedelta(seconds=float(expires_in))).timestamp())
        if not write_if_unchanged(ctx.credentials, self.token_key, old, updates):
            return RefreshResult(
                ctx.name, ctx.platform, "rotated_elsewhere", "the secret changed meanwhile: left alone", before
            )
        after = self.check(ctx)
        return RefreshResult(ctx.name, ctx.platform, "refreshed", "renewed and written to the secret", before, after)


def _app_token(secret: dict[str, Any]) -> str | None:
    app_id, app_secret = secret.get("app_id"), secret.get("app_secret")
    if not app_id or not app_secret:
        return None
    token = f"{app_id}|{app_secret}"
    register_secret_values([token])
    return token


def _api(ctx: Context, token: str | None) -> http.ApiClient:
    settings = ctx.settings
    return http.ApiClient(
        ctx.session,
        base_url=f"{settings.api_base_url}/{settings.graph_version}/",
        errors=meta_errors.ERRORS,
        timeout=TOKEN_TIMEOUT,
        token=(lambda: token) if token is not None else None,
    )


def _names_input_token(response: requests.Response) -> bool:
    """Whether Graph's refusal is about the token inspected rather than the app token: Graph
    says so in the message (UNCONFIRMED wording; 'input_token' or 'Session has expired')."""
    err = http.json_object(response).get("error")
    message = str(err.get("message", "")) if isinstance(err, dict) else ""
    return "input_token" in message or "expired" in message.lower()


def _instagram_login(settings: Any) -> bool:
    return egress.origin(settings.api_base_url) is not None and settings.api_host == INSTAGRAM_LOGIN_HOST


def _reauthorise(platform: str) -> str:
    if platform == "facebook":
        return "get a new Page token (GET /{page-id}?fields=access_token with a long-lived user token) into the secret"
    return "log in again (Facebook Login) and put a new long-lived token into the secret"


INSTAGRAM = MetaTokens("instagram", instagram_settings.TOKEN_KEY, renewable=True)
FACEBOOK = MetaTokens("facebook", facebook_settings.TOKEN_KEY, renewable=False)
