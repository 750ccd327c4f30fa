"""Helpers the platform publishers share (`socialomega/platforms/<name>/publisher.py`)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import ErrorDetails

from socialomega.core import egress, http
from socialomega.core.config import ConfigError
from socialomega.core.egress import EgressPolicy, UnsafeDestination, check_url
from socialomega.core.http import Outcome
from socialomega.core.logging import get_logger
from socialomega.scheduling.slots import ScheduleSettings


class TargetKeys(BaseModel):
    """The keys any target entry may have, whatever its platform; each platform's model adds its
    own. Closed: a key no model names (a typo such as `page_idd`) is refused, with its name."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, pattern=r"^[a-z0-9-]{1,40}$")
    platform: str | None = None
    enabled: bool = True
    spec: dict[str, Any] = Field(default_factory=dict)  # processor/specs.VariantSpec checks these
    daily_cap: int | None = Field(None, ge=1)  # posts per rolling 24 h
    # Caption options (publishers/captions.build_caption reads them from the same entry).
    caption_template: str | None = None
    caption_max_length: int | None = Field(None, ge=1)
    max_hashtags: int | None = Field(None, ge=0)
    exclude_keywords: list[str] = Field(default_factory=list)
    # What a new version of a photo this target already published means (publishers/edits.py):
    # ignore it (the first publication stands), post it again, or change the post in place where
    # the platform allows it and otherwise do `on_edit_fallback`.
    on_edit: Literal["ignore", "repost", "update"] = "ignore"
    on_edit_fallback: Literal["ignore", "repost"] = "ignore"
    # Posting slots, time zone and daily maximum (scheduling/slots.ScheduleSettings); none: each
    # photo goes out as soon as it is ready.
    schedule: ScheduleSettings | None = None
    # Delete this target's posts of a photo that leaves the album, the inbox or its keyword
    # (scheduling/unpublish.py), where the platform can delete a post.
    unpublish_on_leave: bool = False


class PlatformSettings(TargetKeys):
    """The keys every social platform target has; each platform's settings model adds its own
    (and may change these defaults)."""

    PLATFORM: ClassVar[str] = ""  # set by each platform's model
    INVALID: ClassVar[type[ConfigError]] = ConfigError  # the platform's config error
    api_base_url: str
    allow_private_network: bool = False  # only for the local sandbox
    timeout_seconds: float = Field(20.0, gt=0, le=120)

    @field_validator("api_base_url")
    @classmethod
    def _scheme_and_host(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+$", value.rstrip("/")) or egress.origin(value) is None:
            raise ValueError("api_base_url must be scheme://host[:port] without a path")
        return value.rstrip("/")

    @property
    def api_host(self) -> str:
        where = egress.origin(self.api_base_url)
        return where[1] if where else ""

    def egress_hosts(self) -> list[str] | None:
        """Every host this target's publisher may call (its session's allow-list); None: the
        host of `api_base_url` only. Platforms that upload elsewhere add their hosts."""
        return None

    def egress_policy(self) -> EgressPolicy:
        """What the publisher's session may reach (core/egress.py)."""
        return EgressPolicy.of(self.api_base_url, hosts=self.egress_hosts(), allow_private=self.allow_private_network)

    def api_policy(self) -> EgressPolicy:
        """The API calls themselves: the host and port of `api_base_url` only."""
        return EgressPolicy.of(self.api_base_url, allow_private=self.allow_private_network)

    @classmethod
    def from_target(cls, target: dict[str, Any]) -> Self:
        """Validate one target entry; any problem is the platform's config error, naming the
        target (an operator fixes it; the message goes to the DLQ)."""
        name = target.get("name")
        if target.get("platform", cls.PLATFORM) != cls.PLATFORM:
            raise cls.INVALID(f"target {name!r} is not a {cls.PLATFORM} target")
        try:
            return cls.model_validate(target)
        except ValidationError as exc:
            raise cls.INVALID(f"{cls.PLATFORM} target {name!r} is invalid: {config_problems(exc)}") from None


def secret_value(credentials: Any, key: str, target: Any, invalid: type[ConfigError], *, fresh: bool = False) -> str:
    """One key of a target's secret (``fresh``: re-read, not the cached copy), stripped; missing
    or blank is the platform's config error. The value itself never reaches the message."""
    value = credentials.current(fresh=fresh).get(key)
    if not isinstance(value, str) or not value.strip():
        raise invalid(f"the secret of target {target!r} has no {key!r}")
    return value.strip()


def reread_token(token: Callable[..., str], log: Any) -> Callable[[str], str | None]:
    """The refresh hook (`http.ApiClient`) of a publisher whose token is a secret an operator
    rotates: after a refusal, `token(fresh=True)` re-reads the secret (another container may
    have held the old value in its cache); the call is repeated only with a token that changed."""

    def refreshed(refused: str) -> str | None:
        fresh = token(fresh=True)
        if fresh == refused:
            return None
        log.info("token_reloaded")
        return fresh

    return refreshed


class StepFailed(Exception):
    """A publishing step failed with a classified outcome (control flow inside a publisher;
    its `publish` turns it into the PublishResult)."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.code)
        self.outcome = outcome


def logger(platform: str, target: str | None) -> Any:
    """The publishers' one logging convention (as in service.py): snake_case event names, and
    `platform` and `target` bound on every line."""
    return get_logger().bind(platform=platform, target=target)


def timeouts(read_seconds: float) -> tuple[float, float]:
    """(connect, read) for `requests`, from a target's `timeout_seconds`."""
    return min(http.DEFAULT_TIMEOUT[0], read_seconds), read_seconds


def guarded_session(settings: PlatformSettings) -> Any:
    """The publisher's session (core/egress.py). When the target's own URLs fail the guard, the
    session may reach nothing, and each publish ends `unsafe_destination` with the reason at its
    first check, before any call."""
    try:
        return egress.session(settings.egress_policy())
    except UnsafeDestination:
        return egress.session(EgressPolicy(hosts=frozenset(), ports=frozenset()))


def unsafe_destination(url: str, policy: Callable[[], EgressPolicy]) -> Outcome | None:
    """The permanent outcome when `url` fails the static SSRF checks of `egress.check_url` under
    the target's `policy` (or the policy itself cannot be built from the target's URLs), else
    None. The addresses behind a name are checked when the session connects."""
    try:
        check_url(url, policy())
    except UnsafeDestination as exc:
        return Outcome("permanent", code="unsafe_destination", message=str(exc))
    return None


json_body = http.json_object  # the publishers' name for it


def parse_time(value: Any) -> datetime | None:
    """An aware datetime from ISO 8601 (the marker's `sent_at`), including Graph's
    `2026-11-26T08:59:00+0000` and `Z`; naive values are UTC. None when unreadable."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip().replace("Z", "+00:00")
    if re.search(r"[+-]\d{4}$", text):
        text = text[:-2] + ":" + text[-2:]
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def config_problems(exc: ValidationError) -> str:
    """A target's validation errors on one line, for the ConfigError an operator reads."""

    def message(error: ErrorDetails) -> str:
        where = ".".join(str(p) for p in error["loc"]) or "target"
        if error["type"] == "extra_forbidden":
            return f"{where}: unknown key (misspelt? see README, Configuration)"
        return f"{where}: {error['msg']}"

    return "; ".join(message(e) for e in exc.errors())
