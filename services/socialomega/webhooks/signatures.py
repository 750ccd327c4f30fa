"""Is a webhook call really from the platform? Each platform's challenge answer and signature.

Sources (see ../shared/reference/platform-apis.md, section 6):
* Meta (Facebook Pages, Instagram): subscription check `GET ?hub.mode=subscribe&hub.challenge=
  &hub.verify_token=` answered with the bare challenge; notifications signed
  `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, raw body)>`.
* X (Account Activity / V2 webhooks): CRC `GET ?crc_token=` answered with
  `{"response_token": "sha256=<base64 HMAC-SHA256(consumer secret, crc_token)>"}`; notifications
  signed `x-twitter-webhooks-signature: sha256=<base64 HMAC-SHA256(consumer secret, raw body)>`.
* LinkedIn: validation `GET ?challengeCode=` answered with JSON `{"challengeCode",
  "challengeResponse": <hex HMAC-SHA256(client secret, challengeCode)>}` within 3 s;
  notifications signed `X-LI-Signature`. UNCONFIRMED: LinkedIn's wording ("the HMACSHA256 hash
  of the JSON-encoded string representation of the POST body prefixed by hmacsha256=") is read
  here as hex HMAC-SHA256(client secret, "hmacsha256=" + raw body), as most client code does.

Signatures are compared in constant time over the raw bytes, before the body is parsed.

The challenge answers are HMACs with the same keys as the signatures (X: the very same
formula), so an endpoint that answered any challenge would sign any body for whoever asks.
Challenges are therefore accepted only in the platforms' own formats, matched in full (no
trailing newline or anything else after the token): X's `crc_token` a token of 1-256
base64/URL-safe characters, LinkedIn's `challengeCode` a UUID, Meta's challenge a plain token.
What that leaves an unauthenticated caller, per platform:
* Meta: the challenge is echoed, not signed: nothing to mint.
* LinkedIn: the answer is HMAC(secret, challengeCode) but a body's signature is
  HMAC(secret, "hmacsha256=" + body); a UUID never starts with "hmacsha256=": nothing to mint.
* X: by X's design the CRC answer for token `t` IS the valid signature of the body `t`, so any
  GET mints a valid signature for a body equal to a token. Such a body is 1-256 characters of
  [A-Za-z0-9+/=_-]: it can never contain `{`, so it can never be a JSON object and never a
  readable notification, and it can never produce an event. It is also refused outright
  (`verify_signature` answers 401 for an X body in the token format: X only ever posts JSON
  objects), so a minted signature writes nothing either. The token format is not narrowed
  further: X documents no length or alphabet, and a CRC it fails invalidates the webhook.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from typing import Any

PLATFORMS = ("facebook", "instagram", "x", "linkedin")
# Meta sends a number, X a random token, LinkedIn a UUID: nothing else is answered. Used with
# `fullmatch` only (`$` would also accept a trailing newline).
_META_CHALLENGE = re.compile(r"[A-Za-z0-9_.-]{1,256}")
_CRC_TOKEN = re.compile(r"[A-Za-z0-9+/=_-]{1,256}")
_CRC_TOKEN_BODY = re.compile(_CRC_TOKEN.pattern.encode())   # a body whose signature a CRC answer can be
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


class Rejected(Exception):
    """The call is not a genuine (or not a configured) platform call: answered, never processed."""

    def __init__(self, status: int, reason: str, public: str | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason                           # logged
        self.public = reason if public is None else public   # answered


@dataclass(frozen=True)
class WebhookKeys:
    """The `socialomega/<env>/webhooks` secret: one verification key per platform family."""

    meta_app_secret: str | None = None
    meta_verify_token: str | None = None
    x_consumer_secret: str | None = None
    linkedin_client_secret: str | None = None

    @classmethod
    def from_secret(cls, value: dict[str, Any]) -> WebhookKeys:
        return cls(**{name: (str(value[name]) if value.get(name) else None)
                      for name in cls.__dataclass_fields__})

    def key_for(self, platform: str) -> str:
        name = {"facebook": "meta_app_secret", "instagram": "meta_app_secret",
                "x": "x_consumer_secret", "linkedin": "linkedin_client_secret"}[platform]
        key = getattr(self, name)
        if not key:   # the log says which key is missing; the caller only learns "not here"
            raise Rejected(404, f"webhooks for {platform} are not configured (no {name} in the webhooks secret)",
                           public="not found")
        return key


@dataclass(frozen=True)
class Answer:
    status: int
    body: str
    content_type: str = "application/json"


def _mac(key: str, message: bytes) -> bytes:
    return hmac.new(key.encode(), message, hashlib.sha256).digest()


def _bytes(value: str) -> bytes:
    """A header or query value as bytes, for comparison only: never raises (a lone surrogate
    from a hostile request would make a plain `.encode()` raise)."""
    return value.encode("utf-8", "surrogatepass")


def answer_challenge(platform: str, query: dict[str, str], keys: WebhookKeys) -> Answer:
    """The answer to the platform's subscription check (a GET on the callback URL)."""
    key = keys.key_for(platform)
    if platform in ("facebook", "instagram"):
        token = query.get("hub.verify_token", "")
        challenge = query.get("hub.challenge", "")
        if (query.get("hub.mode") != "subscribe" or not keys.meta_verify_token
                or not hmac.compare_digest(_bytes(token), _bytes(keys.meta_verify_token))):
            raise Rejected(403, "verify token mismatch or not a subscribe request")
        if not _META_CHALLENGE.fullmatch(challenge):
            raise Rejected(400, "hub.challenge missing or malformed")
        return Answer(200, challenge, "text/plain")
    if platform == "x":
        crc = query.get("crc_token", "")
        if not _CRC_TOKEN.fullmatch(crc):
            raise Rejected(400, "crc_token missing or not a token")
        token = base64.b64encode(_mac(key, crc.encode())).decode()
        return Answer(200, json.dumps({"response_token": f"sha256={token}"}))
    code = query.get("challengeCode", "")
    if not _UUID.fullmatch(code):
        raise Rejected(400, "challengeCode missing or not a UUID")
    return Answer(200, json.dumps({"challengeCode": code, "challengeResponse": _mac(key, code.encode()).hex()}))


def verify_signature(platform: str, headers: dict[str, str], body: bytes, keys: WebhookKeys) -> None:
    """Raise Rejected(401) unless `body` carries the platform's valid signature.

    `headers` must have lower-case names (HTTP header names are case-insensitive)."""
    key = keys.key_for(platform)
    if platform in ("facebook", "instagram"):
        header, expected = "x-hub-signature-256", "sha256=" + _mac(key, body).hex()
    elif platform == "x":
        header, expected = "x-twitter-webhooks-signature", "sha256=" + base64.b64encode(_mac(key, body)).decode()
    else:
        header, expected = "x-li-signature", _mac(key, b"hmacsha256=" + body).hex()
    given = headers.get(header, "")
    if not given:
        raise Rejected(401, f"no {header} header")
    # Only HTTP's optional whitespace (space, tab) around the value is ignored.
    if not hmac.compare_digest(_bytes(given.strip(" \t")), expected.encode()):
        raise Rejected(401, f"{header} does not match the body")
    if platform == "x" and _CRC_TOKEN_BODY.fullmatch(body):
        # Anyone can have this signature: it is the CRC answer for a crc_token equal to the body.
        raise Rejected(401, "x body in the crc_token format: its signature may be a minted CRC answer",
                       public=f"{header} does not match the body")
