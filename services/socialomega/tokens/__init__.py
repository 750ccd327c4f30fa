"""Credential health and refresh for every publish target (`socialomega tokens`, the token keeper).

Public API (stable: the `socialomega tokens` CLI and the keeper Lambda, `tokens/handler.py`,
are written against it; the values never carry a token):

    from socialomega.tokens import check_tokens, refresh_tokens, TokenHealth, RefreshResult

    check_tokens(configuration, *, targets=None, now=None, expiring_days=14.0, sessions=None)
        -> list[TokenHealth]                       # one per enabled target, in configuration order
    refresh_tokens(configuration, *, within_days=14.0, targets=None, now=None, force=False, sessions=None)
        -> list[RefreshResult]                     # one per enabled target

* `configuration`: a `core.config.Configuration` (targets from SSM `/socialomega/<env>/targets`,
  secrets `socialomega/<env>/<target>` from Secrets Manager): the same against LocalStack and a
  real account.
* `targets`: target names to look at (None: every enabled target); an unknown name is a
  `ConfigError`.
* `now`: an aware UTC datetime (default: the current time); `days_left` is counted from it.
* `expiring_days` / `within_days`: a token expiring within that many days is `expiring` / due
  for a refresh. `force=True` refreshes every refreshable token whatever its expiry, except a
  credential that rotates on use (X): that one is refreshed only when its target is named in
  `targets` (`socialomega tokens refresh --target x`); the keeper never names one, and X's
  publisher renews its own.
* `sessions`: `Callable[[PlatformSettings], requests.Session]`, the HTTP session per target
  (default: the target's guarded session, `publishers.platform.guarded_session`; tests inject).

`TokenHealth` (frozen dataclass): `target, platform, status, expires_at, days_left,
refreshable, detail, scopes, refresh_expires_at`, and `as_dict()` (JSON-ready, datetimes in
ISO 8601). `status` is one of:
  "ok"            valid, expires later than `expiring_days`;
  "expiring"      valid, expires within `expiring_days`;
  "expired"       the platform says expired (or the stored expiry has passed) - `detail` says why
                  and what an operator does;
  "invalid"       refused / revoked / malformed, or the secret lacks the token;
  "unknown"       could not be checked (network, 5xx, deadline, no way to inspect this platform's
                  token) - `detail` says which;
  "never_expires" valid with no expiry (a Page token derived from a long-lived user token).
`expires_at` (aware datetime or None), `days_left` (float or None, negative once past),
`refreshable` (this target's token can be refreshed without an operator).

`RefreshResult` (frozen dataclass): `target, platform, action, detail, before, after`, and
`as_dict()`. `action` is one of:
  "refreshed"       a new token was obtained and written to the secret (`after` is its health);
  "not_due"         valid beyond `within_days` (nothing done);
  "not_refreshable" the platform (or this secret) offers no refresh: an operator re-authorises
                    before `before.expires_at`;
  "rotated_elsewhere" the secret changed since it was read (another refresh or an operator):
                    left alone;
  "refused"         the platform refused the refresh (expired or revoked): re-authorise;
  "failed"          the refresh or the write did not complete (network, 5xx, deadline): retry.
                    For X, a rotated pair whose write failed on every try says THE GRANT MAY
                    BE LOST and how to authorise again.
A new token's write to its secret is retried within the bound deadline (`health.store`).
Every HTTP call goes through `core.http` with the bound deadline (`core.deadline`).

Platform facts, with sources, are in the docstrings of `tokens/meta.py`, `linkedin.py` and `x.py`;
each platform's secret keys are declared once, in `platforms/<p>/settings.py` (`SECRET_KEYS`).
"""

from __future__ import annotations

from socialomega.tokens.health import RefreshResult, TokenHealth, check_tokens, refresh_tokens

__all__ = ["RefreshResult", "TokenHealth", "check_tokens", "refresh_tokens"]
