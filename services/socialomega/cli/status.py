"""Every photo x target as the store knows it: state, remote post, reason, timings.

One reading of where that state lives, shared by `socialomega status` and the demo's table
(local/report.py):
* `metadata/assets/<asset>.json` (poller, processor): the latest version, when it was detected,
  and the processing outcome (`processing.status == "rejected"` or a per-target
  `processing.failures[target]`: no variant, so no publication);
* `publications/<asset>/<version>/<target>.json` (publishers/claims.py): `in_progress`,
  `retrying`, `deferred`, `published`, `failed`, `unconfirmed`, with `remote_id`/`remote_url`,
  `published_at`, `error` (final) or `last_error` (the last try's), `attempts`;
Engagement is not a state: `socialomega analytics` (analytics/report.py) reads it.
No publication and no rejection means `pending` (not yet processed, or in a publish queue);
a target the photo's `so:only` / `so:skip` keywords left out is `skipped` with the reason; a
post waiting for its slot is `scheduled` with its time (scheduling/), a cancelled one says why.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from socialomega.core import metrics
from socialomega.core import store as keys
from socialomega.core.deadline import Deadline, DeadlineReached, current

# What `--failed` shows: final failures, and records whose last try failed (an `auth` or
# `config` failure is dead-lettered as `retrying` with its error, waiting for a fix and a redrive).
FAILED_STATES = frozenset({"failed", "unconfirmed", "rejected"})


class Readable(Protocol):
    """core/store.MetadataStore (tests: a fake)."""

    def list_keys(self, prefix: str) -> list[str]: ...

    def get(self, key: str) -> Any: ...


@dataclass(frozen=True)
class PhotoStatus:
    asset_id: str
    title: str
    version: str
    target: str
    state: str
    remote_id: str | None = None
    remote_url: str | None = None
    reason: str = ""  # why it failed, was rejected, or is retrying
    attempts: int | None = None
    detected_at: str | None = None
    published_at: str | None = None
    seconds_to_publish: float | None = None
    retry_at: str | None = None  # a deferred publication: when it is tried again
    slot_at: str | None = None  # a scheduled publication: when it goes out
    plan_problems: tuple[str, ...] = ()  # publishing keywords of the photo that could not be read

    @property
    def needs_attention(self) -> bool:
        return self.state in FAILED_STATES or (self.state == "retrying" and bool(self.reason))

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def error_text(error: dict[str, Any] | None) -> str:
    if not error:
        return ""
    code, message = str(error.get("code") or ""), str(error.get("message") or "")
    return f"{code}: {message}" if code and message else code or message


def engagement_counts(counts: dict[str, Any]) -> dict[str, int]:
    """Likes, comments and shares of one target; net sums below 0 read as 0."""
    return {name: max(0, int(counts.get(name) or 0)) for name in ("likes", "comments", "shares")}


def engagement_text(counts: dict[str, Any]) -> str:
    shown = engagement_counts(counts)
    return ", ".join(f"{n} {name[:-1] if n == 1 else name}" for name, n in shown.items() if n)


def photo_statuses(
    store: Readable,
    targets: Iterable[str],
    asset_id: str | None = None,
    target: str | None = None,
    failed_only: bool = False,
    workers: int = 8,
    deadline: Deadline | None = None,
) -> list[PhotoStatus]:
    """Every photo (or `asset_id`) x every target (or `target`), by asset id then target.
    S3 reads run `workers` at a time (one asset document, then its targets' records); no photo
    is started once `deadline` (default: the bound one, core/deadline.current) has passed:
    `DeadlineReached` instead of a partial answer."""
    names = [t for t in targets if target is None or t == target]
    until = deadline or current()  # read here: the pool's threads do not see this context's deadline
    asset_keys = [keys.asset_key(asset_id)] if asset_id else sorted(store.list_keys("metadata/assets/"))

    def photo(key: str) -> list[PhotoStatus]:
        if until.expired():
            raise DeadlineReached(f"reading the state of {len(asset_keys)} photo(s)", until.remaining())
        return _photo(store, key, names)

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        rows = [row for found in pool.map(photo, asset_keys) for row in found]
    return [row for row in rows if row.needs_attention] if failed_only else rows


def _photo(store: Readable, key: str, targets: list[str]) -> list[PhotoStatus]:
    doc = store.get(key)
    if doc is None:
        return []
    asset = doc.data
    asset_id = str(asset.get("asset_id") or "")
    version = str(asset.get("latest_version") or "")
    entry = (asset.get("versions") or {}).get(version) or {}
    detected = entry.get("detected_at")
    title = str((asset.get("metadata") or {}).get("title") or "")
    processing = entry.get("processing") or {}
    skipped = processing.get("skipped") or {}
    problems = tuple(str(p) for p in processing.get("plan_problems") or ())
    rows = []
    for target in targets:
        base: dict[str, Any] = {
            "asset_id": asset_id,
            "title": title,
            "version": version,
            "target": target,
            "detected_at": detected,
            "plan_problems": problems,
        }
        pub = store.get(keys.publication_key(asset_id, version, target)) if version else None
        if pub is None and target in skipped:  # the photographer's so:only / so:skip keywords
            rows.append(PhotoStatus(**base, state="skipped", reason=str(skipped[target])))
            continue
        if pub is None:
            rejected = (processing.get("failures") or {}).get(target)
            if processing.get("status") == "rejected" or rejected:
                rows.append(PhotoStatus(**base, state="rejected", reason=str(rejected or processing.get("reason", ""))))
            else:
                rows.append(PhotoStatus(**base, state="pending"))
            continue
        data = pub.data
        published = data.get("published_at")
        rows.append(
            PhotoStatus(
                **base,
                state=str(data.get("status") or "unknown"),
                remote_id=data.get("remote_id"),
                remote_url=data.get("remote_url"),
                # A published record keeps its earlier tries' `last_error`: no reason to show then.
                reason=_reason(data),
                attempts=data.get("attempts"),
                published_at=published,
                seconds_to_publish=metrics.seconds_between(detected, published),
                retry_at=data.get("retry_at") if data.get("status") == "deferred" else None,
                slot_at=data.get("slot_at") if data.get("status") == "scheduled" else None,
            )
        )
    return rows


def _reason(record: dict[str, Any]) -> str:
    """Why a publication is where it is: an edit's decision, a deferral's next try, an error."""
    status = record.get("status")
    if status in ("edit_ignored", "updated"):
        return str((record.get("edit") or {}).get("reason") or "")
    if status == "published":
        return ""  # a published record keeps its earlier tries' `last_error`: no reason to show then
    if status == "scheduled":
        return f"at {str(record.get('slot_at') or '')[:16].replace('T', ' ')} UTC: {record.get('reason') or ''}".strip()
    if status in ("cancelled", "unpublished"):
        return str(record.get("reason") or status)
    error = error_text(record.get("error") or record.get("last_error"))
    if status == "deferred" and record.get("retry_at"):
        return f"next try {str(record['retry_at'])[:16].replace('T', ' ')} UTC: {error}"
    return error


def summary(rows: Iterable[PhotoStatus]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.state] = counts.get(row.state, 0) + 1
    return counts
