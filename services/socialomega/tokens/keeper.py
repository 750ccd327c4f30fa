"""The token keeper's run: check every target, refresh what is due, report each target.

Per target one EMF line (core/metrics.py, namespace SocialOmega, dimension `Target`):
`TokenDaysLeft` (days until the credential stops working without a person; only when the
platform tells, so X's and never-expiring Page tokens have none) and `TokenUnhealthy` (1 when
the token is expired, invalid or could not be checked, or a due refresh did not happen; else 0),
plus one log line `token_checked` with the status, expiry, action and reason (never a token).
The alarms (terraform/envs/aws/alerting.tf) fire on TokenDaysLeft < `token_alarm_days` and on
TokenUnhealthy > 0.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from socialomega.core import config, metrics
from socialomega.core.config import Configuration
from socialomega.core.logging import get_logger
from socialomega.tokens.health import DEFAULT_WITHIN_DAYS, RefreshResult, Sessions, refresh_tokens

WITHIN_DAYS_VARIABLE = "SO_TOKEN_REFRESH_WITHIN_DAYS"


@dataclass(frozen=True)
class KeeperSettings:
    """`refresh_within_days`: a refreshable token expiring within this many days is refreshed
    (Terraform's `token_refresh_within_days`, variable SO_TOKEN_REFRESH_WITHIN_DAYS)."""

    refresh_within_days: float = DEFAULT_WITHIN_DAYS

    @classmethod
    def from_env(cls, variables: Mapping[str, str] | None = None) -> KeeperSettings:
        variables = config.environ() if variables is None else variables
        return cls(config.days_variable(variables, WITHIN_DAYS_VARIABLE, DEFAULT_WITHIN_DAYS))


def report_line(result: RefreshResult) -> dict[str, Any]:
    """What the keeper logs and returns for one target (no token)."""
    health = result.health
    return {
        "target": result.target,
        "platform": result.platform,
        "status": health.status,
        "days_left": None if health.days_left is None else round(health.days_left, 2),
        "expires_at": None if health.expires_at is None else health.expires_at.isoformat(),
        "refreshable": health.refreshable,
        "action": result.action,
        "detail": result.detail if result.action in ("refreshed", "refused", "failed") else health.detail,
        "unhealthy": health.unhealthy or result.failed,
    }


def keep(
    configuration: Configuration,
    settings: KeeperSettings,
    *,
    now: datetime | None = None,
    emit: Callable[..., None] = metrics.emit,
    sessions: Sessions | None = None,
) -> list[dict[str, Any]]:
    """One run: refresh what is due, then one metric line and one log line per target."""
    log = get_logger(service="tokens")
    results = refresh_tokens(configuration, within_days=settings.refresh_within_days, now=now, sessions=sessions)
    lines = []
    for result in results:
        line = report_line(result)
        values: dict[str, float] = {"TokenUnhealthy": 1.0 if line["unhealthy"] else 0.0}
        if line["days_left"] is not None:
            values["TokenDaysLeft"] = float(line["days_left"])
        emit(values, {"Target": result.target}, unit="None")
        (log.warning if line["unhealthy"] else log.info)("token_checked", **line)
        lines.append(line)
    return lines
