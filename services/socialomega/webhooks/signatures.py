"""Is a webhook call really from the platform? The challenge answer and the signature check.

Each platform's own formats live in its package (`platforms/<name>/webhook.py`; Facebook and
Instagram share Meta's, `platforms/meta/webhook.py`); this module finds them in the registry
(`socialomega.platforms`) and holds what they share: the webhooks secret, the rejection, the
answer, the HMAC and the constant-time comparison over the raw bytes, before a body is parsed.

The challenge answers are HMACs with the same keys as the signatures, so an endpoint that
answered any challenge would sign any body for whoever asks. Each platform therefore accepts
challenges only in its own format, matched in full (no trailing newline or anything else after
the token), and its module says what an unauthenticated caller can still obtain from it.
Sources: ../shared/reference/platform-apis.md, section 6.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from socialomega import platforms

# The platforms that send webhooks (each with a `webhook.py`).
PLATFORMS = tuple(name for name, platform in platforms.PLATFORMS.items() if platform.webhooks)


class Rejected(Exception):
    """The call is not a genuine (or not a configured) platform call: answered, never processed."""

    def __init__(self, status: int, reason: str, public: str | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason  # logged
        self.public = reason if public is None else public  # answered


class WebhookKeys:
    """The `socialomega/<env>/webhooks` secret: verification keys by name (each platform's
    webhook module names the key it verifies with, `SECRET_KEY`, e.g. `x_consumer_secret`)."""

    def __init__(self, **values: Any) -> None:
        self._values = {name: str(value) for name, value in values.items() if value}

    @classmethod
    def from_secret(cls, value: dict[str, Any]) -> WebhookKeys:
        return cls(**{str(name): item for name, item in value.items()})

    def get(self, name: str) -> str | None:
        return self._values.get(name)

    def __getattr__(self, name: str) -> str | None:
        """`keys.x_consumer_secret`: the key of that name, None when the secret has none."""
        if name.startswith("_"):
            raise AttributeError(name)
        return self._values.get(name)

    def require(self, name: str, platform: str) -> str:
        key = self._values.get(name)
        if not key:  # the log says which key is missing; the caller only learns "not here"
            raise Rejected(
                404,
                f"webhooks for {platform} are not configured (no {name} in the webhooks secret)",
                public="not found",
            )
        return key


@dataclass(frozen=True)
class Answer:
    status: int
    body: str
    content_type: str = "application/json"


def mac(key: str, message: bytes) -> bytes:
    """HMAC-SHA256 of `message` with `key`."""
    return hmac.new(key.encode(), message, hashlib.sha256).digest()


def as_bytes(value: str) -> bytes:
    """A header or query value as bytes, for comparison only: never raises (a lone surrogate
    from a hostile request would make a plain `.encode()` raise)."""
    return value.encode("utf-8", "surrogatepass")


def check_signature(headers: dict[str, str], header: str, expected: str) -> None:
    """Raise Rejected(401) unless `headers[header]` is exactly `expected` (compared in constant
    time; only HTTP's optional whitespace, space and tab, around the value is ignored)."""
    given = headers.get(header, "")
    if not given:
        raise Rejected(401, f"no {header} header")
    if not hmac.compare_digest(as_bytes(given.strip(" \t")), expected.encode()):
        raise Rejected(401, f"{header} does not match the body")


def answer_challenge(platform: str, query: dict[str, str], keys: WebhookKeys) -> Answer:
    """The answer to the platform's subscription check (a GET on the callback URL)."""
    webhook = platforms.get(platform).webhook()
    answer: Answer = webhook.answer_challenge(query, keys.require(webhook.SECRET_KEY, platform), keys)
    return answer


def verify_signature(platform: str, headers: dict[str, str], body: bytes, keys: WebhookKeys) -> None:
    """Raise Rejected(401) unless `body` carries the platform's valid signature.

    `headers` must have lower-case names (HTTP header names are case-insensitive)."""
    webhook = platforms.get(platform).webhook()
    webhook.verify_signature(headers, body, keys.require(webhook.SECRET_KEY, platform))
