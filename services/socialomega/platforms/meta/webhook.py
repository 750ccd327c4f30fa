"""Meta's webhooks (Facebook Pages and Instagram): subscription check, signature, change envelope.

* Subscription check: `GET ?hub.mode=subscribe&hub.challenge=&hub.verify_token=`, answered with
  the bare challenge when the verify token is ours (`meta_verify_token`). The challenge is
  echoed, not signed: it mints nothing. Meta sends a number; nothing but a plain token of
  1-256 characters is echoed.
* Notifications: signed `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, raw body)>`
  (`meta_app_secret`), in the envelope `{"object", "entry": [{"id", "time", "changes":
  [{"field", "value"}]}]}`.
Sources: ../shared/reference/platform-apis.md, section 6.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Iterator
from typing import Any

from socialomega.webhooks.engagement import NotANotification, brief, list_field
from socialomega.webhooks.signatures import Answer, Rejected, WebhookKeys, as_bytes, check_signature, mac

SECRET_KEY = "meta_app_secret"
VERIFY_TOKEN_KEY = "meta_verify_token"
_CHALLENGE = re.compile(r"[A-Za-z0-9_.-]{1,256}")  # fullmatch only ($ would allow a trailing newline)


def answer_challenge(query: dict[str, str], key: str, keys: WebhookKeys) -> Answer:
    token = query.get("hub.verify_token", "")
    challenge = query.get("hub.challenge", "")
    verify_token = keys.get(VERIFY_TOKEN_KEY)
    if (
        query.get("hub.mode") != "subscribe"
        or not verify_token
        or not hmac.compare_digest(as_bytes(token), as_bytes(verify_token))
    ):
        raise Rejected(403, "verify token mismatch or not a subscribe request")
    if not _CHALLENGE.fullmatch(challenge):
        raise Rejected(400, "hub.challenge missing or malformed")
    return Answer(200, challenge, "text/plain")


def verify_signature(headers: dict[str, str], body: bytes, key: str) -> None:
    check_signature(headers, "x-hub-signature-256", "sha256=" + mac(key, body).hex())


def changes(doc: dict[str, Any], expected_object: str) -> Iterator[tuple[dict[str, Any], Any, dict[str, Any]]]:
    """(entry, field, value) of every change in a notification about `expected_object`."""
    if doc.get("object") != expected_object:
        raise NotANotification(f"object is {brief(doc.get('object'))}, expected {expected_object!r}")
    for entry in list_field(doc, "entry"):
        if not isinstance(entry, dict):
            raise NotANotification("entry item is not an object")
        for change in list_field(entry, "changes"):
            if isinstance(change, dict) and isinstance(change.get("value"), dict):
                yield entry, change.get("field"), change["value"]
