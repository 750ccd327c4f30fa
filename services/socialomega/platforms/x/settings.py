"""The settings of an X target (its entry in `/socialomega/<env>/targets`)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from socialomega.core import oauth
from socialomega.core.config import ConfigError
from socialomega.publishers.platform import PlatformSettings, timeouts

# The target's secret: the OAuth 2.0 pair and the client the publisher renews it with
# (core/oauth.RotatingToken). The one declaration of its keys: tokens/x.py and the preflight.
SECRET_KEYS: tuple[str, ...] = oauth.REQUIRED_KEYS


class InvalidXConfig(ConfigError):
    """The X target's settings or secret cannot work; an operator must fix them."""


class XSettings(PlatformSettings):
    """X settings: extra top-level keys of the target entry (caption options such as
    `caption_template`, `max_hashtags`, `exclude_keywords` pass through to build_caption)."""

    PLATFORM: ClassVar[str] = "x"
    INVALID: ClassVar[type[ConfigError]] = InvalidXConfig
    name: str
    api_base_url: str = "https://api.x.com"
    chunked_threshold_bytes: int = Field(1024 * 1024, ge=0, le=5 * 1024 * 1024)
    chunk_bytes: int = Field(1024 * 1024, ge=1024, le=5 * 1024 * 1024)
    media_category: str = "tweet_image"
    refresh_margin_seconds: int = Field(300, ge=0, le=3600)
    media_expiry_margin_seconds: int = Field(600, ge=0)
    max_status_polls: int = Field(20, ge=1, le=200)
    lookup_pages: int = Field(3, ge=1, le=10)
    lookup_slack_seconds: int = Field(120, ge=0, le=3600)

    def call_timeout(self) -> tuple[float, float]:
        """(connect, read) seconds of each of its publisher's calls, media uploads and token
        refreshes included (before the deadline cuts them)."""
        return timeouts(self.timeout_seconds)

    def longest_call_seconds(self) -> float:
        """The longest one call of its publisher may take: connect + read timeout (`platforms/fit.py`)."""
        return sum(self.call_timeout())


from_target = XSettings.from_target
