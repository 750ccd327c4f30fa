"""The processor's service (processor.service): images nobody should post are rejected with every
reason and dead-lettered; variants are uploaded in parallel, and announced only once all are up."""

from __future__ import annotations

import io
import json
import threading
import time

import pytest
from PIL import Image

from socialomega.core import deadline
from socialomega.core.consumer import PermanentFailure
from socialomega.core.envelope import new_event
from socialomega.core.events import EventSender
from socialomega.core.store import asset_key
from socialomega.core.targets import Target
from socialomega.processor import service as processor_service
from socialomega.processor.service import ProcessorService
from tests.unit.fakes import FakeStore, MemoryBlobs, RecordingSender

TARGETS = [Target(name=name, platform=name) for name in ("instagram", "x", "facebook", "linkedin", "rest")]


def jpeg(width: int = 1200, height: int = 800) -> bytes:
    out = io.BytesIO()
    Image.effect_noise((width, height), 40).convert("RGB").save(out, "JPEG", quality=85)
    return out.getvalue()


def scan_cut(data: bytes) -> bytes:
    """A valid JPEG with its scan data cut in half and its EOI marker put back."""
    sos = data.index(b"\xff\xda")
    return data[: sos + (len(data) - sos) // 2] + b"\xff\xd9"


def detected(asset: str = "a1"):
    return new_event(
        "AssetDetected",
        asset,
        {
            "source": "inbox",
            "version": "v1",
            "metadata": {"title": "Dune"},
            "raw": {"bucket": "so-raw", "key": "raw/p"},
        },
    )


class Topic:
    """SNS's PublishBatch, answering each entry as `answer(platform)` says (None: accepted)."""

    def __init__(self, answer=lambda platform: None) -> None:
        self.answer = answer
        self.calls: list[list[dict]] = []

    def publish_batch(self, TopicArn, PublishBatchRequestEntries):  # noqa: N803 - boto3's names
        self.calls.append(PublishBatchRequestEntries)
        ok, failed = [], []
        for entry in PublishBatchRequestEntries:
            code = self.answer(entry["MessageAttributes"]["platform"]["StringValue"])
            if code is None:
                ok.append({"Id": entry["Id"], "MessageId": f"m-{entry['Id']}"})
            else:
                failed.append({"Id": entry["Id"], "Code": code, "Message": "try again", "SenderFault": False})
        return {"Successful": ok, "Failed": failed}

    @property
    def platforms(self) -> list[str]:
        return [e["MessageAttributes"]["platform"]["StringValue"] for call in self.calls for e in call]


def service(image: bytes, targets=TARGETS, sender=None, variants=None, store=None) -> ProcessorService:
    return ProcessorService(
        MemoryBlobs("so-raw", {"raw/p": image}),
        variants if variants is not None else MemoryBlobs("so-processed"),
        store if store is not None else FakeStore(),
        sender if sender is not None else RecordingSender(),
        "topic",
        lambda: targets,
    )


def processing(store: FakeStore) -> dict:
    return store.get(asset_key("a1")).data["versions"]["v1"]["processing"]


# ---------------------------------------------------------------- images nobody should post
def test_a_jpeg_whose_scan_data_ends_early_is_rejected_and_nothing_is_posted():
    store, sender, variants = FakeStore(), RecordingSender(), MemoryBlobs("so-processed")
    with pytest.raises(PermanentFailure) as exc:
        service(scan_cut(jpeg()), sender=sender, variants=variants, store=store).handle(detected())
    assert exc.value.code == "image_rejected" and "premature end of data segment" in exc.value.reason
    assert processing(store)["status"] == "rejected" and "premature end" in processing(store)["reason"]
    assert variants.objects == {} and sender.topic == []


@pytest.mark.parametrize("size,targets", [((1, 1), TARGETS), ((150, 150), TARGETS[:4])])
def test_a_photo_no_target_can_take_is_rejected_with_every_target_s_reason(size, targets):
    store, sender, variants = FakeStore(), RecordingSender(), MemoryBlobs("so-processed")
    with pytest.raises(PermanentFailure) as exc:
        service(jpeg(*size), targets, sender=sender, variants=variants, store=store).handle(detected())
    reason = exc.value.reason
    assert exc.value.code == "image_rejected" and reason.startswith("image rejected: no target can take it: ")
    for target in targets:
        assert f"{target.name}: output would be {size[0]}x{size[1]} px, below the target's minimum" in reason
    status = processing(store)
    assert status["status"] == "rejected" and status["reason"] in reason
    assert set(status["failures"]) == {t.name for t in targets}
    assert variants.objects == {} and sender.topic == []


def test_a_photo_too_small_for_some_targets_goes_to_the_others_with_their_reasons_recorded():
    store, sender = FakeStore(), RecordingSender()
    service(jpeg(250, 250), sender=sender, store=store).handle(detected())  # under IG's 320 only
    assert sorted(platform for _, _, platform in sender.topic) == ["facebook", "linkedin", "rest", "x"]
    status = processing(store)
    assert status["status"] == "processed"
    assert status["failures"] == {"instagram": "output would be 250x250 px, below the target's minimum 320 px width"}


def test_a_1x1_photo_is_refused_by_every_default_target():
    store = FakeStore()
    with pytest.raises(PermanentFailure) as exc:
        service(jpeg(1, 1), store=store).handle(detected())
    assert set(processing(store)["failures"]) == {t.name for t in TARGETS}
    assert "rest: output would be 1x1 px, below the target's minimum 32 px width" in exc.value.reason


# ---------------------------------------------------------------- overlapped I/O
class ConcurrentBlobs(MemoryBlobs):
    """Each put waits until `parties` puts are in flight at once: serial uploads never get there
    (the barrier breaks after its timeout and the test fails; no timing is asserted)."""

    def __init__(self, parties: int) -> None:
        super().__init__("so-processed")
        self.barrier = threading.Barrier(parties, timeout=10)
        self.threads: set[str] = set()
        self.lock = threading.Lock()

    def put(self, key, data, *, content_type, metadata):
        self.barrier.wait()
        with self.lock:
            self.threads.add(threading.current_thread().name)
            return super().put(key, data, content_type=content_type, metadata=metadata)


def test_variants_are_uploaded_in_parallel_and_all_announced_in_one_batch():
    targets = TARGETS[: processor_service.UPLOAD_WORKERS]  # as many as the pool's workers: all at once
    topic, store = Topic(), FakeStore()
    variants = ConcurrentBlobs(parties=len(targets))
    service(jpeg(), targets, sender=EventSender(sns=topic), variants=variants, store=store).handle(detected())
    assert len(variants.objects) == len(targets) and len(variants.threads) == len(targets)
    assert len(topic.calls) == 1 and sorted(topic.platforms) == sorted(t.name for t in targets)
    recorded = store.get(asset_key("a1")).data["versions"]["v1"]["variants"]
    assert set(recorded) == {t.name for t in targets}
    assert sorted(v["version_id"] for v in recorded.values()) == [f"v{n}" for n in range(1, len(targets) + 1)]
    assert all(recorded[m["target"]]["key"] == key for key, m in variants.puts)


class FailingBlobs(MemoryBlobs):
    def __init__(self, failing: str) -> None:
        super().__init__("so-processed")
        self.failing = failing

    def put(self, key, data, *, content_type, metadata):
        if metadata["target"] == self.failing:
            raise ConnectionError("S3 reset the connection")
        return super().put(key, data, content_type=content_type, metadata=metadata)


def test_one_failed_upload_fails_the_record_for_a_retry_and_nothing_is_announced():
    topic, store = Topic(), FakeStore()
    with pytest.raises(ConnectionError):  # not permanent: the consumer sends the record again
        service(jpeg(), sender=EventSender(sns=topic), variants=FailingBlobs("facebook"), store=store).handle(
            detected()
        )
    assert topic.calls == [] and store.get(asset_key("a1")) is None  # not "processed", nothing announced
    # The retry uploads the whole set again (same keys) and announces it.
    again = MemoryBlobs("so-processed")
    service(jpeg(), sender=EventSender(sns=topic), variants=again, store=store).handle(detected())
    assert len(again.objects) == len(TARGETS) and len(topic.platforms) == len(TARGETS)


class AlmostOver(deadline.Deadline):
    """A deadline that always has 50 ms left: a bounded wait gives up after them."""

    def remaining(self) -> float:
        return 0.05


def test_uploads_still_running_at_the_deadline_stop_the_record_without_announcing():
    release = threading.Event()

    class StuckBlobs(MemoryBlobs):
        def put(self, key, data, *, content_type, metadata):
            release.wait(10)
            return super().put(key, data, content_type=content_type, metadata=metadata)

    topic, store = Topic(), FakeStore()
    svc = service(jpeg(), sender=EventSender(sns=topic), variants=StuckBlobs("so-processed"), store=store)
    try:
        with deadline.bound(AlmostOver(at=0.0)), pytest.raises(deadline.DeadlineReached, match="variant uploads"):
            svc.handle(detected())
    finally:
        release.set()
    assert topic.calls == [] and store.get(asset_key("a1")) is None


def test_no_time_left_means_no_upload_is_started():
    variants = MemoryBlobs("so-processed")
    with deadline.bound(deadline.Deadline(at=time.monotonic() - 1, margin=0)), pytest.raises(deadline.DeadlineReached):
        service(jpeg(), variants=variants).handle(detected())
    assert variants.objects == {}


def test_a_refused_batch_entry_fails_the_record_and_the_retry_sends_the_same_event_ids():
    topic = Topic(lambda platform: "Throttled" if platform == "x" else None)
    svc = service(jpeg(), sender=EventSender(sns=topic))
    event = detected()
    with pytest.raises(RuntimeError, match="x: Throttled"):
        svc.handle(event)
    first = [e["Message"] for e in topic.calls[0]]
    topic.answer = lambda platform: None
    svc.handle(event)  # the redelivered record
    second = [e["Message"] for e in topic.calls[1]]
    ids = [json.loads(m)["event_id"] for m in first]
    assert ids == [json.loads(m)["event_id"] for m in second] and len(set(ids)) == len(TARGETS)
    svc.handle(detected())  # another detection of the same photo: other ids
    assert not set(ids) & {json.loads(e["Message"])["event_id"] for e in topic.calls[2]}


# ---------------------------------------------------------------- through the consumer
def test_through_the_consumer_a_photo_no_target_takes_is_dead_lettered_with_every_reason():
    from socialomega.core.consumer import process_batch
    from tests.unit.fakes import RecordedQueue

    queue = RecordedQueue()
    record = {
        "messageId": "m-0",
        "receiptHandle": "rh",
        "body": detected().to_json(),
        "eventSourceARN": "arn:aws:sqs:r:1:q",
        "attributes": {"ApproximateReceiveCount": "1"},
    }
    svc = service(jpeg(1, 1))
    answer = process_batch(
        {"Records": [record]}, svc.handle, service="processor", expect="AssetDetected", records=queue
    )
    assert answer == {"batchItemFailures": []}
    [(message, reason, code)] = queue.dead
    assert (message, code) == ("m-0", "image_rejected")
    assert all(f"{t.name}: output would be 1x1 px" in reason for t in TARGETS)


# ---------------------------------------------------------------- the photographer's plan
def planned(keywords: list[str], version: str = "v1"):
    return new_event(
        "AssetDetected",
        "a1",
        {
            "source": "lightroom",
            "version": version,
            "metadata": {"title": "Dune", "keywords": keywords},
            "raw": {"bucket": "so-raw", "key": "raw/p"},
            "detected_at": f"2026-12-0{version[-1]}T10:00:00+00:00",
        },
    )


def test_so_only_and_so_skip_choose_the_targets_and_the_others_are_recorded_as_skipped():
    store, sender = FakeStore(), RecordingSender()
    service(jpeg(), sender=sender, store=store).handle(planned(["dunes", "so:only:instagram,x", "so:skip:x"]))
    assert sorted(platform for _, _, platform in sender.topic) == ["instagram"]
    skipped = processing(store)["skipped"]
    assert set(skipped) == {"x", "facebook", "linkedin", "rest"} and skipped["x"].startswith("so:skip")
    assert processing(store)["status"] == "processed"


def test_a_photo_sent_nowhere_is_skipped_without_building_anything():
    store, sender, variants = FakeStore(), RecordingSender(), MemoryBlobs("so-processed")
    service(jpeg(), sender=sender, store=store, variants=variants).handle(
        planned(["so:skip:" + ",".join(t.name for t in TARGETS)])
    )
    assert processing(store)["status"] == "skipped" and variants.objects == {} and sender.topic == []


def test_an_unreadable_keyword_is_recorded_and_the_rest_of_the_plan_still_runs():
    store, sender = FakeStore(), RecordingSender()
    service(jpeg(), sender=sender, store=store).handle(planned(["so:crop:middle", "so:only:x", "so:only:flickr"]))
    assert [platform for _, _, platform in sender.topic] == ["x"]
    problems = " ".join(processing(store)["plan_problems"])
    assert "middle" in problems and "flickr" in problems


def test_a_crop_anchor_moves_the_crop_window():
    """A wide photo cut to Instagram's 4:5 keeps its left edge with so:crop:west."""
    image, blobs = jpeg(2400, 1000), {}
    for anchor in ("centre", "west", "left"):  # left: west's other name
        variants = MemoryBlobs("so-processed")
        service(image, targets=TARGETS[:1], variants=variants).handle(planned([f"so:crop:{anchor}"]))
        blobs[anchor] = next(iter(variants.objects.values()))
    assert blobs["centre"] != blobs["west"] and blobs["west"] == blobs["left"]


def test_each_request_names_the_photos_earlier_versions_newest_first():
    store, sender = FakeStore(), RecordingSender()
    for v in ("v1", "v2", "v3"):
        service(jpeg(), targets=TARGETS[:1], sender=sender, store=store).handle(planned([], version=v))
    earlier = [envelope.payload["earlier_versions"] for _, envelope, _ in sender.topic]
    assert earlier == [[], ["v1"], ["v2", "v1"]]
