"""Unpublishing, for targets that opt in (`unpublish_on_leave: true`): a photo that leaves the
selection (taken out of the album or the inbox, or its keyword removed: the poller's `left`,
release.Selections) has its posts on those targets deleted where the platform allows it
(publishers/base.EditSupport.delete), each publication settled `unpublished` with the reason. A
platform that cannot delete records that once (`unpublish` on the publication) and is not asked
again; a failed delete is tried again by the next release run. Runs within the release run.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from socialomega.core.config import ConfigError, Configuration
from socialomega.core.logging import get_logger
from socialomega.core.ports import ListedDocuments
from socialomega.core.store import asset_key, publication_key
from socialomega.core.targets import load_targets
from socialomega.publishers.base import POST_GONE, edit_support
from socialomega.publishers.edits import POSTED

LOOKBACK = timedelta(days=14)  # photos that left longer ago are no longer looked at

PublisherFor = Callable[[Configuration, str], tuple[Any, dict[str, Any]]]


def unpublish_departed(
    configuration: Configuration,
    store: ListedDocuments,
    departed: dict[str, str],
    publisher_for: PublisherFor,
) -> list[dict[str, Any]]:
    """Delete the posts of photos that left (`departed`: asset id -> when) on every target with
    unpublish_on_leave; one line per post acted on."""
    targets = [t for t in load_targets(configuration) if t.model_dump().get("unpublish_on_leave")]
    lines: list[dict[str, Any]] = []
    for asset_id, left_at in sorted(departed.items()) if targets else []:
        asset = store.get(asset_key(asset_id))
        versions = list(((asset.data if asset else {}).get("versions") or {}).keys())
        for target in targets:
            lines += _unpublish(configuration, store, target.name, asset_id, versions, left_at, publisher_for)
    return lines


def _unpublish(
    configuration: Configuration,
    store: ListedDocuments,
    target: str,
    asset_id: str,
    versions: list[str],
    left_at: str,
    publisher_for: PublisherFor,
) -> list[dict[str, Any]]:
    records = [
        (publication_key(asset_id, v, target), store.get(publication_key(asset_id, v, target))) for v in versions
    ]
    posted = [(key, doc.data) for key, doc in records if doc is not None and _still_posted(doc.data)]
    if not posted:
        return []
    try:
        publisher, _ = publisher_for(configuration, target)
    except (ConfigError, KeyError) as exc:
        return [{"target": target, "asset_id": asset_id, "result": f"no publisher: {exc}"}]
    lines = []
    deleted: dict[str, str] = {}  # remote id -> the outcome, so records sharing a post ask once
    for key, record in posted:
        remote_id = str(record["remote_id"])
        if not edit_support(publisher).delete:
            result = f"{publisher.platform} cannot delete a post through its API"
            _amend(store, key, {"unpublish": result})
        else:
            if remote_id not in deleted:
                outcome = publisher.delete_post(remote_id)
                gone = outcome.ok or outcome.code == POST_GONE
                deleted[remote_id] = "deleted" if gone else f"{outcome.code}: {outcome.message}"
            result = deleted[remote_id]
            if result == "deleted":
                reason = f"the photo left the selection ({left_at}): its post was deleted"
                _amend(store, key, {"status": "unpublished", "reason": reason, "unpublished_at": _now()})
        lines.append({"target": target, "asset_id": asset_id, "remote_id": remote_id, "result": result})
        get_logger().info("post_unpublished", target=target, asset_id=asset_id, remote_id=remote_id, result=result)
    return lines


def _amend(store: ListedDocuments, key: str, fields: dict[str, Any]) -> None:
    def change(doc: dict[str, Any] | None) -> dict[str, Any] | None:
        return None if doc is None else {**doc, **fields}

    store.update(key, change)


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _still_posted(record: dict[str, Any]) -> bool:
    return record.get("status") in POSTED and bool(record.get("remote_id")) and not record.get("unpublish")
