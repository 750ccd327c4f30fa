"""X tokens: OAuth 2.0 user tokens with a rotating refresh token, renewed by the publisher on use.

Secret keys (`platforms/x/settings.py` SECRET_KEYS): `client_id`, `client_secret`,
`access_token`, `refresh_token`, and `expires_at` (epoch seconds, written by every refresh). The
access token lives two hours (x-api authentication/oauth-2-0 authorization-code.mdx: "will only
stay valid for two hours"); the publisher (`core.oauth.RotatingToken`) refreshes it when due and
after a 401, so its expiry says nothing about the credential's health: no days-left figure is
given, and a credential is never `expiring` for it.

Every refresh rotates the refresh token and spends the old one (single use: third parties,
UNCONFIRMED first-party): between X's answer and the write of the new pair, the grant exists
only in memory. So the keeper never refreshes X (`ROTATES_ON_USE`): its health comes from the
stored pair alone (the grant is present; X documents no introspection endpoint, UNCONFIRMED that
none exists, and no refresh-token lifetime, "about six months" per third parties, UNCONFIRMED).
An operator may still rotate it (`socialomega tokens refresh --target <x target>`, with the
operator's own credentials): the new pair's write is then retried within the deadline
(`health.store`), and if it still fails the result says the grant may be lost and how to
authorise again.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

import requests

from socialomega.core import egress, http
from socialomega.core.logging import get_logger
from socialomega.core.oauth import RotatingToken, TokenRefreshFailed, TokenRefused
from socialomega.platforms.x.errors import ERRORS
from socialomega.platforms.x.settings import SECRET_KEYS
from socialomega.tokens.health import (
    TOKEN_TIMEOUT,
    Context,
    RefreshResult,
    SecretWriteFailed,
    TokenHealth,
    epoch,
    fresh_secret,
    required,
    secret_name,
    store,
)

ACCESS_TOKEN_SECONDS = 7200
REAUTHORISE = "authorise the app again (OAuth 2.0 with offline.access) and put the new token pair into the secret"


class XTokens:
    platform = "x"
    renewable = True
    # Each refresh spends the refresh token: only an operator's explicit refresh rotates it here.
    ROTATES_ON_USE = True

    def session_for(self, settings: Any) -> requests.Session:
        return egress.session(settings.api_policy())

    def check(self, ctx: Context) -> TokenHealth:
        """From the stored pair only (nothing is spent): `ok` while the grant the publisher renews
        with is present, `invalid` when a key it needs is missing."""
        secret = fresh_secret(ctx.credentials)
        required(secret, "access_token", ctx.name)
        missing = [key for key in SECRET_KEYS if not secret.get(key)]
        if missing:
            return ctx.health(
                "invalid", f"the secret lacks {', '.join(missing)}, which the publisher needs to renew: {REAUTHORISE}"
            )
        access_ends = epoch(secret.get("expires_at"))
        # The publisher writes expires_at = its refresh + expires_in (two hours): when it last renewed.
        renewed = (
            f"last renewed about {access_ends - timedelta(seconds=ACCESS_TOKEN_SECONDS):%Y-%m-%d %H:%M} UTC"
            if access_ends
            else "not renewed here yet"
        )
        return ctx.health(
            "ok",
            f"refresh grant present ({renewed}); the publisher renews the two-hour access token on use. Not "
            "verified: X offers no way to check a grant without spending it, and its lifetime is not published",
            refreshable=True,
        )

    def refresh(self, ctx: Context, before: TokenHealth) -> RefreshResult:
        """An operator's explicit rotation (never the keeper's: `health.rotates_on_use`)."""
        log = get_logger().bind(platform="x", target=ctx.name)
        tokens = RotatingToken(
            ctx.credentials,
            ctx.settings.api_base_url + "/2/oauth2/token",
            client_auth="basic",
            session=cast(requests.Session, http.DeadlineSession(ctx.session)),
            timeout=TOKEN_TIMEOUT,
            log=log,
            what=f"X target {ctx.name!r}",
            # Asked for explicitly: a margin longer than any access token's life makes it due.
            margin_seconds=10 * 365 * 86400,
            default_expires_in=ACCESS_TOKEN_SECONDS,
            clock=lambda: ctx.now.timestamp(),
            errors=ERRORS,
        )
        stale = str(tokens.secret(fresh=True)["access_token"])
        try:
            tokens.refresh(stale)
        except TokenRefused as exc:
            return RefreshResult(ctx.name, ctx.platform, "refused", f"{exc}; {REAUTHORISE}"[:300], before)
        except TokenRefreshFailed as exc:
            return RefreshResult(ctx.name, ctx.platform, "failed", f"{exc.code}: {exc}"[:300], before)
        detail = "rotated and written to the secret"
        if tokens.unsaved:
            # RotatingToken's one write failed: the new pair is only in `tokens` now, the old
            # refresh token is spent. Write it again while the deadline allows.
            try:
                attempts = store(ctx.credentials, tokens.secret())
            except SecretWriteFailed as exc:
                log.error("token_write_back_lost", error=type(exc.cause).__name__, attempts=exc.attempts + 1)
                return RefreshResult(
                    ctx.name,
                    ctx.platform,
                    "failed",
                    f"X rotated the token pair, but {exc} after a first failed write: THE GRANT MAY BE LOST (the old "
                    f"refresh token is spent). If `socialomega tokens --target {ctx.name}` or the next post "
                    f"fails, {REAUTHORISE} ({secret_name(ctx.credentials)})",
                    before,
                )
            tokens.unsaved = False
            log.info("token_write_back_retried", attempts=attempts + 1)
            detail = f"rotated and written to the secret (on try {attempts + 1})"
        return RefreshResult(ctx.name, ctx.platform, "refreshed", detail, before, self.check(ctx))


TOKENS = XTokens()
