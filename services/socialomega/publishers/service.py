"""Publish one `PublishRequested`: reserve, call the platform, record, announce.

The outcome of the platform call decides everything:
* ok: record `published` with the remote id, emit `PublishSucceeded`;
* permanent: record `failed` with the platform's code and message, emit `PublishFailed`;
* retryable: record `retrying`, raise `RetryLater` so the queue redelivers with backoff
  (honouring Retry-After) and finally dead-letters it;
* unknown (timeout after the request was sent): for targets that honour the
  idempotency key a retry is safe and is treated as retryable; otherwise the
  publication ends `unconfirmed`, visible to the user, and is never reposted blindly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from socialomega.core import logging as solog
from socialomega.core.config import ConfigError
from socialomega.core.consumer import PermanentFailure, RetryLater
from socialomega.core.envelope import Envelope
from socialomega.core.events import EventSender
from socialomega.core.store import Document
from socialomega.publishers.base import ImageAccess, Publisher, PublishRequest
from socialomega.publishers.claims import Claim, ClaimHeld, Publications

EVENT_SOURCE = "socialomega.publisher"


class S3Images:
    """Variant access for publishers: presigned GET URLs (for platforms that fetch) or bytes."""

    def __init__(self, s3: Any) -> None:
        self.s3 = s3

    def _params(self, request: PublishRequest) -> dict[str, Any]:
        params = {"Bucket": request.image_bucket, "Key": request.image_key}
        if request.image_version_id:
            params["VersionId"] = request.image_version_id
        return params

    def url(self, request: PublishRequest, expires_seconds: int) -> str:
        return self.s3.generate_presigned_url("get_object", Params=self._params(request), ExpiresIn=expires_seconds)

    def read(self, request: PublishRequest) -> bytes:
        return self.s3.get_object(**self._params(request))["Body"].read()


@dataclass
class PublishService:
    publications: Publications
    images: ImageAccess
    sender: EventSender
    event_bus: str
    publisher_for: Callable[[str], tuple[Publisher, dict[str, Any]]]  # target -> (publisher, target config)

    def handle(self, envelope: Envelope) -> str:
        log = solog.get_logger()
        try:
            request = PublishRequest.from_payload(envelope.asset_id, envelope.correlation_id, envelope.payload)
        except (KeyError, TypeError, ValueError) as exc:
            raise PermanentFailure(f"PublishRequested payload is incomplete: {exc!r}", "invalid_payload") from exc
        try:
            publisher, target_config = self.publisher_for(request.target)
        except KeyError as exc:
            raise PermanentFailure(f"no publisher configured for target {request.target!r}", "unknown_target") from exc
        except ConfigError as exc:
            raise PermanentFailure(f"{request.target}: {exc}", "config") from exc
        try:
            reserved = self.publications.reserve(request.asset_id, request.version, request.target, envelope.event_id)
        except ClaimHeld as exc:
            raise RetryLater(str(exc), delay_seconds=max(5.0, exc.seconds_left)) from exc
        if isinstance(reserved, Document):
            self._reannounce(reserved, envelope)
            log.info("publish_skipped_duplicate", target=request.target, status=reserved.data.get("status"))
            return str(reserved.data.get("status"))
        return self._attempt(reserved, request, publisher, target_config, envelope)

    def _attempt(self, claim: Claim, request: PublishRequest, publisher: Publisher,
                 target_config: dict[str, Any], envelope: Envelope) -> str:
        log = solog.get_logger()
        try:
            result = publisher.publish(request, self.images)
        except ConfigError as exc:
            # Nothing was sent. Dead-letter now with the reason; redrive once it is fixed.
            self.publications.settle(claim, "retrying", last_error={"code": "config", "message": str(exc)})
            raise PermanentFailure(f"{request.target}: {exc}", "config") from exc
        outcome = result.outcome
        common = {"platform": request.platform, "correlation_id": request.correlation_id}
        if outcome.ok:
            event = envelope.follow("PublishSucceeded", {
                "target": request.target, "platform": request.platform, "version": request.version,
                "remote_id": result.remote_id, "remote_url": result.remote_url,
                "published_at": _now(), "detected_at": request.metadata.get("detected_at"),
                "attempts": claim.data["attempts"],
            })
            self.publications.settle(claim, "published", remote_id=result.remote_id, remote_url=result.remote_url,
                                     published_at=event.payload["published_at"], event=event.model_dump(mode="json"),
                                     announced=False, **common)
            self._announce(claim, event)
            log.info("publish_succeeded", target=request.target, remote_id=result.remote_id,
                     attempts=claim.data["attempts"])
            return "published"
        error = {"code": outcome.code, "message": outcome.message, "http_status": outcome.status}
        if outcome.kind == "retryable" or (outcome.kind == "unknown" and target_config.get("idempotent_retries", True)):
            self.publications.settle(claim, "retrying", last_error=error, **common)
            log.warning("publish_retryable", target=request.target, **error)
            raise RetryLater(f"{request.target}: {outcome.code} {outcome.message}", outcome.retry_after)
        status = "failed" if outcome.kind == "permanent" else "unconfirmed"
        event = envelope.follow("PublishFailed", {
            "target": request.target, "platform": request.platform, "version": request.version,
            "status": status, "error": error, "failed_at": _now(),
            "detected_at": request.metadata.get("detected_at"), "attempts": claim.data["attempts"],
        })
        self.publications.settle(claim, status, error=error, event=event.model_dump(mode="json"), announced=False,
                                 **common)
        self._announce(claim, event)
        log.error("publish_failed", target=request.target, status=status, **error)
        return status

    def _announce(self, claim: Claim, event: Envelope) -> None:
        # If this fails the message is retried; the duplicate path re-announces the stored event.
        self.sender.to_bus(self.event_bus, event, EVENT_SOURCE)
        self.publications.settle(claim, claim.data["status"], announced=True)

    def _reannounce(self, doc: Document, envelope: Envelope) -> None:
        if doc.data.get("announced") is False and doc.data.get("event"):
            event = Envelope.model_validate(doc.data["event"])
            self.sender.to_bus(self.event_bus, event, EVENT_SOURCE)
            self.publications.store.put(doc.key, {**doc.data, "announced": True})


def _now() -> str:
    return datetime.now(UTC).isoformat()
