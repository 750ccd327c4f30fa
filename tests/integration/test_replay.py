"""Replay on LocalStack: the pipeline has run (`first_run`, and whatever other tests did), every
event it put on the bus is in the S3 event log, and replaying the log's whole time range to the
original destinations (images queue, publish topic, bus) posts nothing again and leaves
analytics exactly as it was.

A replayed detection runs the processor again (new variants, new publish requests, which the
publishers' claims turn away); a replayed detection of the corrupt photo is dead-lettered again,
with its reason, and this test takes those copies out of the DLQ again for the other tests.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import Any

import pytest

from socialomega.core import aws, config
from socialomega.local import ops
from socialomega.replay.replayer import Replayer, Selection
from tests.conftest import wait_idle

pytestmark = pytest.mark.integration


def posts(sandbox) -> dict[str, int]:
    """How many posts each sandbox platform has received."""
    return {"rest": len(sandbox.rest_posts()), **{p: len(sandbox.social_posts(p)) for p in sandbox.social}}


def analytics(store) -> dict[str, Any]:
    return {key: store.get(key).data for key in store.list_keys("analytics/")}


def dlq_messages(url: str) -> list[dict[str, Any]]:
    """Every message of a (small) DLQ, hidden for a minute so each is read once."""
    sqs = aws.client("sqs")
    found: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60, WaitTimeSeconds=0)
        if not batch.get("Messages"):
            return found
        found.extend(batch["Messages"])


def show_again(url: str, messages: list[dict[str, Any]]) -> None:
    for message in messages:
        aws.client("sqs").change_message_visibility(
            QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
        )


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout:.0f} s: {what}"
        time.sleep(0.5)


def handled(runtime, consumer_prefix: str) -> int:
    """Records handled so far by the consumers whose name starts with `consumer_prefix`."""
    return sum(s.records for name, s in runtime.stats().items() if name.startswith(consumer_prefix))


def test_replaying_the_whole_log_posts_nothing_and_changes_no_analytics(sandbox, stack, store, runtime, first_run):
    wait_idle(runtime)
    log = store.list_keys("events/")
    logged = Counter(key.split("/")[1] for key in log)
    assert logged["PublishSucceeded"] > 0, f"the event log holds no publish results: {logged}"
    days = sorted({"-".join(key.split("/")[2:5]) for key in log})
    before_posts, before_analytics = posts(sandbox), analytics(store)
    processor_dlq = stack["consumers"]["processor"]["dlq_url"]
    dead_before = dlq_messages(processor_dlq)
    show_again(processor_dlq, dead_before)
    other_dlqs = {n: c["dlq_url"] for n, c in stack["consumers"].items() if n != "processor"}
    other_dead_before = ops.dlq_depths(other_dlqs)
    handled_before = {name: handled(runtime, name) for name in ("analytics", "processor", "publisher-")}

    report = Replayer.build(config.Settings.from_env(), aws.Clients.default()).replay(
        Selection.parse(days[0], days[-1])
    )
    print("\n" + "\n".join(report.lines()))
    assert report.ok, report.lines()
    assert report.sent == logged, "every logged event is re-sent once"

    # Each replayed event reaches its consumer (and the processor's new requests their publishers)
    # before the pipeline is idle again.
    to_bus = sum(n for t, n in report.sent.items() if t not in ("AssetDetected", "PublishRequested"))
    wait_for(
        lambda: handled(runtime, "analytics") >= handled_before["analytics"] + to_bus,
        300,
        f"analytics handles the {to_bus} replayed bus events",
    )
    wait_for(
        lambda: handled(runtime, "processor") >= handled_before["processor"] + report.sent["AssetDetected"],
        300,
        "the processor handles the replayed detections",
    )
    wait_for(
        lambda: handled(runtime, "publisher-") >= handled_before["publisher-"] + report.sent["PublishRequested"],
        300,
        "the publishers handle the replayed publish requests",
    )
    wait_idle(runtime, timeout=300)

    assert posts(sandbox) == before_posts, "a replay posted again"
    assert analytics(store) == before_analytics, "a replay changed analytics"
    # Nothing is logged twice; only the processor's new publish requests (for the replayed detections) are new.
    new = Counter(key.split("/")[1] for key in set(store.list_keys("events/")) - set(log))
    assert set(new) <= {"PublishRequested"}, new
    assert ops.dlq_depths(other_dlqs) == other_dead_before
    # Analytics takes every event type (an unknown one would be dead-lettered there, not logged).
    assert ops.dlq_depths({"analytics": stack["consumers"]["analytics"]["dlq_url"]}) == {"analytics": 0}

    # The corrupt photo's detection was dead-lettered again (only it): take the copies back out.
    known = {m["MessageId"] for m in dead_before}
    dead_after = dlq_messages(processor_dlq)
    again = [m for m in dead_after if m["MessageId"] not in known]
    corrupt = {p.id for p in sandbox.selected_photos() if p.corrupt}
    assert {json.loads(m["Body"])["asset_id"] for m in again} <= corrupt
    for message in again:
        aws.client("sqs").delete_message(QueueUrl=processor_dlq, ReceiptHandle=message["ReceiptHandle"])
    show_again(processor_dlq, [m for m in dead_after if m["MessageId"] in known])
    print(
        f"replayed {sum(report.sent.values())} event(s) of {len(days)} day(s): {dict(report.sent)}; "
        f"corrupt detections dead-lettered again and removed: {len(again)}"
    )
