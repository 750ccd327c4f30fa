"""Turn one `AssetDetected` into a variant per target and one `PublishRequested` each.

The photographer's publishing keywords (planning/keywords.py) choose the targets (`so:only`,
`so:skip`: a target left out is recorded as skipped, with the reason) and the crop anchor
(`so:crop`); a keyword that cannot be read is recorded on the version (`plan_problems`), and the
rest of the plan still applies. Each request names the photo's earlier versions, so its
publisher can tell an edit from a new photo (publishers/edits.py).

A photo that cannot be processed (corrupt, truncated, not an image, too many pixels), or that
no target can take (each too small, say), fails that record only: it is recorded on the asset
as `rejected` with the reason (every target's, in the second case) and dead-lettered with it.
A photo some targets cannot take goes on to the others; the status records the others' reasons.

The I/O after the build overlaps: the variants are uploaded in parallel (a small bounded pool;
boto3 clients are thread-safe) and the requests go out with SNS `PublishBatch`. Nothing is
announced unless every variant was uploaded: a failed upload fails the record, which is retried
whole (the uploads are idempotent overwrites of the same keys). Every wait stops at the
invocation's deadline (`DeadlineReached`: the record comes back, nothing announced).
"""

from __future__ import annotations

import contextvars
import math
import time
import uuid
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from socialomega.contracts.payloads import AssetDetected, PublishRequested, Variant
from socialomega.core import deadline, metrics
from socialomega.core import logging as solog
from socialomega.core import store as keys
from socialomega.core.consumer import PermanentFailure, checked_payload
from socialomega.core.envelope import Envelope
from socialomega.core.ports import Blobs, Documents, Events
from socialomega.core.targets import Target
from socialomega.planning.keywords import plan_from
from socialomega.processor.specs import SpecError, VariantSpec, parse_specs
from socialomega.processor.variants import ImageRejected, VariantsIncomplete, build_variants
from socialomega.processor.variants import Variant as Built

# Parallel uploads per photo, at most: one round for every target configured today (5) and some
# more, and still inside botocore's default pool of 10 connections per client (the originals,
# variants and store share one S3 client; the processor handles one record at a time).
UPLOAD_WORKERS = 8
# Earlier versions named in a PublishRequested (the contract's bound): an edit is compared with them.
MAX_EARLIER = 20
# PublishRequested ids derive from the AssetDetected id and the target, so the requests a retried
# or replayed record sends again carry the ids of the first ones (the event log keeps one each).
_REQUEST_IDS = uuid.UUID("6f1d0c55-2a8e-4a4f-9d36-0b1e8f3f7a11")


@dataclass
class ProcessorService:
    # The raw bucket. A message naming an object elsewhere, or outside raw/, is refused, so whoever
    # can write to the images queue cannot have any readable object cut and posted.
    originals: Blobs
    variants: Blobs  # the processed bucket
    store: Documents
    sender: Events
    topic_arn: str
    targets: Callable[[], list[Target]]
    upload_workers: int = UPLOAD_WORKERS

    def handle(self, envelope: Envelope, payload: AssetDetected | None = None) -> None:
        log = solog.get_logger()
        payload = payload or checked_payload(envelope)
        raw, version = payload.raw, payload.version
        if raw.bucket != self.originals.bucket or not raw.key.startswith("raw/"):
            raise PermanentFailure(
                f"the original s3://{raw.bucket}/{raw.key} is not under s3://{self.originals.bucket}/raw/",
                "foreign_original",
            )
        # The photographer's choices from Lightroom (planning/keywords.py): which targets, and
        # where the crop sits. A keyword that cannot be read is recorded; the rest still applies.
        plan = plan_from(payload.metadata.model_dump())
        configured = self.targets()
        chosen, left_out = plan.choose([(t.name, t.platform) for t in configured])
        targets = [t for t in configured if t.name in chosen]
        crop = {"interesting": plan.crop} if plan.crop else {}
        try:
            specs = parse_specs([{"name": t.name, "platform": t.platform, "spec": {**t.spec, **crop}} for t in targets])
        except SpecError as exc:
            raise PermanentFailure(f"invalid variant spec configuration: {exc}", "config") from exc
        pairs = [(t.name, t.platform) for t in configured]
        planned = {"skipped": left_out, "plan_problems": [*plan.problems, *plan.target_problems(pairs)]}
        if not targets:  # the photographer sent it nowhere: nothing to build, nothing is wrong
            self._record(envelope.asset_id, version, {"status": "skipped", "at": _now(), **planned})
            log.info("photo_skipped", version=version, skipped=left_out, plan_problems=planned["plan_problems"])
            return
        data = self.originals.get(raw.key, raw.version_id)
        started = time.perf_counter()
        variants, failures = self._build(envelope.asset_id, version, data, specs)
        # One decode serves every target, so the build time is the photo's, not a target's.
        metrics.emit({"VariantBuildTime": (time.perf_counter() - started) * 1000}, {"Service": "processor"})
        produced = self._upload(envelope.asset_id, version, variants)
        earlier = self._record(
            envelope.asset_id,
            version,
            {"status": "processed", "at": _now(), "failures": failures, **planned},
            {name: v.model_dump(mode="json") for name, v in produced.items()},
        )
        metadata = payload.metadata.model_copy(update={"detected_at": payload.detected_at})
        by_target = {t.name: t for t in targets}
        requests = [
            (
                _request(
                    envelope,
                    PublishRequested(
                        target=name,
                        platform=by_target[name].platform,
                        version=version,
                        variant=ref,
                        metadata=metadata,
                        earlier_versions=earlier,
                    ),
                ),
                name,  # the topic's `platform` attribute: each publisher queue filters on its target
            )
            for name, ref in produced.items()
        ]
        self._announce(requests)
        log.info("variants_published", targets=sorted(produced), version=version)
        for name, ref in produced.items():
            metrics.emit({"VariantBytes": ref.bytes}, {"Target": name}, width=ref.width, height=ref.height)
        for name in failures:
            metrics.emit({"VariantsSkipped": 1}, {"Target": name})

    def _build(
        self, asset_id: str, version: str, data: bytes, specs: list[VariantSpec]
    ) -> tuple[list[Built], dict[str, str]]:
        """The variants and the reason of each target that cannot take the photo; a photo no
        target can take is recorded as rejected and fails permanently."""
        try:
            return build_variants(data, specs), {}
        except VariantsIncomplete as exc:
            if exc.variants:
                # Some targets cannot take this photo (e.g. too small): the others still publish.
                solog.get_logger().warning("variants_incomplete", failures=exc.failures)
                return exc.variants, exc.failures
            reason = "no target can take it: " + "; ".join(f"{t}: {r}" for t, r in exc.failures.items())
            self._record(
                asset_id, version, {"status": "rejected", "at": _now(), "reason": reason, "failures": exc.failures}
            )
            metrics.emit({"PhotosRejected": 1}, {"Service": "processor"})
            raise PermanentFailure(f"image rejected: {reason}", "image_rejected") from exc
        except ImageRejected as exc:
            self._record(asset_id, version, {"status": "rejected", "at": _now(), "reason": str(exc)})
            metrics.emit({"PhotosRejected": 1}, {"Service": "processor"})
            raise PermanentFailure(f"image rejected: {exc}", "image_rejected") from exc

    def _upload(self, asset_id: str, version: str, variants: list[Built]) -> dict[str, Variant]:
        """Upload every variant in parallel; their references by target, in order. Raises the
        first failure (nothing is announced for a half-uploaded set) or `DeadlineReached`."""
        if not variants:
            return {}
        limit = deadline.current()
        timeout = _wait_seconds(limit, "variant uploads")
        pool = ThreadPoolExecutor(
            max_workers=max(1, min(self.upload_workers, len(variants))), thread_name_prefix="upload"
        )
        try:
            # Each task runs in a copy of this context: log fields and the deadline go along.
            futures: list[Future[Variant]] = [
                pool.submit(contextvars.copy_context().run, self._put, asset_id, version, v) for v in variants
            ]
            done, pending = wait(futures, timeout=timeout, return_when=FIRST_EXCEPTION)
            for future in futures:  # the first failure in the variants' order, for a stable reason
                failure = future.exception() if future in done else None
                if failure is not None:
                    raise failure
            if pending:
                raise deadline.DeadlineReached(
                    f"variant uploads ({len(pending)} of {len(futures)} unfinished)", limit.remaining()
                )
            return {v.target: f.result() for v, f in zip(variants, futures, strict=True)}
        finally:
            # Never wait here: an upload still running when the deadline came finishes on its own.
            pool.shutdown(wait=False, cancel_futures=True)

    def _put(self, asset_id: str, version: str, variant: Built) -> Variant:
        key = keys.variant_key(asset_id, version, variant.target)
        version_id = self.variants.put(
            key,
            variant.data,
            content_type="image/jpeg",
            metadata={"asset-id": asset_id, "target": variant.target},
        )
        return Variant(
            bucket=self.variants.bucket,
            key=key,
            version_id=version_id,
            width=variant.width,
            height=variant.height,
            bytes=len(variant.data),
            content_type="image/jpeg",
        )

    def _announce(self, requests: list[tuple[Envelope, str]]) -> None:
        if not requests:
            return
        _wait_seconds(deadline.current(), "publish requests")
        self.sender.to_topic_many(self.topic_arn, requests)  # one PublishBatch call per ten

    def _record(
        self, asset_id: str, version: str, processing: dict[str, Any], variants: dict[str, Any] | None = None
    ) -> list[str]:
        """Record `processing` (and the variants) on the version; the photo's other versions,
        newest detection first (at most MAX_EARLIER): what an edit is compared with."""

        def change(doc: dict[str, Any] | None) -> dict[str, Any]:
            doc = dict(doc or {"asset_id": asset_id, "versions": {}})
            versions = dict(doc.get("versions", {}))
            entry = {**versions.get(version, {}), "processing": processing}
            if variants is not None:
                entry["variants"] = variants
            versions[version] = entry
            return {**doc, "versions": versions}

        doc = self.store.update(keys.asset_key(asset_id), change) or {}
        others = [(str(v.get("detected_at") or ""), k) for k, v in (doc.get("versions") or {}).items() if k != version]
        return [k for _, k in sorted(others, reverse=True)][:MAX_EARLIER]


def _request(cause: Envelope, request: PublishRequested) -> Envelope:
    envelope = cause.follow("PublishRequested", request)
    event_id = uuid.uuid5(_REQUEST_IDS, f"{cause.event_id}/{request.target}")
    return envelope.model_copy(update={"event_id": str(event_id)})


def _wait_seconds(limit: deadline.Deadline, what: str) -> float | None:
    """How long a wait may last (None: no deadline); `DeadlineReached` when nothing is left."""
    left = limit.remaining()
    if left <= 0:
        raise deadline.DeadlineReached(what, left)
    return None if math.isinf(left) else left


def _now() -> str:
    return datetime.now(UTC).isoformat()
