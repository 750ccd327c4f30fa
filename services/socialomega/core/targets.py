"""Publish targets from configuration (SSM `/socialomega/<env>/targets`).

A target is one destination: a name (also the SNS `platform` attribute and the queue
suffix), the platform that implements it, its variant spec, and platform settings.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from socialomega.core import config
from socialomega.core.config import ConfigError


class Target(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str = Field(pattern=r"^[a-z0-9-]{1,40}$")
    platform: str
    enabled: bool = True
    spec: dict[str, Any] = Field(default_factory=dict)


def load_targets(configuration: config.Configuration) -> list[Target]:
    """The enabled targets of `/socialomega/<env>/targets`."""
    raw = configuration.parameter("targets")
    items = raw.get("targets", raw) if isinstance(raw, dict) else raw
    if not isinstance(items, list):
        raise ConfigError('the targets parameter must be a JSON list (or {"targets": [...]})')
    try:
        targets = [Target.model_validate(item) for item in items]
    except ValidationError as exc:
        raise ConfigError(f"invalid targets configuration: {exc}") from exc
    names = [t.name for t in targets]
    if len(set(names)) != len(names):
        raise ConfigError("target names must be unique")
    return [t for t in targets if t.enabled]
