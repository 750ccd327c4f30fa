"""Published posts, listed by publication day from their markers (`analytics/posts/<day>/...`,
written once by the aggregator on PublishSucceeded): what the insights puller reads and the
report shows, without reading every photo the store ever held."""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from socialomega.core.store import post_markers_prefix

READERS = 8  # markers read at once (S3 GETs; one boto3 client is safe across threads)


class Listable(Protocol):
    """core/store.MetadataStore (tests: a fake)."""

    def list_keys(self, prefix: str) -> list[str]: ...

    def get(self, key: str) -> Any: ...


def days(since: date, until: date) -> list[str]:
    """Every UTC day from `since` to `until`, both included, as yyyy-mm-dd."""
    count = (until - since).days + 1
    return [f"{since + timedelta(days=n):%Y-%m-%d}" for n in range(max(0, count))]


def published(store: Listable, day_names: Iterable[str], targets: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """The marker of every post published on those days (only `targets`' when given), newest
    first. A marker: asset_id, target, platform, version, remote_id, remote_url, published_at,
    detected_at, seconds_to_publish."""
    wanted = None if targets is None else set(targets)
    keys = [
        key
        for day in day_names
        for key in store.list_keys(post_markers_prefix(day))
        if wanted is None or key.removeprefix(post_markers_prefix(day)).split("/", 1)[0] in wanted
    ]
    with ThreadPoolExecutor(max_workers=READERS) as pool:
        docs = list(pool.map(store.get, keys))
    markers = [doc.data for doc in docs if doc is not None]
    return sorted(markers, key=lambda m: (str(m.get("published_at") or ""), m.get("target", "")), reverse=True)


def published_at(marker: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(marker["published_at"]))
