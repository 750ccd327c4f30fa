"""The sandbox fakes never reuse a post id, not even after a restart (issue 15): `sandbox/ids.py`."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import threading

import pytest
from PIL import Image
from structlog.testing import capture_logs

from socialomega import platforms
from socialomega.core import logging as solog
from socialomega.core.store import post_index_key
from socialomega.local import sandbox_config
from socialomega.publishers.base import PublishRequest
from socialomega.sandbox import ids
from socialomega.sandbox import x as xfake
from socialomega.sandbox.ids import IdSource
from socialomega.sandbox.server import Sandbox
from tests.unit.fakes import FakeStore, MemoryCredentials, MemoryProgress
from tests.unit.test_emf import emf_lines, emitted
from tests.unit.test_publish_service import OK, ScriptedPublisher, request_event
from tests.unit.test_publish_service import service as publish_service

# Each platform's id as the real one looks (numeric, 64-bit signed where the platform's are).
FORMATS = {
    "rest": r"post_\d{6,}",
    "instagram": r"179\d{14,15}",  # 17-18 digits
    "facebook": r"104857600000001_1048\d{14}",  # {page}_{photo}, an 18-digit photo id
    "x": r"18\d{17}",  # a snowflake-sized 19-digit id
    "linkedin": r"urn:li:share:73\d{17}",
}


# --- the source ---------------------------------------------------------------------------------


def test_a_seed_counts_from_it_without_reading_the_clock():
    source = IdSource(seed=5, clock=lambda: pytest.fail("the clock was read"))
    assert [next(source) for _ in range(3)] == [5, 6, 7]


@pytest.mark.parametrize("seed", [0, -1])
def test_a_seed_must_be_positive(seed):
    with pytest.raises(ValueError, match="positive"):
        IdSource(seed=seed)


def test_ids_follow_the_clock_and_never_repeat_when_it_stalls_or_steps_back():
    readings = iter([100, 100, 100, 90, 250, 251])
    source = IdSource(clock=lambda: next(readings))
    assert [next(source) for _ in range(6)] == [100, 101, 102, 103, 250, 251]


def test_ids_are_unique_across_threads():
    source = IdSource()
    drawn: list[list[int]] = [[] for _ in range(8)]

    def draw(out: list[int]) -> None:
        out.extend(next(source) for _ in range(2000))

    threads = [threading.Thread(target=draw, args=(out,)) for out in drawn]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [n for out in drawn for n in out]
    assert len(set(every)) == len(every) == 16000
    assert all(out == sorted(out) for out in drawn)  # increasing as each thread sees them


def test_a_new_source_starts_after_the_last_run_as_a_new_process_would():
    before = [next(IdSource()) for _ in range(3)]
    after = IdSource()  # a restart: nothing carried over but the wall clock
    assert next(after) > max(before)


def test_two_processes_in_sequence_draw_disjoint_ids():
    code = "from socialomega.sandbox.ids import id_source; s = id_source(); print([next(s) for _ in range(200)])"
    runs = [
        json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
        for _ in range(2)
    ]
    assert len(runs[0]) == len(runs[1]) == 200
    assert min(runs[1]) > max(runs[0])


def test_the_ids_keep_a_plausible_length_for_years():
    now = ids.wall_micros()
    assert 10**13 <= now < 10**15  # 14 digits from 2025-04 to 2028, 15 until 2056


# --- the fakes ----------------------------------------------------------------------------------


def jpeg(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (90, 140, 200)).save(out, "JPEG", quality=85)
    return out.getvalue()


def request(target: dict, served_images) -> PublishRequest:
    key = f"processed/a1/v1/{target['name']}.jpg"
    served_images.add(key, jpeg(1080, 1350))
    return PublishRequest(
        "a1",
        "v1",
        target["name"],
        target["platform"],
        "corr-1",
        "processed",
        key,
        None,
        1080,
        1350,
        "image/jpeg",
        {"title": "Dunes at dawn", "description": "First light over the dunes.", "keywords": ["dunes"]},
    )


def publish_once(served_images) -> dict[str, str]:
    """Start a sandbox, post one photo to each fake through the platform's own publisher, stop it:
    the remote id per platform."""
    remote: dict[str, str] = {}
    with Sandbox(photo_count=0) as box:
        box.social["instagram"].processing_polls = 0  # published at once: no polling sleeps
        secrets = sandbox_config.secrets(box.credentials)
        for target in sandbox_config.targets(box.urls, gallery=False):
            publisher = platforms.get(target["platform"]).build_publisher(
                target, MemoryCredentials(secrets[target["name"]])
            )
            result = publisher.publish(request(target, served_images), served_images, MemoryProgress())
            assert result.outcome.ok, (target["name"], result.outcome)
            remote[target["platform"]] = result.remote_id
    return remote


def test_a_restarted_sandbox_never_reuses_a_post_id(served_images, monkeypatch):
    first = publish_once(served_images)
    monkeypatch.setattr(ids, "_PROCESS", IdSource())  # a new process: a fresh source, the clock goes on
    second = publish_once(served_images)
    assert sorted(first) == sorted(second) == sorted(FORMATS)
    for platform, pattern in FORMATS.items():
        assert re.fullmatch(pattern, first[platform]), (platform, first[platform])
        assert re.fullmatch(pattern, second[platform]), (platform, second[platform])
        assert first[platform] != second[platform], platform
    assert int(second["x"]) < 2**63 and int(second["linkedin"].rsplit(":", 1)[1]) < 2**63


def test_a_reset_fake_keeps_drawing_new_ids():
    fake = xfake.XFake()
    before = next(fake._ids)
    fake.reset()
    assert next(fake._ids) > before


# --- the publisher's post index: the safety net when an id is reused anyway -----------------------


def indexed(asset: str, version: str = "v1", correlation: str = "corr-0") -> dict:
    return {
        "platform": "rest",
        "remote_id": "post-1",
        "target": "rest",
        "asset_id": asset,
        "version": version,
        "correlation_id": correlation,
        "published_at": "2026-11-24T09:00:00+00:00",
    }


def publish_as_post_1(store, capsys):
    """Publish asset-1, which the platform answers with the id `post-1`: (outcome, logs, metrics)."""
    svc, store, sender = publish_service(ScriptedPublisher(OK), store)
    solog.configure()  # before capture_logs, which then replaces its processors
    capsys.readouterr()
    with capture_logs() as logs:
        outcome = svc.handle(request_event())
    assert [e.type for _, e, _ in sender.bus] == ["PublishSucceeded"]  # the post exists either way
    return outcome, logs, emitted(emf_lines(capsys.readouterr().out))


def test_an_id_indexed_for_another_photo_keeps_the_first_and_is_reported(capsys):
    store = FakeStore()
    store.put(post_index_key("rest", "post-1"), indexed("asset-0", correlation="corr-0"))
    outcome, logs, metrics = publish_as_post_1(store, capsys)
    assert outcome == "published"
    assert store.get(post_index_key("rest", "post-1")).data == indexed("asset-0", correlation="corr-0")
    [conflict] = [entry for entry in logs if entry["event"] == "post_index_conflict"]
    assert conflict["log_level"] == "error"
    assert (conflict["asset_id"], conflict["indexed_asset_id"]) == ("asset-1", "asset-0")
    assert (conflict["target"], conflict["remote_id"]) == ("rest", "post-1")
    assert conflict["indexed_correlation_id"] == "corr-0"
    assert conflict["correlation_id"] not in (None, "corr-0")
    assert metrics[("PostIndexConflicts", (("Target", "rest"),))] == [1]


def test_another_version_of_the_same_photo_under_a_reused_id_is_a_conflict_too(capsys):
    store = FakeStore()
    store.put(post_index_key("rest", "post-1"), indexed("asset-1", version="v0"))
    _, logs, metrics = publish_as_post_1(store, capsys)
    assert store.get(post_index_key("rest", "post-1")).data["version"] == "v0"
    assert [entry["event"] for entry in logs].count("post_index_conflict") == 1
    assert ("PostIndexConflicts", (("Target", "rest"),)) in metrics


def test_the_same_publication_finding_its_own_entry_is_a_redelivery_not_a_conflict(capsys):
    # A crash between the index write and `settle` leaves the entry; the redelivery writes it again.
    store = FakeStore()
    own = indexed("asset-1", correlation="corr-first-delivery")
    store.put(post_index_key("rest", "post-1"), own)
    outcome, logs, metrics = publish_as_post_1(store, capsys)
    assert outcome == "published"
    assert store.get(post_index_key("rest", "post-1")).data == own
    assert "post_index_conflict" not in [entry["event"] for entry in logs]
    assert not [key for key in metrics if key[0] == "PostIndexConflicts"]
    assert metrics[("Published", (("Target", "rest"),))] == [1]


def test_a_fresh_id_is_indexed_once_with_a_create_only_write(capsys):
    class CreateOnly(FakeStore):
        claiming = False  # FakeStore.claim writes through put

        def claim(self, key, data):
            self.claiming = True
            try:
                return super().claim(key, data)
            finally:
                self.claiming = False

        def put(self, key, data):
            assert self.claiming or not key.startswith("posts/"), "the post index is never overwritten"
            return super().put(key, data)

    store = CreateOnly()
    outcome, logs, _ = publish_as_post_1(store, capsys)
    assert outcome == "published"
    assert store.get(post_index_key("rest", "post-1")).data["asset_id"] == "asset-1"
    assert "post_index_conflict" not in [entry["event"] for entry in logs]


def test_an_entry_removed_between_the_claim_and_the_read_is_written_again(capsys):
    class Vanishing(FakeStore):
        def claim(self, key, data):
            if key.startswith("posts/") and not getattr(self, "raced", False):
                self.raced = True  # someone held the key, then it was deleted
                return None
            return super().claim(key, data)

    store = Vanishing()
    _, logs, _ = publish_as_post_1(store, capsys)
    assert store.get(post_index_key("rest", "post-1")).data["asset_id"] == "asset-1"
    assert "post_index_conflict" not in [entry["event"] for entry in logs]
