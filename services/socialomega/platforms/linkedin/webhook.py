"""LinkedIn webhooks: validation, signature, and organization social actions as engagement.

* Validation: `GET ?challengeCode=` answered with JSON `{"challengeCode", "challengeResponse":
  <hex HMAC-SHA256(client secret, challengeCode)>}` within 3 s (`linkedin_client_secret`).
* Notifications signed `X-LI-Signature`. UNCONFIRMED: LinkedIn's wording ("the HMACSHA256 hash
  of the JSON-encoded string representation of the POST body prefixed by hmacsha256=") is read
  here as hex HMAC-SHA256(client secret, "hmacsha256=" + raw body), as most client code does.
* The answer is HMAC(secret, challengeCode) but a body's signature is HMAC(secret, "hmacsha256="
  + body); a challengeCode must be a UUID, and a UUID never starts with "hmacsha256=": the
  validation mints nothing.
* Engagement: `notifications[].action` LIKE|COMMENT|SHARE|COMMENT_DELETE on `sourcePost`,
  deduplicated by `notificationId`. UNCONFIRMED first-hand.
Sources: ../shared/reference/platform-apis.md, section 6.
"""

from __future__ import annotations

import json
import re
from typing import Any

from socialomega.webhooks.engagement import Engagement, EngagementKind, NotANotification, iso_time, list_field
from socialomega.webhooks.signatures import Answer, Rejected, WebhookKeys, check_signature, mac

SECRET_KEY = "linkedin_client_secret"
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")  # fullmatch
_ACTIONS: dict[str, tuple[EngagementKind, int]] = {
    "LIKE": ("like", 1),
    "COMMENT": ("comment", 1),
    "SHARE": ("share", 1),
    "COMMENT_DELETE": ("comment", -1),
}


def answer_challenge(query: dict[str, str], key: str, keys: WebhookKeys) -> Answer:
    code = query.get("challengeCode", "")
    if not _UUID.fullmatch(code):
        raise Rejected(400, "challengeCode missing or not a UUID")
    return Answer(200, json.dumps({"challengeCode": code, "challengeResponse": mac(key, code.encode()).hex()}))


def verify_signature(headers: dict[str, str], body: bytes, key: str) -> None:
    check_signature(headers, "x-li-signature", mac(key, b"hmacsha256=" + body).hex())


def engagements(doc: dict[str, Any]) -> list[Engagement]:
    if "notifications" not in doc:
        raise NotANotification("no notifications list")
    found = []
    for item in list_field(doc, "notifications"):
        if not isinstance(item, dict):
            continue
        action = _ACTIONS.get(str(item.get("action")))
        if action is None or not item.get("sourcePost") or item.get("notificationId") is None:
            continue
        found.append(
            Engagement(
                "linkedin",
                str(item["sourcePost"]),
                action[0],
                action[1],
                f"notification:{item['notificationId']}",
                iso_time(item.get("lastModifiedAt"), 1000),
            )
        )
    return found
