"""The descriptor every platform package exposes (`PLATFORM` in its `__init__.py`).

The descriptor holds the small facts other services need (caption limits, the default
variant spec) and names the package whose modules hold the rest, imported only when used, so
that the processor, which reads specs, never loads publishing code:

* `settings.py`: `from_target(target) -> settings`: the target entry's platform settings,
  validated (a ConfigError naming the target when they cannot work);
* `publisher.py`: `build(target, credentials) -> Publisher` (`publishers/base.py`);
* `errors.py` (Facebook and Instagram: Meta's, `platforms/meta/errors.py`): the `PlatformErrors`
  its publisher hands to `core.http` (error bodies, rate-limit headers);
* `insights.py` (where the platform reports figures per post): `read(publisher, posts, now)`
  (see `platforms/insights.py`);
* `webhook.py` (`webhooks=True`): `SECRET_KEY` (its key in the webhooks secret),
  `answer_challenge(query, key, keys)`, `verify_signature(headers, body, key)` and
  `engagements(doc)` (see `webhooks/signatures.py` and `webhooks/engagement.py`).
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType, ModuleType
from typing import Any

MB = 1024 * 1024


@dataclass(frozen=True)
class CaptionRules:
    """A platform's caption limits (`publishers/captions.py` fits every caption to them)."""

    max_length: int
    max_hashtags: int | None = None
    weighted: bool = False  # counted as X counts (twitter-text weights, URLs as 23)


@dataclass(frozen=True)
class Platform:
    """One platform, as the registry (`socialomega.platforms`) gives it by name."""

    name: str  # the `platform` of a target entry
    package: str  # where its modules live (`__name__` of its package)
    caption: CaptionRules
    spec: Mapping[str, Any]  # its default variant spec: `processor/specs.VariantSpec` fields
    webhooks: bool = False  # it sends engagement webhooks (has a webhook.py)
    # The counters its webhooks deliver (analytics METRICS names; webhook.py says from which items):
    # analytics counts them from notifications where the platform's own figures cannot be read.
    notified: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "spec", MappingProxyType(dict(self.spec)))
        if bool(self.notified) != self.webhooks:
            raise ValueError(f"{self.name}: a platform with webhooks names what they notify, and only then")

    def module(self, name: str) -> ModuleType:
        """One of the package's modules (`settings`, `publisher`, `webhook`, `insights`), imported on first use."""
        return importlib.import_module(f"{self.package}.{name}")

    def has_module(self, name: str) -> bool:
        """Whether the package has that module (not every platform has `insights`), without importing it."""
        return importlib.util.find_spec(f"{self.package}.{name}") is not None

    def settings(self, target: dict[str, Any]) -> Any:
        """The target entry's settings, validated by the platform's model."""
        return self.module("settings").from_target(target)

    def build_publisher(self, target: dict[str, Any], credentials: Any) -> Any:
        """The platform's publisher for one target entry and its secret."""
        return self.module("publisher").build(target, credentials)

    def webhook(self) -> ModuleType:
        """Its `webhook.py`; LookupError for a platform that sends no webhooks."""
        if not self.webhooks:
            raise LookupError(f"platform {self.name!r} sends no webhooks")
        return self.module("webhook")
