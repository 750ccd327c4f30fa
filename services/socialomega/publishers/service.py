"""Publish one `PublishRequested`: reserve, (reconcile), call the platform, record, announce.

The outcome of the platform call decides everything:
* ok: record `published` with the remote id, emit `PublishSucceeded`;
* permanent: record `failed` with the platform's code and message, emit `PublishFailed`;
* retryable: record `retrying`, raise `RetryLater` so the queue redelivers with backoff
  (honouring the platform's rate-limit hints) and finally dead-letters it;
* deferred (a platform quota or the target's daily cap is used up): record `deferred` and
  redeliver later as a fresh message: neither a failure nor a step towards the DLQ;
* auth (token rejected and not refreshable): nothing was posted; dead-letter with the
  reason so an operator fixes the secret and redrives;
* unknown (timeout or lost connection during the final call): the next delivery first asks
  the platform whether the post exists (`find_post`, matched by the marker the publisher
  saved before the call): found -> `published`; absent -> post again; the lookup itself
  failing transiently -> ask again on the next delivery; undecided -> `unconfirmed`,
  visible to the user, never reposted blindly. A 5xx answer to the final call counts as
  unknown too: platforms can fail after acting. Targets whose final call is
  idempotent (`retry_is_safe`, e.g. a REST endpoint honouring Idempotency-Key) just retry.
Multi-step publishers save each step's result in the publication record, so every retry
resumes from the step reached.

Each target has a circuit breaker (core/breaker.py) shared by all invocations: a retryable or
unknown outcome counts against it, any answer that shows the platform is up (a success, a 4xx,
a quota) closes it. While it is open a message is deferred without calling the platform; its
openings and closings are events on the bus (`BreakerOpened`, `BreakerClosed`).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from socialomega.contracts.payloads import (
    BreakerClosed,
    BreakerOpened,
    PublishError,
    PublishFailed,
    PublishRequested,
    PublishSucceeded,
)
from socialomega.core import deadline, metrics, tracing
from socialomega.core import logging as solog
from socialomega.core.blobs import S3Blobs
from socialomega.core.breaker import Breaker, BreakerOpen, Ticket, Transition
from socialomega.core.config import ConfigError
from socialomega.core.consumer import Deferred, PermanentFailure, RetryLater, checked_payload
from socialomega.core.envelope import Envelope, new_event
from socialomega.core.events import EventSender
from socialomega.core.http import Outcome
from socialomega.core.logging import redact
from socialomega.core.store import Document, post_index_key, variant_key
from socialomega.publishers import edits
from socialomega.publishers.base import ImageAccess, Publisher, PublishRequest
from socialomega.publishers.claims import Claim, ClaimHeld, Publications, StoredProgress
from socialomega.publishers.quota import DailyCaps, QuotaFull
from socialomega.scheduling.service import Scheduler

EVENT_SOURCE = "socialomega.publisher"


class S3Images:
    """Variant access for publishers: presigned GET URLs (for platforms that fetch) or bytes. Bound
    to the variants bucket, so it reaches nothing else; `PublishService` has already refused a
    message whose image is not the target's own variant there."""

    def __init__(self, variants: S3Blobs) -> None:
        self.variants = variants

    def url(self, request: PublishRequest, expires_seconds: int) -> str:
        return self.variants.presigned_url(request.image_key, request.image_version_id, expires_seconds)

    def read(self, request: PublishRequest) -> bytes:
        return self.variants.get(request.image_key, request.image_version_id)


@dataclass
class PublishService:
    publications: Publications
    images: ImageAccess
    sender: EventSender
    event_bus: str
    publisher_for: Callable[[str], tuple[Publisher, dict[str, Any]]]  # target -> (publisher, target config)
    caps: DailyCaps | None = None
    # The function's own target and the variants bucket, from its environment (the handler sets
    # both): a message naming another target, or an object other than this target's own variant,
    # is refused. Otherwise whoever can write to the topic could post as any target or make a
    # platform fetch any object this role can read (the raw originals keep their GPS).
    own_target: str | None = None
    variants_bucket: str | None = None
    breaker_for: Callable[[str], Breaker] | None = None  # target -> its breaker (None: no breaker)
    scheduler: Scheduler | None = None  # posting slots and photos' own times (None: every post at once)

    def handle(self, envelope: Envelope, payload: PublishRequested | None = None) -> str:
        log = solog.get_logger()
        request = PublishRequest.from_payload(
            envelope.asset_id, envelope.correlation_id, payload or checked_payload(envelope)
        )
        tracing.annotate(target=request.target)
        self._check_scope(request)
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
        edit = edits.decide(self.publications.store, request, publisher, target_config)
        if edit is not None:
            reserved.data = {**reserved.data, "edit": {"action": edit.action, "reason": edit.reason}}
            log.info("photo_edited", target=request.target, action=edit.action, reason=edit.reason)
            if edit.action == "ignore":
                return self._keep_earlier(reserved, request, edit)
        if self.scheduler is not None and (edit is None or edit.action == "repost"):
            held = self.scheduler.hold(reserved.data, request, target_config, envelope.model_dump(mode="json"))
            if held is not None:  # it waits in its slot, calling no platform (scheduling/service.py)
                self.publications.settle(
                    reserved, "scheduled", slot_at=held.at.isoformat(), slot_key=held.key, reason=held.reason
                )
                log.info("publish_scheduled", target=request.target, at=held.at.isoformat(), reason=held.reason)
                return "scheduled"
        breaker = self.breaker_for(request.target) if self.breaker_for is not None else None
        ticket = self._admit(breaker, reserved, request)
        verdict = _Verdict(breaker, ticket)
        try:
            if edit is not None and edit.action == "update":
                return self._update(reserved, request, publisher, target_config, envelope, edit, verdict)
            outcome = self._attempt(reserved, request, publisher, target_config, envelope, verdict)
            if outcome == "published" and self.scheduler is not None and reserved.data.get("slot_key"):
                self.scheduler.queue.mark(str(reserved.data["slot_key"]), "published")
            return outcome
        finally:
            verdict.tell()  # after the outcome is recorded, whatever it was

    def _admit(self, breaker: Breaker | None, claim: Claim, request: PublishRequest) -> Ticket:
        if breaker is None:
            return Ticket("closed")
        try:
            return breaker.admit()
        except BreakerOpen as exc:
            # Not a failure of this message: it waits, without calling the platform.
            self.publications.settle(
                claim,
                "deferred",
                last_error={"code": "breaker_open", "message": redact(str(exc)), "http_status": None},
                retry_at=_later(exc.seconds),
            )
            metrics.emit({"BreakerOpenSeconds": round(exc.open_seconds), "Deferred": 1}, {"Target": request.target})
            wait = exc.seconds + random.uniform(0, min(10.0, exc.seconds / 10 + 1))  # spread the wake-ups
            raise Deferred(str(exc), wait, ages=True) from exc  # a target down for days still ends in the DLQ

    def _check_scope(self, request: PublishRequest) -> None:
        if self.own_target is not None and request.target != self.own_target:
            raise PermanentFailure(
                f"the message names target {request.target!r}; this function publishes {self.own_target!r} only",
                "wrong_target",
            )
        if self.variants_bucket is not None:
            own = (self.variants_bucket, variant_key(request.asset_id, request.version, request.target))
            if (request.image_bucket, request.image_key) != own:
                raise PermanentFailure(
                    f"the message's image is not this target's own variant (expected s3://{own[0]}/{own[1]})",
                    "foreign_variant",
                )

    def _attempt(
        self,
        claim: Claim,
        request: PublishRequest,
        publisher: Publisher,
        target_config: dict[str, Any],
        envelope: Envelope,
        verdict: _Verdict,
    ) -> str:
        log = solog.get_logger()
        progress = StoredProgress(self.publications, claim)
        if progress.final_marker is not None and not publisher.retry_is_safe:
            decided = self._reconcile(claim, request, publisher, progress, envelope, verdict)
            if decided is not None:
                return decided
        if not claim.data.get("slot_at"):  # a scheduled post's slot already respects the daily cap
            self._take_slot(claim, request, target_config)
        try:
            result = publisher.publish(request, self.images, progress)
        except ConfigError as exc:
            # Nothing was sent. Dead-letter now with the reason; redrive once it is fixed.
            self._give_back_slot(claim, request)
            self.publications.settle(claim, "retrying", last_error={"code": "config", "message": redact(str(exc))})
            raise PermanentFailure(f"{request.target}: {exc}", "config") from exc
        outcome = result.outcome
        if outcome.kind not in ("ok", "unknown") and progress.final_marker is not None and not _may_have_acted(outcome):
            progress.forget("final")  # the platform refused the call: no post was made, nothing to look up
        if outcome.code == "deadline" and not outcome.ok:
            # Stopped for lack of time before sending, or in a wait loop with its progress saved.
            self._give_back_slot(claim, request)
            self.publications.settle(claim, "retrying", last_error={"code": "deadline", "message": outcome.message})
            raise deadline.DeadlineReached(
                f"{request.target}: {outcome.message}", deadline.current().remaining(), outcome.retry_after
            )
        verdict.judge(outcome)
        if outcome.ok:
            return self._succeed(claim, request, envelope, result.remote_id, result.remote_url)
        # Platforms quote requests back in their errors: what is stored and announced is redacted.
        error = {"code": outcome.code, "message": redact(outcome.message), "http_status": outcome.status}
        common = {"platform": request.platform, "correlation_id": request.correlation_id}
        if outcome.kind == "deferred":
            self._give_back_slot(claim, request)
            wait = outcome.retry_after or 3600.0
            self.publications.settle(claim, "deferred", last_error=error, retry_at=_later(wait), **common)
            log.info("publish_deferred", target=request.target, **error, retry_after=outcome.retry_after)
            metrics.emit({"Deferred": 1}, {"Target": request.target}, reason=outcome.code)
            raise Deferred(f"{request.target}: {outcome.code} {outcome.message}", wait)
        if outcome.kind == "auth":
            self._give_back_slot(claim, request)
            self.publications.settle(claim, "retrying", last_error=error, **common)
            metrics.emit({"CredentialsRejected": 1}, {"Target": request.target})
            raise PermanentFailure(
                f"{request.target}: credentials rejected ({outcome.code}): {outcome.message}; "
                "fix the target's secret, then redrive",
                "auth",
            )
        if outcome.kind in ("retryable", "unknown"):
            # An unknown outcome of a final call (its marker is saved) is looked up on the
            # platform by the next delivery; of an earlier step, that step is simply redone.
            self.publications.settle(claim, "retrying", last_error=error, **common)
            log.warning("publish_retryable", target=request.target, **error)
            metrics.emit({"PublishRetries": 1}, {"Target": request.target}, code=outcome.code)
            raise RetryLater(f"{request.target}: {outcome.code} {outcome.message}", outcome.retry_after)
        self._give_back_slot(claim, request)
        return self._fail(claim, request, envelope, "failed", error)

    def _keep_earlier(self, claim: Claim, request: PublishRequest, edit: edits.EditDecision) -> str:
        """on_edit=ignore: nothing is posted; the record names the post that stands."""
        self.publications.settle(
            claim,
            "edit_ignored",
            remote_id=edit.remote_id,
            remote_url=edit.remote_url,
            platform=request.platform,
            correlation_id=request.correlation_id,
        )
        metrics.emit({"EditsIgnored": 1}, {"Target": request.target})
        return "edit_ignored"

    def _update(
        self,
        claim: Claim,
        request: PublishRequest,
        publisher: Any,
        target_config: dict[str, Any],
        envelope: Envelope,
        edit: edits.EditDecision,
        verdict: _Verdict,
    ) -> str:
        """on_edit=update: the earlier post's text becomes this version's caption (exactly what
        `publish` would post: `post_text`). Setting the same text twice changes nothing, so an
        unknown or retryable outcome is simply retried. A post deleted on the platform meanwhile
        (`post_gone`) fails this version with that reason: nothing is posted in its place."""
        outcome = publisher.update_text(edit.remote_id, request, publisher.post_text(request)).outcome
        verdict.judge(outcome)
        common = {"platform": request.platform, "correlation_id": request.correlation_id}
        if outcome.ok:
            self.publications.settle(claim, "updated", remote_id=edit.remote_id, remote_url=edit.remote_url, **common)
            metrics.emit({"PostsUpdated": 1}, {"Target": request.target})
            solog.get_logger().info("post_updated", target=request.target, remote_id=edit.remote_id)
            return "updated"
        error = {"code": outcome.code, "message": redact(outcome.message), "http_status": outcome.status}
        if outcome.code == "deadline":
            self.publications.settle(claim, "retrying", last_error=error, **common)
            raise deadline.DeadlineReached(
                f"{request.target}: {outcome.message}", deadline.current().remaining(), outcome.retry_after
            )
        if outcome.kind == "deferred":
            self.publications.settle(claim, "deferred", last_error=error, **common)
            raise Deferred(f"{request.target}: {outcome.code} {outcome.message}", outcome.retry_after or 3600.0)
        if outcome.kind in ("retryable", "unknown"):
            self.publications.settle(claim, "retrying", last_error=error, **common)
            raise RetryLater(f"{request.target}: {outcome.code} {outcome.message}", outcome.retry_after)
        if outcome.kind == "auth":
            self.publications.settle(claim, "retrying", last_error=error, **common)
            rejected = f"{request.target}: credentials rejected ({outcome.code}): {outcome.message}"
            raise PermanentFailure(rejected, "auth")
        return self._fail(claim, request, envelope, "failed", error)

    def _reconcile(
        self,
        claim: Claim,
        request: PublishRequest,
        publisher: Publisher,
        progress: StoredProgress,
        envelope: Envelope,
        verdict: _Verdict,
    ) -> str | None:
        """The last final call's outcome is unknown: ask the platform before posting again."""
        log = solog.get_logger()
        lookup = publisher.find_post(request, progress)
        if lookup.state == "unavailable":
            verdict.down(f"lookup unavailable: {lookup.reason}")
        elif lookup.state in ("found", "absent"):
            verdict.up()
        log.info(
            "publish_reconciled",
            target=request.target,
            lookup=lookup.state,
            reason=lookup.reason,
            remote_id=lookup.remote_id,
        )
        if lookup.state == "found":
            return self._succeed(claim, request, envelope, lookup.remote_id, lookup.remote_url, reconciled=True)
        if lookup.state == "unavailable":
            self.publications.settle(
                claim,
                "retrying",
                last_error={"code": "lookup_unavailable", "message": redact(lookup.reason), "http_status": None},
            )
            raise RetryLater(f"{request.target}: cannot look the post up yet: {lookup.reason}", lookup.retry_after)
        if lookup.state == "undecided":
            return self._fail(
                claim,
                request,
                envelope,
                "unconfirmed",
                {"code": "unconfirmed", "message": redact(lookup.reason), "http_status": None},
            )
        progress.forget("final")  # absent: the platform never made the post, so post again
        return None

    def _succeed(
        self,
        claim: Claim,
        request: PublishRequest,
        envelope: Envelope,
        remote_id: str | None,
        remote_url: str | None,
        reconciled: bool = False,
    ) -> str:
        event = envelope.follow(
            "PublishSucceeded",
            PublishSucceeded(
                target=request.target,
                platform=request.platform,
                version=request.version,
                remote_id=remote_id,
                remote_url=remote_url,
                published_at=_now(),
                detected_at=request.metadata.get("detected_at"),
                attempts=claim.data["attempts"],
                reconciled=reconciled,
            ),
        )
        if remote_id:  # first: a like can arrive as soon as the post exists, and a
            # redelivery of this message after `published` is settled never comes back here
            self._index_post(
                request,
                {
                    "platform": request.platform,
                    "remote_id": remote_id,
                    "target": request.target,
                    "asset_id": request.asset_id,
                    "version": request.version,
                    "correlation_id": request.correlation_id,
                    "published_at": event.payload["published_at"],
                },
            )
        self.publications.settle(
            claim,
            "published",
            remote_id=remote_id,
            remote_url=remote_url,
            published_at=event.payload["published_at"],
            event=event.model_dump(mode="json"),
            announced=False,
            platform=request.platform,
            correlation_id=request.correlation_id,
        )
        self._announce(claim, event)
        solog.get_logger().info(
            "publish_succeeded",
            target=request.target,
            remote_id=remote_id,
            attempts=claim.data["attempts"],
            reconciled=reconciled,
        )
        latency = metrics.seconds_between(request.metadata.get("detected_at"), event.payload["published_at"])
        published = {"Published": 1, "DetectionToPublishLatency": latency}  # None (no detection time): left out
        metrics.emit(published, {"Target": request.target}, attempts=claim.data["attempts"], reconciled=reconciled)
        return "published"

    def _index_post(self, request: PublishRequest, entry: dict[str, Any]) -> None:
        """Create the post index entry, never overwrite it: a platform names one post by an id, so
        an entry for another publication means an id was reused (a sandbox restarted with a
        counter, a clock stepped back). The first entry keeps the engagement; the clash is logged
        and counted for an operator. The same publication again (a redelivery after a crash
        between this write and `settle`) finds its own entry: nothing to do."""
        key = post_index_key(request.platform, entry["remote_id"])
        store = self.publications.store
        if store.claim(key, entry) is not None:
            return
        # The entry held (or ours, if it vanished meanwhile: then it is written now).
        first = store.update(key, lambda held: entry if held is None else None) or entry
        same = ("platform", "remote_id", "target", "asset_id", "version")
        if all(first.get(field) == entry[field] for field in same):
            return
        solog.get_logger().error(
            "post_index_conflict",
            key=key,
            target=request.target,
            remote_id=entry["remote_id"],
            asset_id=request.asset_id,
            version=request.version,
            correlation_id=request.correlation_id,
            indexed_asset_id=first.get("asset_id"),
            indexed_version=first.get("version"),
            indexed_target=first.get("target"),
            indexed_correlation_id=first.get("correlation_id"),
        )
        metrics.emit({"PostIndexConflicts": 1}, {"Target": request.target})

    def _fail(
        self,
        claim: Claim,
        request: PublishRequest,
        envelope: Envelope,
        status: Literal["failed", "unconfirmed"],
        error: dict[str, Any],
    ) -> str:
        event = envelope.follow(
            "PublishFailed",
            PublishFailed(
                target=request.target,
                platform=request.platform,
                version=request.version,
                status=status,
                error=PublishError(
                    code=str(error.get("code") or ""),
                    message=str(error.get("message") or ""),
                    http_status=error.get("http_status"),
                ),
                failed_at=_now(),
                detected_at=request.metadata.get("detected_at"),
                attempts=claim.data["attempts"],
            ),
        )
        self.publications.settle(
            claim,
            status,
            error=error,
            event=event.model_dump(mode="json"),
            announced=False,
            platform=request.platform,
            correlation_id=request.correlation_id,
        )
        self._announce(claim, event)
        solog.get_logger().error("publish_failed", target=request.target, status=status, **error)
        counts = {"Failed": 1, "Unconfirmed": int(status == "unconfirmed")}
        metrics.emit(counts, {"Target": request.target}, code=error.get("code"))
        return status

    def _take_slot(self, claim: Claim, request: PublishRequest, target_config: dict[str, Any]) -> None:
        cap = target_config.get("daily_cap")
        if self.caps is None or not cap:
            return
        try:
            self.caps.take(request.target, int(cap), claim.key)
        except QuotaFull as exc:
            self.publications.settle(
                claim, "deferred", last_error={"code": "daily_cap", "message": str(exc)}, retry_at=_later(exc.seconds)
            )
            metrics.emit({"Deferred": 1}, {"Target": request.target}, reason="daily_cap")
            raise Deferred(str(exc), exc.seconds) from exc

    def _give_back_slot(self, claim: Claim, request: PublishRequest) -> None:
        if self.caps is not None:
            self.caps.release(request.target, claim.key)

    def _announce(self, claim: Claim, event: Envelope) -> None:
        # If this fails the message is retried; the duplicate path re-announces the stored event.
        self.sender.to_bus(self.event_bus, event, EVENT_SOURCE)
        self.publications.settle(claim, claim.data["status"], announced=True)

    def _reannounce(self, doc: Document, envelope: Envelope) -> None:
        if doc.data.get("announced") is False and doc.data.get("event"):
            event = Envelope.model_validate(doc.data["event"])
            self.sender.to_bus(self.event_bus, event, EVENT_SOURCE)
            self.publications.store.put(doc.key, {**doc.data, "announced": True})


class _Verdict:
    """What one attempt tells the target's breaker: the platform is up (it answered), down (a
    retryable or unknown outcome), or nothing (our own error, a rejected token, no time: a probe
    is then given back). The first judgement counts. It is told after the outcome is recorded,
    and a breaker that cannot be written never fails the publish it judges."""

    def __init__(self, breaker: Breaker | None, ticket: Ticket) -> None:
        self.breaker = breaker
        self.ticket = ticket
        self.health: Literal["up", "down"] | None = None
        self.reason = ""

    def judge(self, outcome: Outcome) -> None:
        if outcome.ok or outcome.kind == "deferred" or (outcome.kind == "permanent" and outcome.status is not None):
            self.up()
        elif outcome.kind in ("retryable", "unknown"):
            self.down(f"{outcome.code} {redact(outcome.message)}".strip())

    def up(self) -> None:
        self.health = self.health or "up"

    def down(self, reason: str) -> None:
        if self.health is None:
            self.health, self.reason = "down", reason

    def tell(self) -> None:
        if self.breaker is None:
            return
        try:
            if self.health == "up":
                self.breaker.succeeded(self.ticket)
            elif self.health == "down":
                self.breaker.failed(self.ticket, self.reason)
            else:
                self.breaker.released(self.ticket)
        except Exception as exc:  # a probe not given back frees itself when its lease ends
            solog.get_logger().error("breaker_update_failed", target=self.breaker.target, error=str(exc)[:300])


def breaker_announcer(
    sender: EventSender, event_bus: str, target: str, platform: str | None
) -> Callable[[Transition, dict[str, Any]], None]:
    """What a breaker does when it opens or closes: log it, and put the event on the bus. The
    breaker's document is the truth; an event that cannot be sent is logged, not retried (the
    message that caused it has its own fate)."""

    def announce(transition: Transition, state: dict[str, Any]) -> None:
        log = solog.get_logger()
        open_since = float(state.get("open_since") or 0.0)
        # One outage: the opening and the closing share a correlation id.
        correlation = str(uuid.uuid5(uuid.NAMESPACE_URL, f"socialomega:breaker:{target}:{open_since}"))
        now = datetime.now(UTC)
        if transition == "opened":
            payload: BreakerOpened | BreakerClosed = BreakerOpened(
                target=target,
                platform=platform,
                failures=max(1, int(state.get("failures", 1))),
                reason=redact(str(state.get("last_reason", "")))[:1000],
                opened_at=now.isoformat(),
                cooldown_seconds=float(state.get("cooldown", 0.0)),
            )
            log.warning(
                "breaker_opened", target=target, failures=state.get("failures"), reason=state.get("last_reason")
            )
            event = new_event("BreakerOpened", f"target:{target}", payload, correlation)
        else:
            open_seconds = round(now.timestamp() - open_since, 3) if open_since else None
            payload = BreakerClosed(
                target=target, platform=platform, closed_at=now.isoformat(), open_seconds=open_seconds
            )
            log.warning("breaker_closed", target=target, open_seconds=open_seconds)
            event = new_event("BreakerClosed", f"target:{target}", payload, correlation)
        try:
            sender.to_bus(event_bus, event, EVENT_SOURCE)
        except Exception as exc:
            log.error("breaker_event_not_sent", target=target, transition=transition, error=str(exc))

    return announce


def _may_have_acted(outcome: Outcome) -> bool:
    """A 5xx answer to the final call does not prove that nothing was posted (the platform may
    fail after acting), so the next delivery looks the post up before posting again."""
    return outcome.status is not None and outcome.status >= 500


def _later(seconds: float) -> str:
    """When a deferred publication is tried again (what `socialomega status` and the demo show)."""
    return (datetime.now(UTC) + timedelta(seconds=max(0.0, seconds))).isoformat()


def _now() -> str:
    return datetime.now(UTC).isoformat()
