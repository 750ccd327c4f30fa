"""The webhook endpoint's work: answer challenges, check signatures, announce engagement.

A verified notification becomes one `EngagementReceived` event per like, comment or share on
a post SocialOmega published (found through the publisher's `posts/<platform>/<id>.json`
index). Engagement on other posts of the same account is counted as unmatched and dropped.

Platforms retry a notification until they get a 2xx (Meta for up to 36 h, LinkedIn for 8 h),
so the event id is derived from the notification's own identity: a retried notification
produces the same event ids, and analytics applies each event id once. If the events cannot
be sent, the answer is 500 and the platform's retry delivers them later: nothing is lost.

A signed body that is not a notification this code reads (a new payload version, another
event family sent to the same URL, JSON nested too deeply or with an integer too long for
Python, more engagement than a platform batches) is logged as an error and answered 200:
refusing it would only make the platform retry the same body for hours and then disable the
webhook. Only the genuine "cannot record now" case, the store or EventBridge failing, raises,
and the handler answers 500 so the platform retries.

An unreadable body is kept for an operator under `webhooks/unreadable/` (the only prefix the
webhook function may write), within a fixed bound: a signature is not proof of a platform
(X's CRC answer is by design the signature of a body equal to the token, see
platforms/x/webhook.py), so what unreadable bodies may write must not grow with what anyone
sends. Each goes to one of `UNREADABLE_SLOTS` (16) fixed keys per platform and UTC day,
`webhooks/unreadable/<platform>/<yyyy-mm-dd>/<slot>.json` with slot = sha256(body) mod 16,
written with `claim` (If-None-Match: *): the first body in a slot is kept, later ones are only
logged (with their sha256). Each object holds at most the first 64 KiB of the body (as text;
its JSON escaping at most six-fold) with the body's total size and sha256. So at most 16
objects per platform per day, 64 a day for the four platforms, each under 400 KiB.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from socialomega.contracts.payloads import EngagementReceived
from socialomega.core import logging as solog
from socialomega.core import metrics, tracing
from socialomega.core.envelope import Envelope, utc_now
from socialomega.core.events import EventSender
from socialomega.core.store import MetadataStore, post_index_key, unreadable_webhook_key
from socialomega.webhooks.engagement import MAX_ID_CHARS, Engagement, engagements, well_formed
from socialomega.webhooks.signatures import PLATFORMS, Answer, Rejected, WebhookKeys, answer_challenge, verify_signature

EVENT_SOURCE = "socialomega.webhooks"
# Fixed namespace: the same notification always maps to the same event id.
_EVENT_NAMESPACE = uuid.UUID("5d0f3c1e-8a61-4f5e-9a3e-6f1f0c2b7e41")
MAX_BODY_BYTES = 6 * 1024 * 1024  # Lambda's synchronous payload limit (Meta batches <= 1000 updates)
# Meta batches at most 1000 updates, LinkedIn 10, X a handful; a body reporting more is not a
# platform's notification, and reading one index and sending one event for each could not
# finish within the function's 10 s (a timeout is retried by the platform for hours).
MAX_ENGAGEMENTS = 1000
UNREADABLE_SLOTS = 16  # objects per platform per UTC day, at most
UNREADABLE_KEPT_BYTES = 64 * 1024  # of each kept body
_POST_FIELDS = ("correlation_id", "asset_id", "target")


@dataclass(frozen=True)
class WebhookRequest:
    method: str
    platform: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
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
            return _json(404, error=f"unknown platform {request.platform[:40]!r}")
        tracing.annotate(platform=request.platform)
        platform = {"Platform": request.platform}  # a known platform only: a bounded set of metrics
        try:
            keys = self.keys()
            if request.method == "GET":
                answer = answer_challenge(request.platform, request.query, keys)
                log.info("webhook_challenge_answered")
                metrics.emit({"WebhookAccepted": 1}, platform, kind="challenge")
                return answer
            if request.method != "POST":
                return _json(405, error="use GET (challenge) or POST (notification)")
            if len(request.body) > MAX_BODY_BYTES:
                return _json(413, error=f"body above {MAX_BODY_BYTES} bytes")
            verify_signature(request.platform, request.headers, request.body, keys)
        except Rejected as exc:
            log.warning("webhook_rejected", status=exc.status, reason=exc.reason)
            metrics.emit({"WebhookRejected": 1}, platform, status=exc.status)
            return _json(exc.status, error=exc.public)
        metrics.emit({"WebhookAccepted": 1}, platform, kind="notification")
        found, problem = _read(request)
        if problem is not None:
            digest = hashlib.sha256(request.body).hexdigest()
            key = self._keep_unreadable(request, problem, digest)
            # Logged either way; kept_at is None when the day's slot already holds another body.
            log.error("webhook_unreadable", error=problem[:300], kept_at=key, bytes=len(request.body), sha256=digest)
            metrics.emit({"WebhookUnreadable": 1}, platform)
            return _json(200, received=0, recorded=0, unmatched=0, unreadable=True)
        posts: dict[str, dict[str, Any] | None] = {}  # one index read per post, not per engagement
        events = []
        for engagement in found:
            if not well_formed(engagement):  # not an id of ours: never a store key
                log.info(
                    "engagement_unmatched",
                    remote_id=engagement.remote_id[:MAX_ID_CHARS],
                    kind=engagement.kind,
                    malformed=True,
                )
                continue
            if engagement.remote_id not in posts:
                index = self.store.get(post_index_key(engagement.platform, engagement.remote_id))
                posts[engagement.remote_id] = _indexed_post(
                    index.data if index is not None else None, engagement.remote_id
                )
            post = posts[engagement.remote_id]
            if post is None:
                log.info("engagement_unmatched", remote_id=engagement.remote_id, kind=engagement.kind)
            else:
                events.append(_event(engagement, post))
        self.sender.to_bus_many(self.event_bus, events, EVENT_SOURCE)
        unmatched = len(found) - len(events)
        log.info("webhook_received", engagements=len(found), recorded=len(events), unmatched=unmatched)
        metrics.emit({"EngagementsRecorded": len(events), "EngagementsUnmatched": unmatched}, platform)
        return _json(200, received=len(found), recorded=len(events), unmatched=unmatched)

    def _keep_unreadable(self, request: WebhookRequest, reason: str, digest: str) -> str | None:
        """Keep the body in its day's slot if the slot is free; the key, or None if it was taken.
        A store failure raises (500, so the platform retries): nothing is dropped silently."""
        now = utc_now()
        slot = int(digest, 16) % UNREADABLE_SLOTS
        key = unreadable_webhook_key(request.platform, f"{now:%Y-%m-%d}", slot)
        kept = request.body[:UNREADABLE_KEPT_BYTES]
        etag = self.store.claim(
            key,
            {
                "platform": request.platform,
                "reason": reason[:500],
                "received_at": now.isoformat(),
                "sha256": digest,
                "bytes": len(request.body),
                "truncated": len(kept) < len(request.body),
                "body": kept.decode("utf-8", "replace"),
            },
        )
        return key if etag is not None else None


def _read(request: WebhookRequest) -> tuple[list[Engagement], str | None]:
    """The engagement a signed body reports, or why it cannot be read. Never raises: reading
    is a pure function of the body, so a retry would fail the same way for up to 36 h."""
    try:
        doc = json.loads(request.body, parse_constant=_not_json)
    except RecursionError:
        return [], "JSON nested too deeply"
    except ValueError as exc:  # not JSON, not UTF-8, NaN/Infinity, an integer above 4300 digits
        return [], f"not JSON: {str(exc)[:200]}"
    try:
        found = engagements(request.platform, doc)
    except Exception as exc:  # NotANotification, or a shape no parser anticipated
        return [], f"{type(exc).__name__}: {str(exc)[:300]}"
    if len(found) > MAX_ENGAGEMENTS:
        return [], f"{len(found)} engagements in one notification (more than {MAX_ENGAGEMENTS})"
    return found, None


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


def _indexed_post(index: dict[str, Any] | None, remote_id: str) -> dict[str, Any] | None:
    """The publisher's index entry, if it is for exactly this post: `post_index_key` makes ids
    key-safe, so two ids can share a key, and the entry records the id it was written for."""
    if not isinstance(index, dict) or index.get("remote_id") != remote_id:
        return None
    if not all(isinstance(index.get(name), str) for name in _POST_FIELDS):
        solog.get_logger().error("post_index_incomplete", remote_id=remote_id)
        return None
    return index


def _event(engagement: Engagement, post: dict[str, Any]) -> Envelope:
    """The engagement's event, with an id (and time) that a retried notification repeats."""
    event_id = uuid.uuid5(
        _EVENT_NAMESPACE,
        f"{engagement.platform}|{engagement.key}|{engagement.remote_id}|{engagement.kind}|{engagement.delta}",
    )
    fields: dict[str, Any] = {
        "event_id": str(event_id),
        "type": "EngagementReceived",
        "correlation_id": post["correlation_id"],
        "asset_id": post["asset_id"],
        "payload": EngagementReceived(
            platform=engagement.platform,
            target=post["target"],
            version=post.get("version"),
            remote_id=engagement.remote_id,
            kind=engagement.kind,
            delta=engagement.delta,
            engagement_key=engagement.key,
            engaged_at=engagement.occurred_at,
        ).model_dump(mode="json"),
    }
    if engagement.occurred_at:
        fields["occurred_at"] = engagement.occurred_at
    return Envelope(**fields)
