"""What the services need from the outside, as small interfaces (the adapters: core/blobs.py,
core/store.py, core/events.py, core/consumer.QueueRecords). Services receive these from their
service's `bootstrap`, never a global client, so tests hand them fakes."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

from socialomega.core.envelope import Envelope


class Blobs(Protocol):
    """The objects of one bucket: originals, variants, the inbox."""

    bucket: str

    def put(self, key: str, data: bytes, *, content_type: str, metadata: dict[str, str]) -> str | None:
        """Store `data`; returns the object version id (None where unversioned)."""

    def get(self, key: str, version_id: str | None = None) -> bytes: ...

    def listing(self, prefix: str) -> Iterator[tuple[str, str]]:
        """(key, etag) of every object under `prefix`."""


class Documents(Protocol):
    """JSON documents with compare-and-swap (core/store.MetadataStore)."""

    def get(self, key: str) -> Any: ...

    def put(self, key: str, data: dict[str, Any]) -> str: ...

    def claim(self, key: str, data: dict[str, Any]) -> str | None: ...

    def update(
        self, key: str, change: Callable[[dict[str, Any] | None], dict[str, Any] | None], attempts: int = 8
    ) -> dict[str, Any] | None: ...


class ListedDocuments(Documents, Protocol):
    """Documents that can also be listed by key prefix (readers of analytics, the insights puller)."""

    def list_keys(self, prefix: str, start_after: str | None = None) -> list[str]: ...


class Events(Protocol):
    """Where events go: a queue (work), the topic (per-target fan-out), the bus (status)."""

    def to_queue(self, queue_url: str, envelope: Envelope) -> str: ...

    def to_topic(self, topic_arn: str, envelope: Envelope, platform: str) -> str: ...

    def to_topic_many(self, topic_arn: str, messages: Sequence[tuple[Envelope, str]]) -> list[str]: ...

    def to_bus(self, bus_name: str, envelope: Envelope, source: str) -> None: ...

    def to_bus_many(self, bus_name: str, envelopes: list[Envelope], source: str) -> None: ...
