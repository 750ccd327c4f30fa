"""The settings of a LinkedIn target (its entry in `/socialomega/<env>/targets`)."""

from __future__ import annotations

import re
from typing import ClassVar

from pydantic import Field, field_validator

from socialomega.core import egress
from socialomega.core.config import ConfigError
from socialomega.publishers.platform import PlatformSettings, timeouts

DEFAULT_API_BASE = "https://api.linkedin.com"
DEFAULT_OAUTH_BASE = "https://www.linkedin.com"
# LinkedIn versions live about a year; this pin is a default only, targets set `linkedin_version`.
DEFAULT_VERSION = "202610"
# Where LinkedIn's upload URLs point (https://www.linkedin.com/dms-uploads/..., older
# https://api.linkedin.com/mediaUpload/...). The configured API host is added to these.
LINKEDIN_UPLOAD_HOSTS = ("www.linkedin.com", "api.linkedin.com")
_AUTHOR = re.compile(r"^urn:li:(person|organization):[A-Za-z0-9_-]+$")
_VERSION = re.compile(r"^\d{6}(\.\d{2})?$")
# The target's secret: the member's access token the publisher sends (client_id, client_secret and
# refresh_token are optional: introspection and refresh, tokens/linkedin.py). The one declaration
# of its required keys: the publisher, tokens/linkedin.py and the preflight read these.
TOKEN_KEY = "access_token"
SECRET_KEYS: tuple[str, ...] = (TOKEN_KEY,)


class InvalidLinkedInConfig(ConfigError):
    """The LinkedIn target's settings or secret cannot work; an operator must fix them."""


class LinkedInSettings(PlatformSettings):
    """A LinkedIn target entry (SSM JSON). Caption options (`caption_template`, `max_hashtags`,
    `exclude_keywords`, `caption_max_length`) are read from the same entry by build_caption."""

    PLATFORM: ClassVar[str] = "linkedin"
    INVALID: ClassVar[type[ConfigError]] = InvalidLinkedInConfig
    name: str
    author: str  # urn:li:person:<id> or urn:li:organization:<id>
    linkedin_version: str = DEFAULT_VERSION
    api_base_url: str = DEFAULT_API_BASE
    # LinkedIn's OAuth host (token introspection and refresh, `socialomega/tokens/linkedin.py`).
    oauth_base_url: str = DEFAULT_OAUTH_BASE
    visibility: str = "PUBLIC"
    upload_hosts: list[str] = Field(default_factory=lambda: list(LINKEDIN_UPLOAD_HOSTS))
    image_wait_seconds: float = Field(30.0, ge=0, le=300)  # bounded wait for AVAILABLE
    image_poll_seconds: float = Field(1.0, gt=0, le=30)
    finder_count: int = Field(20, ge=1, le=100)
    finder_pages: int = Field(3, ge=1, le=10)

    @field_validator("oauth_base_url")
    @classmethod
    def _oauth_origin(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+$", value.rstrip("/")) or egress.origin(value) is None:
            raise ValueError("oauth_base_url must be scheme://host[:port] without a path")
        return value.rstrip("/")

    @field_validator("author")
    @classmethod
    def _author(cls, value: str) -> str:
        if not _AUTHOR.match(value):
            raise ValueError("author must be urn:li:person:<id> or urn:li:organization:<id>")
        return value

    @field_validator("linkedin_version")
    @classmethod
    def _version(cls, value: str) -> str:
        if not _VERSION.match(value):
            raise ValueError("linkedin_version must be YYYYMM (or YYYYMM.RR)")
        return value

    @field_validator("visibility")
    @classmethod
    def _visibility(cls, value: str) -> str:
        if value not in ("PUBLIC", "CONNECTIONS"):
            raise ValueError("visibility must be PUBLIC or CONNECTIONS")
        return value

    def call_timeout(self) -> tuple[float, float]:
        """(connect, read) seconds of each of its publisher's calls, the image upload included
        (before the deadline cuts them)."""
        return timeouts(self.timeout_seconds)

    def longest_call_seconds(self) -> float:
        """The longest one call of its publisher may take: connect + read timeout (`platforms/fit.py`)."""
        return sum(self.call_timeout())

    @property
    def allowed_upload_hosts(self) -> list[str]:
        return sorted({*self.upload_hosts, self.api_host} - {""})

    def egress_hosts(self) -> list[str] | None:
        return self.allowed_upload_hosts  # the API host and LinkedIn's upload hosts

    def upload_policy(self) -> egress.EgressPolicy:
        """Where an `uploadUrl` from initializeUpload may point (it receives the bearer token)."""
        return self.egress_policy()


from_target = LinkedInSettings.from_target
