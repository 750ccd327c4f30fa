"""In-memory fakes for unit tests (the integration suite uses LocalStack instead)."""

from __future__ import annotations

import copy
import itertools
from typing import Any

from socialomega.core.store import Document


class FakeStore:
    """The MetadataStore interface with the same conditional-write semantics."""

    def __init__(self) -> None:
        self.docs: dict[str, tuple[dict[str, Any], str]] = {}
        self._etags = itertools.count(1)

    def _etag(self) -> str:
        return f'"{next(self._etags)}"'

    def get(self, key: str) -> Document | None:
        if key not in self.docs:
            return None
        data, etag = self.docs[key]
        return Document(key, copy.deepcopy(data), etag)

    def put(self, key: str, data: dict[str, Any]) -> str:
        etag = self._etag()
        self.docs[key] = (copy.deepcopy(data), etag)
        return etag

    def claim(self, key: str, data: dict[str, Any]) -> str | None:
        return None if key in self.docs else self.put(key, data)

    def replace(self, doc: Document, data: dict[str, Any]) -> str | None:
        current = self.docs.get(doc.key)
        if current is None or current[1] != doc.etag:
            return None
        return self.put(doc.key, data)

    def list_keys(self, prefix: str) -> list[str]:
        return sorted(key for key in self.docs if key.startswith(prefix))

    def update(self, key, change, attempts=8):
        from socialomega.core.store import MetadataStore

        return MetadataStore.update(self, key, change, attempts)  # same algorithm, fake storage


class RecordingSender:
    def __init__(self) -> None:
        self.bus: list[tuple[str, Any, str]] = []
        self.queue: list[tuple[str, Any]] = []
        self.topic: list[tuple[str, Any, str]] = []
        self.fail_bus = 0

    def to_bus(self, bus: str, envelope: Any, source: str) -> None:
        if self.fail_bus:
            self.fail_bus -= 1
            raise RuntimeError("EventBridge unavailable")
        self.bus.append((bus, envelope, source))

    def to_queue(self, url: str, envelope: Any) -> str:
        self.queue.append((url, envelope))
        return f"m-{len(self.queue)}"

    def to_topic(self, arn: str, envelope: Any, platform: str) -> str:
        self.topic.append((arn, envelope, platform))
        return f"t-{len(self.topic)}"
