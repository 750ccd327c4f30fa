"""The settings of a generic REST target: its `endpoint` (URL, method, auth, body template)
and `idempotent_retries` (in its entry of `/socialomega/<env>/targets`)."""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from socialomega.core import egress
from socialomega.core.config import ConfigError
from socialomega.core.http import DEFAULT_TIMEOUT
from socialomega.publishers.platform import TargetKeys, config_problems

DEFAULT_BODY_TEMPLATE = """{
  "title": {{ title | tojson }},
  "description": {{ description | tojson }},
  "keywords": {{ keywords | tojson }},
  "image_url": {{ image_url | tojson }},
  "width": {{ width }},
  "height": {{ height }},
  "asset_id": {{ asset_id | tojson }},
  "version": {{ version | tojson }}
}"""


REMOTE_ID = "{remote_id}"  # where `delete_url` takes the post's id
CONNECT_TIMEOUT = 5.0  # seconds to connect to the endpoint
TOKEN_TIMEOUT = DEFAULT_TIMEOUT  # (connect, read) of the OAuth2 client-credentials token request


class RestAuth(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["none", "api_key", "basic", "bearer", "oauth2_client_credentials"] = "none"
    header: str = "X-Api-Key"  # for api_key
    token_url: str | None = None  # for oauth2_client_credentials
    scope: str | None = None


class RestEndpoint(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str
    method: Literal["POST", "PUT"] = "POST"
    mode: Literal["json", "multipart"] = "json"
    headers: dict[str, str] = Field(default_factory=dict)
    auth: RestAuth = Field(default_factory=RestAuth)
    body_template: str = DEFAULT_BODY_TEMPLATE
    image_field: str = "image"
    id_field: str = "id"  # dotted path of the remote id in the JSON response
    url_field: str | None = None
    allowed_hosts: list[str] | None = None
    allow_private_network: bool = False  # only for the local sandbox
    timeout_seconds: float = Field(20.0, gt=0, le=300)  # read timeout of the post (connect: CONNECT_TIMEOUT)
    image_url_ttl_seconds: int = 3600
    idempotency_header: str | None = "Idempotency-Key"
    # The target's delete endpoint (HTTP DELETE, same headers and auth as the post), with
    # `{remote_id}` where the post's id goes, e.g. https://api.example.com/v1/posts/{remote_id}.
    # Unset: the target's posts cannot be deleted (its publisher's `edits.delete` is False).
    delete_url: str | None = None

    @field_validator("delete_url")
    @classmethod
    def _one_placeholder(cls, value: str | None) -> str | None:
        if value is not None and value.count(REMOTE_ID) != 1:
            raise ValueError(f"delete_url must hold {REMOTE_ID} once, where the post's id goes")
        return value

    def delete_url_for(self, remote_id: str) -> str:
        """`delete_url` for one post, its id percent-encoded (a `/` cannot reach another path)."""
        if self.delete_url is None:
            raise InvalidTargetConfig("the endpoint has no delete_url")
        return self.delete_url.replace(REMOTE_ID, quote(remote_id, safe=""))

    def call_timeout(self) -> tuple[float, float]:
        """(connect, read) seconds of the post (before the deadline cuts them)."""
        return (CONNECT_TIMEOUT, self.timeout_seconds)

    def longest_call_seconds(self) -> float:
        """The longest one call of its publisher may take: connect + read timeout of the post, or
        of the OAuth2 token request (`TOKEN_TIMEOUT`) if longer (`platforms/fit.py`)."""
        token = sum(TOKEN_TIMEOUT) if self.auth.type == "oauth2_client_credentials" else 0.0
        return max(sum(self.call_timeout()), token)

    def egress_policy(self) -> egress.EgressPolicy:
        """The publisher may call `url`, `token_url` and `delete_url` (their hosts, or
        `allowed_hosts`, which must then name them all), on their ports; raises
        UnsafeDestination when one fails."""
        delete = self.delete_url.replace(REMOTE_ID, "id") if self.delete_url else None
        return egress.EgressPolicy.of(
            self.url, self.auth.token_url, delete, hosts=self.allowed_hosts, allow_private=self.allow_private_network
        )


# The secret keys each auth type reads (platforms/rest/publisher.py `_auth_headers`).
AUTH_SECRET_KEYS: dict[str, tuple[str, ...]] = {
    "none": (),
    "api_key": ("api_key",),
    "bearer": ("token",),
    "basic": ("username", "password"),
    "oauth2_client_credentials": ("client_id", "client_secret"),
}


def SECRET_KEYS(endpoint: RestEndpoint) -> tuple[str, ...]:  # noqa: N802 - the settings modules' hook name
    """The keys a REST target's secret needs: those of its auth type (the preflight reads this)."""
    return AUTH_SECRET_KEYS[endpoint.auth.type]


class InvalidTargetConfig(ConfigError):
    """The target's configuration or secret cannot work; an operator must fix it."""


class RestTarget(TargetKeys):
    """A REST target entry: the common keys, its `endpoint` and `idempotent_retries` (false:
    the endpoint ignores the Idempotency-Key header, so an unknown outcome is not retried)."""

    endpoint: RestEndpoint
    idempotent_retries: bool = True


def from_target(target: dict[str, Any]) -> RestEndpoint:
    """The target entry's `endpoint`, validated with the rest of the entry (no unknown key)."""
    if not target.get("endpoint"):
        raise InvalidTargetConfig(f"target {target.get('name')} has no endpoint")
    try:
        return RestTarget.model_validate(target).endpoint
    except ValidationError as exc:
        raise InvalidTargetConfig(f"rest target {target.get('name')!r} is invalid: {config_problems(exc)}") from None
