"""The platforms' side of engagement webhooks: notifications shaped and signed as each
platform documents them, delivered to SocialOmega's webhook endpoint.

Written independently of `socialomega.webhooks` (which verifies), so a misreading on one side
shows up as a rejected delivery instead of cancelling out. Shapes and signing rules:
../shared/reference/platform-apis.md, section 6 (LinkedIn's string-to-sign is UNCONFIRMED
there; this fake signs "hmacsha256=" + body, hex). The keys are fixed sandbox values.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import time
import uuid
from typing import Any

import requests

from socialomega.sandbox import facebook, instagram, linkedin, x

META_APP_SECRET = "sandbox-meta-app-secret"
META_VERIFY_TOKEN = "sandbox-meta-verify-token"
X_CONSUMER_SECRET = "sandbox-x-consumer-secret"
LINKEDIN_CLIENT_SECRET = "sandbox-linkedin-client-secret"
FAN_ID = "5550000000000000042"
# What each platform notifies about a post (Instagram sends no like notifications; Facebook
# shares are in Meta's item list but in no captured payload, so the fake does not send them).
NOTIFIED_KINDS = {
    "facebook": ("like", "comment"),
    "instagram": ("comment",),
    "x": ("like", "comment", "share"),
    "linkedin": ("like", "comment", "share"),
}
# Removals the platforms notify: a Page feed item's `verb: remove`, LinkedIn's COMMENT_DELETE.
# X's Account Activity has no unlike event and LinkedIn none for an unlike (UNCONFIRMED): an
# action taken back there is silent, so only a pull sees it.
REMOVALS_NOTIFIED = {
    "facebook": ("like", "comment"),
    "linkedin": ("comment",),
}
_counter = itertools.count(1)


def sandbox_secret() -> dict[str, str]:
    """The `socialomega/<env>/webhooks` secret that matches these fakes."""
    return {
        "meta_app_secret": META_APP_SECRET,
        "meta_verify_token": META_VERIFY_TOKEN,
        "x_consumer_secret": X_CONSUMER_SECRET,
        "linkedin_client_secret": LINKEDIN_CLIENT_SECRET,
    }


def notification(platform: str, kind: str, post_id: str, *, remove: bool = False) -> dict[str, Any]:
    """One notification of a fan's `kind` (like|comment|share) on our post `post_id`."""
    n, now = next(_counter), int(time.time())
    if platform == "facebook":
        item = {"like": "reaction", "comment": "comment", "share": "share"}[kind]
        value: dict[str, Any] = {
            "from": {"id": FAN_ID, "name": "Sandbox Fan"},
            "post_id": post_id,
            "created_time": now + n,
            "item": item,
            "parent_id": post_id,
            "verb": "remove" if remove else "add",
        }
        if item == "reaction":
            value["reaction_type"] = "like"
        if item == "comment":
            value.update(comment_id=f"{post_id}_{n}", message="Lovely light")
        return {
            "object": "page",
            "entry": [{"id": facebook.PAGE_ID, "time": now, "changes": [{"field": "feed", "value": value}]}],
        }
    if platform == "instagram":
        if kind != "comment":
            raise ValueError("Instagram notifies comments only (no likes)")
        return {
            "object": "instagram",
            "entry": [
                {
                    "id": instagram.IG_USER_ID,
                    "time": now,
                    "changes": [
                        {
                            "field": "comments",
                            "value": {
                                "from": {"id": FAN_ID, "username": "sandbox_fan"},
                                "id": f"1790{n:012d}",
                                "media": {"id": post_id, "media_product_type": "FEED"},
                                "text": "Lovely light",
                            },
                        }
                    ],
                }
            ],
        }
    if platform == "x":
        fan = {"id_str": FAN_ID, "screen_name": "sandbox_fan"}
        ours = {"id_str": post_id, "user": {"id_str": x.USER_ID, "screen_name": x.USERNAME}}
        stamp = str(now * 1000 + n)
        if kind == "like":
            return {
                "for_user_id": x.USER_ID,
                "favorite_events": [
                    {
                        "id": uuid.uuid4().hex,
                        "created_at": time.strftime("%a %b %d %H:%M:%S +0000 %Y", time.gmtime()),
                        "timestamp_ms": int(stamp),
                        "favorited_status": ours,
                        "user": fan,
                    }
                ],
            }
        tweet: dict[str, Any] = {"id_str": f"18{n:017d}", "timestamp_ms": stamp, "user": fan, "text": "Lovely light"}
        if kind == "comment":
            tweet.update(in_reply_to_status_id_str=post_id, in_reply_to_user_id_str=x.USER_ID)
        else:
            tweet["retweeted_status"] = ours
        return {"for_user_id": x.USER_ID, "tweet_create_events": [tweet]}
    if platform == "linkedin":
        action = {"like": "LIKE", "comment": "COMMENT", "share": "SHARE"}[kind]
        if remove and kind == "comment":
            action = "COMMENT_DELETE"
        return {
            "type": "ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS",
            "notifications": [
                {
                    "notificationId": now * 1000 + n,
                    "organizationalEntity": linkedin.ORG_URN,
                    "action": action,
                    "sourcePost": post_id,
                    "lastModifiedAt": now * 1000 + n,
                    "subscriber": linkedin.MEMBER_URN,
                }
            ],
        }
    raise ValueError(f"no webhooks for {platform!r}")


def signature_header(platform: str, body: bytes) -> tuple[str, str]:
    """The header each platform signs its notification with."""
    if platform in ("facebook", "instagram"):
        return "X-Hub-Signature-256", "sha256=" + hmac.new(META_APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
    if platform == "x":
        digest = hmac.new(X_CONSUMER_SECRET.encode(), body, hashlib.sha256).digest()
        return "x-twitter-webhooks-signature", "sha256=" + base64.b64encode(digest).decode()
    mac = hmac.new(LINKEDIN_CLIENT_SECRET.encode(), b"hmacsha256=" + body, hashlib.sha256).hexdigest()
    return "X-LI-Signature", mac


def deliver(
    base_url: str, platform: str, payload: dict[str, Any], *, tamper: bool = False, timeout: float = 10.0
) -> requests.Response:
    """POST one notification the way the platform does; `tamper` alters the body after signing."""
    body = json.dumps(payload).encode()
    name, value = signature_header(platform, body)
    if tamper:
        body = body.replace(b"Lovely", b"Lousy") if b"Lovely" in body else body + b" "
    return requests.post(
        f"{base_url.rstrip('/')}/webhooks/{platform}",
        data=body,
        timeout=timeout,
        headers={"Content-Type": "application/json", name: value},
    )


def verify_endpoint(base_url: str, platform: str, timeout: float = 10.0) -> bool:
    """The platform's subscription check, judged as the platform judges the answer."""
    url = f"{base_url.rstrip('/')}/webhooks/{platform}"
    if platform in ("facebook", "instagram"):
        challenge = str(1_000_000 + next(_counter))
        r = requests.get(
            url,
            timeout=timeout,
            params={"hub.mode": "subscribe", "hub.challenge": challenge, "hub.verify_token": META_VERIFY_TOKEN},
        )
        return r.status_code == 200 and r.text == challenge
    if platform == "x":
        crc = uuid.uuid4().hex
        r = requests.get(url, params={"crc_token": crc}, timeout=timeout)
        expected = (
            "sha256="
            + base64.b64encode(hmac.new(X_CONSUMER_SECRET.encode(), crc.encode(), hashlib.sha256).digest()).decode()
        )
        return r.status_code == 200 and r.json().get("response_token") == expected
    code = str(uuid.uuid4())
    r = requests.get(url, params={"challengeCode": code, "applicationId": "sandbox"}, timeout=timeout)
    expected = hmac.new(LINKEDIN_CLIENT_SECRET.encode(), code.encode(), hashlib.sha256).hexdigest()
    return (
        r.status_code == 200
        and r.headers.get("Content-Type", "").startswith("application/json")
        and r.json() == {"challengeCode": code, "challengeResponse": expected}
    )
