"""What a new version of a photo means for a target that already published an earlier one.

Every develop or metadata change in Lightroom gives the photo a new version, and the processor
announces it again (PublishRequested names the photo's `earlier_versions`, newest first). The
target entry's `on_edit` decides (publishers/platform.TargetKeys):
* `ignore` (the default): the first publication stands; the new version's record says
  `edit_ignored`, with the post it kept;
* `repost`: the new version is posted as a new post (the behaviour before on_edit existed);
* `update`: the earlier post's text is changed in place where the platform allows it
  (`publishers/base.edit_support`; the README's table says which platform
  allows what, with sources); where it does not, `on_edit_fallback` (ignore or repost) applies.
A new version of a photo the target never published (its first try failed, or it was skipped)
is simply published. Every decision is recorded on the version's publication record with its
reason, so `socialomega status` shows why an edit did or did not reach a platform.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from socialomega.core.store import publication_key
from socialomega.publishers.base import PublishRequest, edit_support

Action = Literal["ignore", "repost", "update"]
# Records that stand for a post on the platform: the post itself, or an earlier edit's decision
# (which carries the post it kept or changed).
POSTED = frozenset({"published", "updated", "edit_ignored"})


@dataclass(frozen=True)
class EditDecision:
    action: Action
    remote_id: str
    remote_url: str | None
    earlier_version: str
    reason: str


def earlier_post(store: Any, request: PublishRequest) -> tuple[str, dict[str, Any]] | None:
    """(version, record) of the newest earlier version this target has a post for, if any."""
    for version in request.earlier_versions:
        doc = store.get(publication_key(request.asset_id, version, request.target))
        if doc is not None and doc.data.get("status") in POSTED and doc.data.get("remote_id"):
            return version, doc.data
    return None


def decide(store: Any, request: PublishRequest, publisher: Any, target: dict[str, Any]) -> EditDecision | None:
    """None when this version is not an edit of something posted (publish it); else what to do."""
    found = earlier_post(store, request)
    if found is None:
        return None
    version, record = found
    remote_id, remote_url = str(record["remote_id"]), record.get("remote_url")
    choice: Action = target.get("on_edit") or "ignore"
    if choice == "update":
        if edit_support(publisher).text:
            reason = f"on_edit=update: the text of post {remote_id} (version {version}) is changed in place"
            return EditDecision("update", remote_id, remote_url, version, reason)
        fallback: Action = target.get("on_edit_fallback") or "ignore"
        reason = (
            f"on_edit=update, but {request.platform} cannot change a post in place: "
            f"on_edit_fallback={fallback} (post {remote_id} of version {version})"
        )
        return EditDecision(fallback, remote_id, remote_url, version, reason)
    if choice == "repost":
        reason = f"on_edit=repost: posted again (version {version} is post {remote_id})"
        return EditDecision("repost", remote_id, remote_url, version, reason)
    reason = f"on_edit=ignore: an edit of a photo already posted as {remote_id} (version {version}); that post stands"
    return EditDecision("ignore", remote_id, remote_url, version, reason)
