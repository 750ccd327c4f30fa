"""Turn one `AssetDetected` into a variant per target and one `PublishRequested` each.

A photo that cannot be processed (corrupt, truncated, not an image, too many pixels)
fails that record only: it is recorded on the asset and dead-lettered with the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from socialomega.contracts.payloads import AssetDetected, PublishRequested, Variant
from socialomega.core import logging as solog
from socialomega.core import store as keys
from socialomega.core.consumer import PermanentFailure, checked_payload
from socialomega.core.envelope import Envelope
from socialomega.core.ports import Blobs, Documents, Events
from socialomega.core.targets import Target
from socialomega.processor.specs import SpecError, parse_specs
from socialomega.processor.variants import ImageRejected, VariantsIncomplete, build_variants


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

    def handle(self, envelope: Envelope, payload: AssetDetected | None = None) -> None:
        log = solog.get_logger()
        payload = payload or checked_payload(envelope)
        raw, version = payload.raw, payload.version
        targets = self.targets()
        try:
            specs = parse_specs([{"name": t.name, "platform": t.platform, "spec": t.spec} for t in targets])
        except SpecError as exc:
            raise PermanentFailure(f"invalid variant spec configuration: {exc}", "config") from exc
        if raw.bucket != self.originals.bucket or not raw.key.startswith("raw/"):
            raise PermanentFailure(
                f"the original s3://{raw.bucket}/{raw.key} is not under s3://{self.originals.bucket}/raw/",
                "foreign_original",
            )
        data = self.originals.get(raw.key, raw.version_id)
        failures: dict[str, str] = {}
        try:
            variants = build_variants(data, specs)
        except VariantsIncomplete as exc:
            # Some targets cannot take this photo (e.g. too small): the others still publish.
            variants, failures = exc.variants, exc.failures
            log.warning("variants_incomplete", failures=failures)
        except ImageRejected as exc:
            self._record(envelope.asset_id, version, {"status": "rejected", "reason": str(exc)})
            raise PermanentFailure(f"image rejected: {exc}", "image_rejected") from exc

        by_target = {t.name: t for t in targets}
        produced: dict[str, Variant] = {}
        for variant in variants:
            key = keys.variant_key(envelope.asset_id, version, variant.target)
            version_id = self.variants.put(
                key,
                variant.data,
                content_type="image/jpeg",
                metadata={"asset-id": envelope.asset_id, "target": variant.target},
            )
            produced[variant.target] = Variant(
                bucket=self.variants.bucket,
                key=key,
                version_id=version_id,
                width=variant.width,
                height=variant.height,
                bytes=len(variant.data),
                content_type="image/jpeg",
            )
        self._record(
            envelope.asset_id,
            version,
            {"status": "processed", "at": _now(), "failures": failures},
            {name: v.model_dump(mode="json") for name, v in produced.items()},
        )
        metadata = payload.metadata.model_copy(update={"detected_at": payload.detected_at})
        for target_name, variant_ref in produced.items():
            target = by_target[target_name]
            request = envelope.follow(
                "PublishRequested",
                PublishRequested(
                    target=target.name,
                    platform=target.platform,
                    version=version,
                    variant=variant_ref,
                    metadata=metadata,
                ),
            )
            self.sender.to_topic(self.topic_arn, request, platform=target.name)
        log.info("variants_published", targets=sorted(produced), version=version)

    def _record(
        self, asset_id: str, version: str, processing: dict[str, Any], variants: dict[str, Any] | None = None
    ) -> None:
        def change(doc: dict[str, Any] | None) -> dict[str, Any]:
            doc = dict(doc or {"asset_id": asset_id, "versions": {}})
            versions = dict(doc.get("versions", {}))
            entry = {**versions.get(version, {}), "processing": processing}
            if variants is not None:
                entry["variants"] = variants
            versions[version] = entry
            return {**doc, "versions": versions}

        self.store.update(keys.asset_key(asset_id), change)


def _now() -> str:
    return datetime.now(UTC).isoformat()
