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

    def list_keys(self, prefix: str, start_after: str | None = None) -> list[str]:
        return sorted(key for key in self.docs if key.startswith(prefix) and (start_after is None or key > start_after))

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

    def to_bus_many(self, bus: str, envelopes: list[Any], source: str) -> None:
        for envelope in envelopes:
            self.to_bus(bus, envelope, source)

    def to_queue(self, url: str, envelope: Any) -> str:
        self.queue.append((url, envelope))
        return f"m-{len(self.queue)}"

    def to_topic(self, arn: str, envelope: Any, platform: str) -> str:
        self.topic.append((arn, envelope, platform))
        return f"t-{len(self.topic)}"

    def to_topic_many(self, arn: str, messages: list[tuple[Any, str]]) -> list[str]:
        return [self.to_topic(arn, envelope, platform) for envelope, platform in messages]


class MemoryProgress:
    """`publishers.base.Progress` in a dict, for publisher contract tests."""

    def __init__(self, steps: dict[str, Any] | None = None) -> None:
        self.steps: dict[str, Any] = dict(steps or {})
        self.saves: list[str] = []

    def get(self, step: str, default: Any = None) -> Any:
        return copy.deepcopy(self.steps.get(step, default))

    def save(self, step: str, value: Any) -> None:
        self.steps[step] = copy.deepcopy(value)
        self.saves.append(step)

    def forget(self, *steps: str) -> None:
        for step in steps:
            self.steps.pop(step, None)

    def mark_final(self, marker: dict[str, Any]) -> None:
        self.save("final", marker)

    @property
    def final_marker(self) -> dict[str, Any] | None:
        return self.get("final")


class MemoryCredentials:
    """`publishers.base.Credentials` over a dict; records every write-back."""

    def __init__(self, value: dict[str, Any]) -> None:
        self.value = dict(value)
        self.writes: list[dict[str, Any]] = []

    def current(self, *, fresh: bool = False) -> dict[str, Any]:
        return dict(self.value)

    def replace(self, value: dict[str, Any]) -> None:
        self.value = dict(value)
        self.writes.append(dict(value))


class ServedImages:
    """`publishers.base.ImageAccess` over real HTTP: variants registered by key are served
    by a local werkzeug server, so a platform fake can fetch `image_url` as Meta does."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.blobs: dict[str, bytes] = {}
        self.fetches: list[str] = []

    def add(self, key: str, data: bytes) -> str:
        self.blobs[key] = data
        return f"{self.base_url}/images/{key}"

    def url(self, request, expires_seconds: int) -> str:
        return f"{self.base_url}/images/{request.image_key}"

    def read(self, request) -> bytes:
        return self.blobs[request.image_key]

    def wsgi(self, environ, start_response):
        key = environ.get("PATH_INFO", "").removeprefix("/images/")
        self.fetches.append(key)
        if key not in self.blobs:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"no such image"]
        start_response("200 OK", [("Content-Type", "image/jpeg"), ("Content-Length", str(len(self.blobs[key])))])
        return [self.blobs[key]]


class AppSlot:
    """A WSGI app that hands each request to whichever app is mounted when the request arrives.

    Stopping a sandbox server waits out its poll interval (~0.1 s), which per test adds up to
    many seconds, so the unit tier keeps one server per role for the session (see conftest's
    `mount` and `served_images`) and mounts a fresh fake on it for each test. A request that
    reached a fake before the swap (a late answer to a call that timed out) stays with that
    fake, so it cannot change the next test's fake; with nothing mounted the slot answers 503."""

    def __init__(self) -> None:
        self.app: Any = None

    def __call__(self, environ, start_response):
        app = self.app
        if app is None:
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"no app mounted"]
        return app(environ, start_response)


class MemoryBlobs:
    """`core.ports.Blobs` in a dict: the objects of one bucket, each put a new version."""

    def __init__(self, bucket: str, objects: dict[str, bytes] | None = None) -> None:
        self.bucket = bucket
        self.objects: dict[str, bytes] = dict(objects or {})
        self.puts: list[tuple[str, dict[str, str]]] = []

    def put(self, key: str, data: bytes, *, content_type: str, metadata: dict[str, str]) -> str:
        self.objects[key] = data
        self.puts.append((key, metadata))
        return f"v{len(self.puts)}"

    def get(self, key: str, version_id: str | None = None) -> bytes:
        return self.objects[key]

    def listing(self, prefix: str):
        for key in sorted(self.objects):
            if key.startswith(prefix):
                yield key, f"etag-{len(self.objects[key])}"


class RecordedQueue:
    """`core.consumer.QueueRecords` that records what it is asked to do instead of calling SQS."""

    def __init__(self, max_receive_count: int = 5) -> None:
        self.max_receive_count = max_receive_count
        self.dead: list[tuple[str, str, str]] = []  # (message id, reason, code)
        self.delayed: list[tuple[str, int]] = []
        self.deferred: list[tuple[str, float]] = []

    def dead_letter(self, record, reason, code, service):
        self.dead.append((record["messageId"], reason, code))

    def send_again(self, record, seconds, state):
        self.deferred.append((record["messageId"], seconds))
        return int(seconds)

    def delay(self, record, seconds):
        self.delayed.append((record["messageId"], seconds))

    def last_receive(self, record, receive_count):
        return receive_count >= self.max_receive_count
