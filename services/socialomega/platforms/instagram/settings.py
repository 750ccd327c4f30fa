"""The settings of an Instagram target (its entry in `/socialomega/<env>/targets`)."""

from __future__ import annotations

import re
from typing import ClassVar

from pydantic import Field, field_validator

from socialomega.core.config import ConfigError
from socialomega.publishers.platform import PlatformSettings, timeouts

REAL_HOST = "https://graph.facebook.com"
# Meta's fetcher downloads `image_url` when the container is created, and retries on its side
# when a download fails; a redelivery may also recreate an EXPIRED container hours later from
# a new URL. 6 h covers Meta's fetch and its retries with a wide margin while keeping the
# presigned URL short-lived (SigV4 allows up to 7 days; Lambda role credentials cap it anyway
# at the session's lifetime, so the URL is re-signed on every container creation).
DEFAULT_IMAGE_URL_TTL = 6 * 3600
# The target's secret: the long-lived user token the publisher sends (and the token keeper renews).
# The one declaration of its keys: the publisher, tokens/meta.py and the preflight read these.
TOKEN_KEY = "access_token"
SECRET_KEYS: tuple[str, ...] = (TOKEN_KEY,)


class InvalidInstagramConfig(ConfigError):
    """The Instagram target's configuration or secret cannot work; an operator must fix it."""


class InstagramSettings(PlatformSettings):
    """The target entry's Instagram keys (other keys, e.g. `name`, `spec`, are ignored here;
    caption options `caption_template`, `max_hashtags`, `exclude_keywords`,
    `caption_max_length` go to `build_caption` from the target dict)."""

    PLATFORM: ClassVar[str] = "instagram"
    INVALID: ClassVar[type[ConfigError]] = InvalidInstagramConfig
    ig_user_id: str
    graph_version: str = "v25.0"
    api_base_url: str = REAL_HOST
    allowed_hosts: list[str] | None = None  # default: the host of api_base_url
    image_url_ttl_seconds: int = Field(DEFAULT_IMAGE_URL_TTL, ge=900, le=7 * 24 * 3600)
    # Meta suggests polling once a minute for up to 5 minutes; a Lambda should not wait that
    # long, so we poll briefly (here ~2+4+8+16 s) and let the queue bring the message back.
    status_poll_attempts: int = Field(5, ge=1, le=20)
    status_poll_initial_delay: float = Field(2.0, ge=0)
    status_poll_max_delay: float = Field(30.0, ge=0)
    in_progress_retry_seconds: float = Field(60.0, ge=1)
    quota_retry_seconds: float = Field(3600.0, ge=60)
    lookup_pages: int = Field(4, ge=1, le=20)  # recent-media pages find_post reads (50 each)

    def egress_hosts(self) -> list[str] | None:
        return self.allowed_hosts

    def call_timeout(self) -> tuple[float, float]:
        """(connect, read) seconds of each of its publisher's calls (before the deadline cuts them)."""
        return timeouts(self.timeout_seconds)

    def longest_call_seconds(self) -> float:
        """The longest one call of its publisher may take: connect + read timeout (`platforms/fit.py`)."""
        return sum(self.call_timeout())

    @field_validator("ig_user_id")
    @classmethod
    def _numeric_id(cls, value: str) -> str:
        if not re.fullmatch(r"\d{5,25}", str(value)):
            raise ValueError("ig_user_id must be the numeric Instagram professional account id")
        return str(value)

    @field_validator("graph_version")
    @classmethod
    def _version(cls, value: str) -> str:
        if not re.fullmatch(r"v\d{1,2}\.\d", value):
            raise ValueError("graph_version must look like 'v25.0'")
        return value


from_target = InstagramSettings.from_target
