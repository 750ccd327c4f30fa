"""Each target's credential health, and its refresh where the platform allows one.

`check_tokens` and `refresh_tokens` (the package's public API, see `socialomega/tokens/__init__.py`)
load the enabled targets (`core.targets`), read each target's secret through the one config
loader (`core.config.Credentials`) and hand it to its platform's module in this package
(`meta.py` for Instagram and Facebook, `linkedin.py`, `x.py`). A platform without credentials
that expire (the generic REST target) is not listed. A failure of one target never stops the
others: it becomes that target's `unknown` health or `failed` refresh, with the reason.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

import requests

from socialomega import platforms
from socialomega.core import deadline
from socialomega.core.config import ConfigError, Configuration, Credentials
from socialomega.core.deadline import DeadlineReached
from socialomega.core.targets import load_targets

Status = Literal["ok", "expiring", "expired", "invalid", "unknown", "never_expires"]
Action = Literal["refreshed", "not_due", "not_refreshable", "rotated_elsewhere", "refused", "failed"]
STATUSES: tuple[Status, ...] = ("ok", "expiring", "expired", "invalid", "unknown", "never_expires")
# What an alarm should hear about (TokenUnhealthy = 1): a token that no longer works or could not be checked.
UNHEALTHY: frozenset[str] = frozenset({"expired", "invalid", "unknown"})
DAY = 86400.0
DEFAULT_WITHIN_DAYS = 14.0
TOKEN_TIMEOUT = (5.0, 20.0)  # (connect, read) of an inspection or refresh call, before the deadline cuts it
# A new token's write to its secret: tries, and the first wait between them (doubling: 0.5+1+2+4 s).
WRITE_ATTEMPTS = 5
WRITE_BACKOFF_SECONDS = 0.5

Sessions = Callable[[Any], requests.Session]


@dataclass(frozen=True)
class TokenHealth:
    """One target's credential, as its platform reports it (never the token itself)."""

    target: str
    platform: str
    status: Status
    expires_at: datetime | None = None
    days_left: float | None = None
    refreshable: bool = False
    detail: str = ""
    scopes: tuple[str, ...] = ()
    refresh_expires_at: datetime | None = None  # LinkedIn: the refresh token's own end (it is not extended)

    @property
    def unhealthy(self) -> bool:
        return self.status in UNHEALTHY

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: datetimes in ISO 8601, days rounded to 0.01."""
        values = asdict(self)
        for key in ("expires_at", "refresh_expires_at"):
            values[key] = values[key].isoformat() if values[key] is not None else None
        values["days_left"] = None if self.days_left is None else round(self.days_left, 2)
        values["scopes"] = list(self.scopes)
        return values


@dataclass(frozen=True)
class RefreshResult:
    """What `refresh_tokens` did for one target; `after` is the new health when it refreshed."""

    target: str
    platform: str
    action: Action
    detail: str
    before: TokenHealth
    after: TokenHealth | None = None

    @property
    def health(self) -> TokenHealth:
        """The credential's health now: `after` when refreshed, else `before`."""
        return self.after or self.before

    @property
    def failed(self) -> bool:
        """The refresh was due and did not happen (an alarm should hear of it)."""
        return self.action in ("refused", "failed")

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "platform": self.platform,
            "action": self.action,
            "detail": self.detail,
            "before": self.before.as_dict(),
            "after": None if self.after is None else self.after.as_dict(),
        }


@dataclass(frozen=True)
class Context:
    """What a platform module needs for one target: its settings, its secret, a session, the time."""

    name: str
    platform: str
    settings: Any
    credentials: Credentials
    session: requests.Session
    now: datetime
    expiring_days: float = DEFAULT_WITHIN_DAYS
    extra: dict[str, Any] = field(default_factory=dict)

    def health(self, status: Status, detail: str, **values: Any) -> TokenHealth:
        return TokenHealth(self.name, self.platform, status, detail=detail, **values)

    def timed(self, status: Status, expires_at: datetime | None, detail: str, **values: Any) -> TokenHealth:
        """A health whose `days_left` is counted from `now`; a valid token's status follows its
        expiry (`classify`), an expired one is `expired` whatever the platform said."""
        status = classify(expires_at, self.now, self.expiring_days) if status == "ok" else status
        return TokenHealth(
            self.name,
            self.platform,
            status,
            expires_at=expires_at,
            days_left=days_between(self.now, expires_at),
            detail=detail,
            **values,
        )


class PlatformTokens(Protocol):
    """A platform module of this package (`meta`, `linkedin`, `x`)."""

    def session_for(self, settings: Any) -> requests.Session: ...

    def check(self, ctx: Context) -> TokenHealth: ...

    def refresh(self, ctx: Context, before: TokenHealth) -> RefreshResult: ...


def classify(expires_at: datetime | None, now: datetime, expiring_days: float) -> Status:
    """The status of a token the platform calls valid: `never_expires` without an expiry, else
    `expired` / `expiring` (within `expiring_days`) / `ok` by the time left."""
    if expires_at is None:
        return "never_expires"
    left = (expires_at - now).total_seconds()
    if left <= 0:
        return "expired"
    return "expiring" if left <= expiring_days * DAY else "ok"


def days_between(now: datetime, then: datetime | None) -> float | None:
    return None if then is None else (then - now).total_seconds() / DAY


def epoch(value: Any) -> datetime | None:
    """An aware datetime from epoch seconds (a secret's `expires_at`, Graph's and LinkedIn's
    answers); None for missing, zero, negative or unreadable values (Graph's 0 means "never")."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(seconds) or seconds <= 0:
        return None
    return datetime.fromtimestamp(seconds, UTC)


def _modules() -> dict[str, PlatformTokens]:
    # Imported here: a module per platform, loaded only when tokens are looked at.
    from socialomega.tokens import linkedin, meta, x

    return {"instagram": meta.INSTAGRAM, "facebook": meta.FACEBOOK, "linkedin": linkedin.TOKENS, "x": x.TOKENS}


def _contexts(
    configuration: Configuration,
    targets: Sequence[str] | None,
    now: datetime | None,
    expiring_days: float,
    sessions: Sessions | None,
) -> list[tuple[Context | None, PlatformTokens | None, TokenHealth | None]]:
    """Per enabled target with expiring credentials: its context and module, or (when its
    settings are invalid) the `invalid` health saying why."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    modules = _modules()
    enabled = load_targets(configuration)
    if targets is not None:
        unknown = sorted(set(targets) - {t.name for t in enabled})
        if unknown:
            raise ConfigError(f"no enabled target named {', '.join(unknown)}")
        enabled = [t for t in enabled if t.name in set(targets)]
    found: list[tuple[Context | None, PlatformTokens | None, TokenHealth | None]] = []
    for target in enabled:
        module = modules.get(target.platform)
        if module is None:
            continue  # no expiring credential (rest), or a platform this package does not know
        try:
            settings = platforms.get(target.platform).settings(target.model_dump(exclude_unset=True))
            session = (sessions or module.session_for)(settings)
        except (ConfigError, LookupError) as exc:
            found.append((None, None, TokenHealth(target.name, target.platform, "invalid", detail=str(exc)[:300])))
            continue
        credentials = configuration.credentials(target.name)
        ctx = Context(target.name, target.platform, settings, credentials, session, moment, expiring_days)
        found.append((ctx, module, None))
    return found


def _safe_check(ctx: Context, module: PlatformTokens) -> TokenHealth:
    try:
        return module.check(ctx)
    except ConfigError as exc:  # no secret, or a secret without the token: an operator adds it
        return ctx.health("invalid", str(exc)[:300])
    except DeadlineReached as exc:
        return ctx.health("unknown", f"not checked: {exc}")
    except Exception as exc:  # one target's surprise must not hide the others' health
        return ctx.health("unknown", f"check failed: {type(exc).__name__}")


def check_tokens(
    configuration: Configuration,
    *,
    targets: Sequence[str] | None = None,
    now: datetime | None = None,
    expiring_days: float = DEFAULT_WITHIN_DAYS,
    sessions: Sessions | None = None,
) -> list[TokenHealth]:
    """The credential health of every enabled target (or of `targets`), in configuration order."""
    results = []
    for ctx, module, settled in _contexts(configuration, targets, now, expiring_days, sessions):
        results.append(settled if settled is not None else _safe_check(ctx, module))  # type: ignore[arg-type]
    return results


def refresh_tokens(
    configuration: Configuration,
    *,
    within_days: float = DEFAULT_WITHIN_DAYS,
    targets: Sequence[str] | None = None,
    now: datetime | None = None,
    force: bool = False,
    sessions: Sessions | None = None,
) -> list[RefreshResult]:
    """Check every enabled target (or `targets`) and refresh the refreshable tokens that expire
    within `within_days` (all refreshable ones with `force`), writing each new token to its
    secret (compare-before-write: a secret changed meanwhile is left alone). Safe to run twice:
    a refreshed token is no longer due.

    A credential that rotates on use (X: every refresh spends the refresh token) is refreshed
    only when its target is named in `targets` (`socialomega tokens refresh --target x`): its
    publisher renews it when due, and a refresh nobody asked for would only risk the grant."""
    named = set(targets or ())
    results = []
    for ctx, module, settled in _contexts(configuration, targets, now, within_days, sessions):
        if settled is not None:
            results.append(RefreshResult(settled.target, settled.platform, "not_refreshable", settled.detail, settled))
            continue
        assert ctx is not None and module is not None
        before = _safe_check(ctx, module)
        results.append(_refresh_one(ctx, module, before, force, named=ctx.name in named))
    return results


def due(before: TokenHealth, force: bool) -> bool:
    """Whether a refresh is due: an expiring token (or an expired one, where the platform still
    accepts its refresh token), or any with `force`."""
    return force or before.status in ("expiring", "expired")


def _refresh_one(
    ctx: Context, module: PlatformTokens, before: TokenHealth, force: bool, *, named: bool
) -> RefreshResult:
    if not before.refreshable:
        why = before.detail if before.status in UNHEALTHY else "the platform offers no refresh for this credential"
        return RefreshResult(ctx.name, ctx.platform, "not_refreshable", why, before)
    if rotates_on_use(module):
        if not named:
            why = f"renewed on use by its publisher; `socialomega tokens refresh --target {ctx.name}` rotates it now"
            return RefreshResult(ctx.name, ctx.platform, "not_due", why, before)
    elif not due(before, force):
        return RefreshResult(ctx.name, ctx.platform, "not_due", "expires later than the refresh window", before)
    try:
        return module.refresh(ctx, before)
    except DeadlineReached as exc:
        return RefreshResult(ctx.name, ctx.platform, "failed", f"not refreshed: {exc}", before)
    except SecretWriteFailed as exc:  # a token that does not rotate: the stored one still works
        why = (
            f"renewed, but {exc}: the stored token still works until it expires; "
            f"`socialomega tokens refresh --target {ctx.name}` (or the next keeper run) renews it again"
        )
        return RefreshResult(ctx.name, ctx.platform, "failed", why, before)
    except ConfigError as exc:
        return RefreshResult(ctx.name, ctx.platform, "failed", str(exc)[:300], before)
    except Exception as exc:
        return RefreshResult(ctx.name, ctx.platform, "failed", f"refresh failed: {type(exc).__name__}", before)


def rotates_on_use(module: Any) -> bool:
    """Whether every refresh of this platform's credential spends its refresh token (X): then a
    refresh whose new pair is not stored loses the grant, so only an operator asks for one."""
    return bool(getattr(module, "ROTATES_ON_USE", False))


def renews(module: Any) -> bool:
    """Whether the keeper (unattended) may renew this platform's token and write its secret: a
    renewable one that does not rotate on use. Terraform grants PutSecretValue on exactly these
    (terraform/envs/aws/tokens.tf `token_renewed_platforms`; tests/unit/test_tokens_keeper.py)."""
    return bool(getattr(module, "renewable", False)) and not rotates_on_use(module)


def required(secret: dict[str, Any], key: str, target: str) -> str:
    """One key of a target's secret; missing or blank is a ConfigError (never quoting a value)."""
    value = secret.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"the secret of target {target!r} has no {key!r}")
    return value.strip()


def fresh_secret(credentials: Credentials) -> dict[str, Any]:
    """The secret as Secrets Manager holds it now (not the 5-minute cached copy)."""
    return dict(credentials.current(fresh=True))


def write_if_unchanged(credentials: Credentials, key: str, old: str, updates: dict[str, Any]) -> bool:
    """Compare-before-write: store `updates` over the secret's other keys only if `key` still
    holds `old`; False (nothing written) when someone else rotated it meanwhile. Secrets Manager
    has no conditional put, so a rotation landing between the read and the write can still be
    overwritten; both tokens are valid then, and the next run sees a fresh one. The write is
    retried (`store`): a failure after it is `SecretWriteFailed`."""
    latest = fresh_secret(credentials)
    if latest.get(key) != old:
        return False
    store(credentials, {**latest, **updates})
    return True


class SecretWriteFailed(Exception):
    """A new token was obtained but could not be written to the secret, after every try."""

    def __init__(self, secret: str, attempts: int, cause: BaseException) -> None:
        # The cause by type only: an SDK's text names the endpoint, never needed here.
        super().__init__(f"writing the secret {secret} failed {attempts} time(s) ({type(cause).__name__})")
        self.secret, self.attempts, self.cause = secret, attempts, cause


def secret_name(credentials: Credentials) -> str:
    """The secret's name for an operator (socialomega/<env>/<target>), as far as it is known."""
    configuration = getattr(credentials, "configuration", None)
    prefix = getattr(getattr(configuration, "settings", None), "secret_prefix", None)
    name = getattr(credentials, "name", None)
    if name is None:
        return "of this target"
    return f"{prefix}/{name}" if prefix else str(name)


def store(credentials: Credentials, value: dict[str, Any]) -> int:
    """Write `value` to the secret, retried: up to `WRITE_ATTEMPTS` tries, backing off from
    `WRITE_BACKOFF_SECONDS` (doubling), each wait only while the bound deadline allows it and a
    call after it (`core.deadline`). The token just obtained lives only in this process until
    then: for a rotating refresh token (X), a lost write is a lost grant. Returns the tries it
    took; raises `SecretWriteFailed` with the last cause."""
    limit = deadline.current()
    wait = WRITE_BACKOFF_SECONDS
    attempt = 0
    while True:
        attempt += 1
        try:
            credentials.replace(value)
            return attempt
        except Exception as exc:  # any SDK or network failure: the value must not be dropped silently
            if attempt >= WRITE_ATTEMPTS or not limit.allows_wait(wait):
                raise SecretWriteFailed(secret_name(credentials), attempt, exc) from None
        time.sleep(wait)
        wait *= 2


__all__ = [
    "STATUSES",
    "Context",
    "RefreshResult",
    "SecretWriteFailed",
    "TokenHealth",
    "check_tokens",
    "classify",
    "refresh_tokens",
]
