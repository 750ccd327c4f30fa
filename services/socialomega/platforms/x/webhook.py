"""X webhooks (Account Activity / V2 webhooks): CRC, signature, and engagement.

* CRC: `GET ?crc_token=` answered with `{"response_token": "sha256=<base64 HMAC-SHA256(consumer
  secret, crc_token)>"}`; notifications signed `x-twitter-webhooks-signature: sha256=<base64
  HMAC-SHA256(consumer secret, raw body)>` (`x_consumer_secret`).
* By X's design the CRC answer for token `t` IS the valid signature of the body `t`, so any GET
  mints a valid signature for a body equal to a token. Such a body is 1-256 characters of
  [A-Za-z0-9+/=_-]: it can never contain `{`, so it can never be a JSON object and never a
  readable notification, and it can never produce an event. It is also refused outright
  (`verify_signature` answers 401 for a body in the token format: X only ever posts JSON
  objects), so a minted signature writes nothing either. The token format is not narrowed
  further: X documents no length or alphabet, and a CRC it fails invalidates the webhook.
* Engagement: `favorite_events` (a like of `favorited_status`), `tweet_create_events` (replies,
  retweets and quotes of our posts), scoped by `for_user_id`.
Sources: ../shared/reference/platform-apis.md, section 6.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from socialomega.webhooks.engagement import Engagement, NotANotification, iso_time, list_field
from socialomega.webhooks.signatures import Answer, Rejected, WebhookKeys, check_signature, mac

SECRET_KEY = "x_consumer_secret"
SIGNATURE_HEADER = "x-twitter-webhooks-signature"
_CRC_TOKEN = re.compile(r"[A-Za-z0-9+/=_-]{1,256}")  # fullmatch only ($ would allow a trailing newline)
_CRC_TOKEN_BODY = re.compile(_CRC_TOKEN.pattern.encode())  # a body whose signature a CRC answer can be


def answer_challenge(query: dict[str, str], key: str, keys: WebhookKeys) -> Answer:
    crc = query.get("crc_token", "")
    if not _CRC_TOKEN.fullmatch(crc):
        raise Rejected(400, "crc_token missing or not a token")
    return Answer(200, json.dumps({"response_token": f"sha256={_signature(key, crc.encode())}"}))


def verify_signature(headers: dict[str, str], body: bytes, key: str) -> None:
    check_signature(headers, SIGNATURE_HEADER, f"sha256={_signature(key, body)}")
    if _CRC_TOKEN_BODY.fullmatch(body):
        # Anyone can have this signature: it is the CRC answer for a crc_token equal to the body.
        raise Rejected(
            401,
            "x body in the crc_token format: its signature may be a minted CRC answer",
            public=f"{SIGNATURE_HEADER} does not match the body",
        )


def _signature(key: str, message: bytes) -> str:
    return base64.b64encode(mac(key, message)).decode()


def engagements(doc: dict[str, Any]) -> list[Engagement]:
    me = str(doc.get("for_user_id") or "")
    if not me:
        raise NotANotification("no for_user_id")
    found = []
    for event in list_field(doc, "favorite_events"):
        status = event.get("favorited_status") if isinstance(event, dict) else None
        if not isinstance(status, dict) or str((status.get("user") or {}).get("id_str")) != me:
            continue  # we liked someone else's post
        if str((event.get("user") or {}).get("id_str")) == me:
            continue  # we liked our own post
        found.append(
            Engagement(
                "x",
                str(status.get("id_str")),
                "like",
                1,
                f"favorite:{event.get('id')}",
                iso_time(event.get("timestamp_ms"), 1000),
            )
        )
    for tweet in list_field(doc, "tweet_create_events"):
        if not isinstance(tweet, dict) or str((tweet.get("user") or {}).get("id_str")) == me:
            continue  # our own posts
        when, key = iso_time(tweet.get("timestamp_ms"), 1000), f"tweet:{tweet.get('id_str')}"
        for shared in (tweet.get("retweeted_status"), tweet.get("quoted_status")):
            if isinstance(shared, dict) and str((shared.get("user") or {}).get("id_str")) == me:
                found.append(Engagement("x", str(shared.get("id_str")), "share", 1, key, when))
                break
        else:
            if tweet.get("in_reply_to_status_id_str") and str(tweet.get("in_reply_to_user_id_str")) == me:
                found.append(Engagement("x", str(tweet["in_reply_to_status_id_str"]), "comment", 1, key, when))
    return found
