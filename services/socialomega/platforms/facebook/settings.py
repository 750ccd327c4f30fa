"""The settings of a Facebook Page target (its entry in `/socialomega/<env>/targets`)."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator

from socialomega.core.config import ConfigError
from socialomega.publishers.platform import PlatformSettings

DEFAULT_HOST = "graph.facebook.com"
# The target's secret: the Page token the publisher sends. The one declaration of its keys: the
# publisher, tokens/meta.py and the preflight read these.
TOKEN_KEY = "page_access_token"
SECRET_KEYS: tuple[str, ...] = (TOKEN_KEY,)


class InvalidFacebookTarget(ConfigError):
    """The Facebook target's configuration or secret cannot work; an operator must fix it."""


class FacebookSettings(PlatformSettings):
    """The platform keys of a `facebook` target entry (other keys, e.g. the caption options
    `caption_template`, `max_hashtags`, `exclude_keywords`, go to `build_caption` as they are)."""

    PLATFORM: ClassVar[str] = "facebook"
    INVALID: ClassVar[type[ConfigError]] = InvalidFacebookTarget
    page_id: str = Field(pattern=r"^[0-9]{1,32}$")
    graph_version: str = Field("v25.0", pattern=r"^v[0-9]{1,3}\.[0-9]{1,2}$")
    api_base_url: str = f"https://{DEFAULT_HOST}"
    allowed_hosts: list[str] = Field(default_factory=lambda: [DEFAULT_HOST])
    upload: Literal["url", "multipart"] = "url"
    # The URL is fetched during the call (and by Meta's retries of it, within seconds); every
    # delivery presigns a new one. 15 minutes covers a slow call with a wide margin.
    image_url_ttl_seconds: int = Field(900, ge=60, le=7 * 24 * 3600)
    timeout_seconds: float = Field(60.0, gt=0, le=300)  # the call includes Meta's download
    connect_timeout_seconds: float = Field(5.0, gt=0, le=60)
    send_alt_text: bool = True
    lookup_page_size: int = Field(25, ge=1, le=100)
    lookup_max_pages: int = Field(4, ge=1, le=20)
    clock_skew_seconds: float = Field(120.0, ge=0, le=3600)

    def egress_hosts(self) -> list[str] | None:
        return self.allowed_hosts

    def call_timeout(self) -> tuple[float, float]:
        """(connect, read) seconds of each of its publisher's calls (before the deadline cuts them)."""
        return (self.connect_timeout_seconds, self.timeout_seconds)

    def longest_call_seconds(self) -> float:
        """The longest one call of its publisher may take: connect + read timeout (`platforms/fit.py`)."""
        return sum(self.call_timeout())

    @field_validator("page_id", mode="before")
    @classmethod
    def _page_id_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


from_target = FacebookSettings.from_target
