"""The webhook endpoint's work: answer challenges, check signatures, announce engagement.

A verified notification becomes one `EngagementReceived` event per like, comment or share on
a post SocialOmega published (found through the publisher's `posts/<platform>/<id>.json`
index). Engagement on other posts of the same account is counted as unmatched and dropped.

Platforms retry a notification until they get a 2xx (Meta for up to 36 h, LinkedIn for 8 h),
so the event id is derived from the notification's own identity: a retried notification
produces the same event ids, and analytics applies each event id once. If the events cannot
be sent, the answer is 500 and the platform's retry delivers them later: nothing is lost.

A signed body that is not a notification this code reads (a new payload version, another
event family sent to the same URL) is kept in the store under `webhooks/unreadable/` and
logged as an error, and answered 200: refusing it would only make the platform retry the
same body for hours and then disable the webhook.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from socialomega.core import logging as solog
from socialomega.core.envelope import Envelope, utc_now
from socialomega.core.events import EventSender
from socialomega.core.store import MetadataStore, post_index_key
from socialomega.webhooks.engagement import Engagement, NotANotification, engagements
from socialomega.webhooks.signatures import PLATFORMS, Answer, Rejected, WebhookKeys, answer_challenge, verify_signature

EVENT_SOURCE = "socialomega.webhooks"
UNREADABLE_PREFIX = "webhooks/unreadable"
# Fixed namespace: the same notification always maps to the same event id.
_EVENT_NAMESPACE = uuid.UUID("5d0f3c1e-8a61-4f5e-9a3e-6f1f0c2b7e41")
MAX_BODY_BYTES = 6 * 1024 * 1024   # Lambda's synchronous payload limit (Meta batches <= 1000 updates)


@dataclass(frozen=True)
class WebhookRequest:
    method: str
    platform: str
    query: dict[str, str]
    headers: dict[str, str]    # lower-case names
    body: bytes


def _json(status: int, **fields: Any) -> Answer:
    return Answer(status, json.dumps(fields))


@dataclass
class WebhookService:
    store: MetadataStore
    sender: EventSender
    event_bus: str
    keys: Callable[[], WebhookKeys]

    def handle(self, request: WebhookRequest) -> Answer:
        log = solog.get_logger()
        if request.platform not in PLATFORMS:
            return _json(404, error=f"unknown platform {request.platform!r}")
        try:
            keys = self.keys()
            if request.method == "GET":
                answer = answer_challenge(request.platform, request.query, keys)
                log.info("webhook_challenge_answered")
                return answer
            if request.method != "POST":
                return _json(405, error="use GET (challenge) or POST (notification)")
            if len(request.body) > MAX_BODY_BYTES:
                return _json(413, error=f"body above {MAX_BODY_BYTES} bytes")
            verify_signature(request.platform, request.headers, request.body, keys)
        except Rejected as exc:
            log.warning("webhook_rejected", status=exc.status, reason=exc.reason)
            return _json(exc.status, error=exc.public)
        try:
            found = engagements(request.platform, json.loads(request.body))
        except (json.JSONDecodeError, UnicodeDecodeError, NotANotification) as exc:
            key = self._keep_unreadable(request, str(exc))
            log.error("webhook_unreadable", error=str(exc)[:300], kept_at=key)
            return _json(200, received=0, recorded=0, unmatched=0, unreadable=True)
        posts: dict[str, dict[str, Any] | None] = {}   # one index read per post, not per engagement
        events = []
        for engagement in found:
            if engagement.remote_id not in posts:
                index = self.store.get(post_index_key(engagement.platform, engagement.remote_id))
                posts[engagement.remote_id] = None if index is None else index.data
            post = posts[engagement.remote_id]
            if post is None:
                log.info("engagement_unmatched", remote_id=engagement.remote_id, kind=engagement.kind)
            else:
                events.append(_event(engagement, post))
        self.sender.to_bus_many(self.event_bus, events, EVENT_SOURCE)
        unmatched = len(found) - len(events)
        log.info("webhook_received", engagements=len(found), recorded=len(events), unmatched=unmatched)
        return _json(200, received=len(found), recorded=len(events), unmatched=unmatched)

    def _keep_unreadable(self, request: WebhookRequest, reason: str) -> str:
        digest = hashlib.sha256(request.body).hexdigest()
        key = f"{UNREADABLE_PREFIX}/{request.platform}/{digest}.json"
        self.store.put(key, {"platform": request.platform, "reason": reason[:500], "received_at": utc_now().isoformat(),
                             "body": request.body.decode("utf-8", "replace")})
        return key


def _event(engagement: Engagement, post: dict[str, Any]) -> Envelope:
    """The engagement's event, with an id (and time) that a retried notification repeats."""
    event_id = uuid.uuid5(_EVENT_NAMESPACE, f"{engagement.platform}|{engagement.key}|{engagement.remote_id}|"
                                            f"{engagement.kind}|{engagement.delta}")
    fields: dict[str, Any] = {
        "event_id": str(event_id), "type": "EngagementReceived",
        "correlation_id": post["correlation_id"], "asset_id": post["asset_id"],
        "payload": {"platform": engagement.platform, "target": post["target"], "version": post.get("version"),
                    "remote_id": engagement.remote_id, "kind": engagement.kind, "delta": engagement.delta,
                    "engagement_key": engagement.key, "engaged_at": engagement.occurred_at},
    }
    if engagement.occurred_at:
        fields["occurred_at"] = engagement.occurred_at
    return Envelope(**fields)
