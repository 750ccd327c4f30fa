"""The one config loader: resource names from the environment, settings from SSM,
credentials from Secrets Manager (cached, never logged)."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar

from socialomega.core import aws
from socialomega.core import logging as solog


class ConfigError(RuntimeError):
    """Configuration is missing or malformed: an operator must fix it."""


# In AWS each function is its own process with its own environment. The local runtime runs
# every function in one process and sets each one's own variables (e.g. SO_PUBLISHER_TARGET)
# here for the duration of its invocations; contextvars keep threads apart.
_function_environment: ContextVar[Mapping[str, str]] = ContextVar("function_environment", default=MappingProxyType({}))


def environ() -> Mapping[str, str]:
    """This function's environment: the process's, plus its own variables when run locally."""
    own = _function_environment.get()
    return {**os.environ, **own} if own else os.environ


def days_variable(variables: Mapping[str, str], name: str, default: float) -> float:
    """A number of days (0 < days <= 365) from the environment variable `name`, or `default`
    when it is unset or empty; ConfigError naming the variable otherwise."""
    raw = variables.get(name)
    if raw in (None, ""):
        return default
    try:
        days = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number of days, not {raw!r}") from None
    if not 0 < days <= 365:
        raise ConfigError(f"{name} must be between 0 and 365 days, not {raw!r}")
    return days


@contextmanager
def function_environment(values: Mapping[str, str]) -> Iterator[None]:
    """Run a local invocation with its function's own environment variables."""
    token = _function_environment.set(dict(values))
    try:
        yield
    finally:
        _function_environment.reset(token)


@dataclass(frozen=True)
class Settings:
    env: str
    raw_bucket: str
    processed_bucket: str
    store_bucket: str
    images_queue_url: str
    publish_topic_arn: str
    event_bus: str
    config_prefix: str
    secret_prefix: str

    @classmethod
    def from_env(cls, variables: Mapping[str, str] | None = None) -> Settings:
        variables = environ() if variables is None else variables
        names = {
            "env": "SO_ENV",
            "raw_bucket": "SO_RAW_BUCKET",
            "processed_bucket": "SO_PROCESSED_BUCKET",
            "store_bucket": "SO_STORE_BUCKET",
            "images_queue_url": "SO_IMAGES_QUEUE_URL",
            "publish_topic_arn": "SO_PUBLISH_TOPIC_ARN",
            "event_bus": "SO_EVENT_BUS",
            "config_prefix": "SO_CONFIG_PREFIX",
            "secret_prefix": "SO_SECRET_PREFIX",
        }
        missing = [var for var in names.values() if not variables.get(var)]
        if missing:
            raise ConfigError(f"missing environment variables: {', '.join(missing)}")
        return cls(**{field: variables[var] for field, var in names.items()})


class _TTLCache:
    """Tiny time-bounded cache: Lambda containers live for hours, config may change."""

    def __init__(self, ttl_seconds: float) -> None:
        self.ttl = ttl_seconds
        self._items: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: str, load: Any) -> Any:
        now = time.monotonic()
        with self._lock:
            hit = self._items.get(key)
            if hit and now - hit[0] < self.ttl:
                return hit[1]
        value = load()
        with self._lock:
            self._items[key] = (now, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_parameters = _TTLCache(ttl_seconds=60)
_secrets = _TTLCache(ttl_seconds=300)


class Configuration:
    """The environment's settings (SSM, JSON values under `/socialomega/<env>/`) and secrets
    (Secrets Manager, `socialomega/<env>/<name>`), read through the clients a bootstrap gives it
    and cached per process (settings 60 s, secrets 5 min). Secret values are never logged, and
    every value read is registered with the log redactor."""

    def __init__(self, settings: Settings, ssm: Any, secretsmanager: Any) -> None:
        self.settings = settings
        self.ssm = ssm
        self.secretsmanager = secretsmanager

    @classmethod
    def default(cls, settings: Settings) -> Configuration:
        return cls(settings, aws.client("ssm"), aws.client("secretsmanager"))

    def parameter(self, name: str) -> Any:
        """A JSON SSM parameter under the environment's prefix, e.g. `targets`."""
        full = f"{self.settings.config_prefix}/{name}"

        def load() -> Any:
            try:
                value = self.ssm.get_parameter(Name=full)["Parameter"]["Value"]
            except self.ssm.exceptions.ParameterNotFound as exc:
                raise ConfigError(f"SSM parameter {full} does not exist") from exc
            try:
                return json.loads(value)
            except json.JSONDecodeError as exc:
                raise ConfigError(f"SSM parameter {full} is not JSON: {exc}") from exc

        return _parameters.get(full, load)

    def secret(self, name: str, *, fresh: bool = False) -> dict[str, Any]:
        """A JSON secret `socialomega/<env>/<name>`."""
        full = f"{self.settings.secret_prefix}/{name}"

        def load() -> dict[str, Any]:
            try:
                raw = self.secretsmanager.get_secret_value(SecretId=full)["SecretString"]
            except self.secretsmanager.exceptions.ResourceNotFoundException as exc:
                raise ConfigError(f"secret {full} does not exist") from exc
            try:
                value = json.loads(raw)
            except json.JSONDecodeError:
                # `from None`: the decode error's context could quote the secret.
                raise ConfigError(f"secret {full} is not a JSON object") from None
            if not isinstance(value, dict):
                raise ConfigError(f"secret {full} is not a JSON object")
            solog.register_secret_values(value)  # masked wherever they might appear in a log line
            return value

        if fresh:
            _secrets.clear()
        value: dict[str, Any] = _secrets.get(full, load)
        return value

    def store_secret(self, name: str, value: dict[str, Any]) -> None:
        """Write a new value of `socialomega/<env>/<name>` (rotated OAuth tokens) and drop the
        cached copy so the next read sees it."""
        full = f"{self.settings.secret_prefix}/{name}"
        self.secretsmanager.put_secret_value(SecretId=full, SecretString=json.dumps(value))
        _secrets.clear()

    def credentials(self, name: str) -> Credentials:
        return Credentials(self, name)


class Credentials:
    """One service's secret (a publish target's, or the poller's Lightroom secret): read
    (cached) and, for providers that rotate tokens, written back."""

    def __init__(self, configuration: Configuration, name: str) -> None:
        self.configuration = configuration
        self.name = name

    def current(self, *, fresh: bool = False) -> dict[str, Any]:
        return self.configuration.secret(self.name, fresh=fresh)

    def replace(self, value: dict[str, Any]) -> None:
        self.configuration.store_secret(self.name, value)


def clear_caches() -> None:
    _parameters.clear()
    _secrets.clear()


@dataclass(frozen=True)
class Resilience:
    """How long work is retried and when a target's breaker opens (the same in every function;
    Terraform sets the variables, a test suite may shorten them, the logic never changes).

    * retries: exponential backoff with full jitter from `retry_base_seconds`, each wait at most
      `retry_max_delay_seconds` (a platform's own hint may ask for longer), for up to
      `retry_max_age_seconds` after the first failure; only then the dead-letter queue;
    * breaker: opens after `breaker_threshold` consecutive retryable failures of one target,
      lets one probe through after `breaker_cooldown_seconds` (doubling after each failed probe,
      up to `breaker_max_cooldown_seconds`); an open breaker older than
      `breaker_alarm_seconds` is reported in the `BreakerOpenSeconds` metric's alarm.
    * `record_min_seconds`: a record is not started with less time than this left in the
      invocation (it goes back to its queue, not counted as a failure).
    """

    retry_base_seconds: float = 4.0
    retry_max_delay_seconds: float = 3600.0
    retry_max_age_seconds: float = 86400.0
    breaker_threshold: int = 5
    breaker_cooldown_seconds: float = 60.0
    breaker_max_cooldown_seconds: float = 900.0
    breaker_alarm_seconds: float = 1800.0
    record_min_seconds: float = 10.0

    VARIABLES: ClassVar[dict[str, str]] = {
        "retry_base_seconds": "SO_RETRY_BASE_SECONDS",
        "retry_max_delay_seconds": "SO_RETRY_MAX_DELAY_SECONDS",
        "retry_max_age_seconds": "SO_RETRY_MAX_AGE_SECONDS",
        "breaker_threshold": "SO_BREAKER_THRESHOLD",
        "breaker_cooldown_seconds": "SO_BREAKER_COOLDOWN_SECONDS",
        "breaker_max_cooldown_seconds": "SO_BREAKER_MAX_COOLDOWN_SECONDS",
        "breaker_alarm_seconds": "SO_BREAKER_ALARM_SECONDS",
        "record_min_seconds": "SO_RECORD_MIN_SECONDS",
    }

    @classmethod
    def from_env(cls, variables: Mapping[str, str] | None = None) -> Resilience:
        """Defaults, overridden by whichever variables are set; a malformed one is a ConfigError."""
        variables = environ() if variables is None else variables
        values: dict[str, Any] = {}
        for field_name, variable in cls.VARIABLES.items():
            raw = variables.get(variable)
            if raw in (None, ""):
                continue
            kind = int if field_name == "breaker_threshold" else float
            try:
                value = kind(raw)
            except ValueError:
                raise ConfigError(f"{variable} must be a number, not {raw!r}") from None
            if value <= 0:
                raise ConfigError(f"{variable} must be positive, not {raw!r}")
            values[field_name] = value
        return cls(**values)
