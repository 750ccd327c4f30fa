"""The event sender the processor announces with (core.events): SNS PublishBatch in batches within
its limits, refused entries raise, and the history bus archives every envelope sent."""

from __future__ import annotations

import json

import pytest

from socialomega.core.envelope import new_event
from socialomega.core.events import MAX_BATCH_BYTES, BatchRefused, EventSender


def request(n: int, title: str = "Dune"):
    return new_event("PublishRequested", f"a{n}", {"target": f"t{n}", "metadata": {"title": title}})


class Sns:
    def __init__(self, refuse: set[str] = frozenset(), silent: set[str] = frozenset()) -> None:
        self.refuse, self.silent = refuse, silent
        self.batches: list[list[dict]] = []
        self.published: list[dict] = []
        self.log: list[str] = []

    def publish_batch(self, TopicArn, PublishBatchRequestEntries):  # noqa: N803 - boto3's names
        self.batches.append(PublishBatchRequestEntries)
        self.log.append("sns")
        ok, failed = [], []
        for entry in PublishBatchRequestEntries:
            platform = entry["MessageAttributes"]["platform"]["StringValue"]
            if platform in self.refuse:
                failed.append({"Id": entry["Id"], "Code": "InternalError", "Message": "busy", "SenderFault": False})
            elif platform not in self.silent:
                ok.append({"Id": entry["Id"], "MessageId": f"sns-{platform}"})
        return {"Successful": ok, "Failed": failed}

    def publish(self, TopicArn, Message, MessageAttributes):  # noqa: N803
        self.published.append({"Message": Message, "MessageAttributes": MessageAttributes})
        self.log.append("sns")
        return {"MessageId": "sns-1"}


class Bus:
    def __init__(self, log: list[str], fail: bool = False) -> None:
        self.log, self.fail = log, fail
        self.calls: list[list[dict]] = []

    def put_events(self, Entries):  # noqa: N803
        self.log.append("bus")
        self.calls.append(Entries)
        if self.fail:
            return {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "AccessDenied", "ErrorMessage": "no"}]}
        return {"FailedEntryCount": 0, "Entries": [{"EventId": "e"} for _ in Entries]}

    @property
    def archived(self) -> list[str]:
        return [json.loads(e["Detail"])["event_id"] for call in self.calls for e in call]


class Sqs:
    def __init__(self, log: list[str]) -> None:
        self.log = log

    def send_message(self, QueueUrl, MessageBody, MessageAttributes):  # noqa: N803
        self.log.append("sqs")
        return {"MessageId": "q-1"}


# ---------------------------------------------------------------- PublishBatch
def test_to_topic_many_sends_ten_per_call_with_each_platform_attribute_and_returns_ids_in_order():
    sns = Sns()
    messages = [(request(n), f"p{n}") for n in range(23)]
    ids = EventSender(sns=sns).to_topic_many("topic", messages)
    assert [len(b) for b in sns.batches] == [10, 10, 3]
    assert ids == [f"sns-p{n}" for n in range(23)]
    entries = [e for b in sns.batches for e in b]
    assert [json.loads(e["Message"])["event_id"] for e in entries] == [m.event_id for m, _ in messages]
    assert all(len({e["Id"] for e in b}) == len(b) for b in sns.batches)  # ids unique within a call
    first = entries[0]["MessageAttributes"]
    assert first["platform"]["StringValue"] == "p0" and first["event_type"]["StringValue"] == "PublishRequested"
    assert EventSender(sns=sns).to_topic_many("topic", []) == []


def test_to_topic_many_splits_a_call_that_would_exceed_256_kib():
    sns = Sns()
    big = "x" * (MAX_BATCH_BYTES // 3)  # three of these do not fit in one call
    EventSender(sns=sns).to_topic_many("topic", [(request(n, big), f"p{n}") for n in range(4)])
    assert [len(b) for b in sns.batches] == [2, 2]
    for batch in sns.batches:
        assert sum(len(e["Message"].encode()) for e in batch) <= MAX_BATCH_BYTES


def test_a_refused_entry_raises_naming_it_after_every_batch_was_tried():
    sns = Sns(refuse={"p3"}, silent={"p12"})
    with pytest.raises(BatchRefused) as exc:
        EventSender(sns=sns).to_topic_many("topic", [(request(n), f"p{n}") for n in range(15)])
    assert len(sns.batches) == 2  # the second batch still went out
    assert exc.value.refused == ["p3: InternalError busy", "p12: no answer"]
    assert "SNS PublishBatch refused 2 message(s)" in str(exc.value)


# ---------------------------------------------------------------- the history bus
def test_every_envelope_sent_is_archived_on_the_history_bus_after_its_send():
    log: list[str] = []
    sns, bus = Sns(), Bus(log)
    sns.log = log
    sender = EventSender(
        sqs=Sqs(log), sns=sns, events=bus, history_bus="so-bus", history_source="socialomega.processor"
    )
    one, two = request(1), request(2)
    sender.to_queue("q", one)
    sender.to_topic("topic", two, platform="x")
    many = [(request(n), f"p{n}") for n in range(12)]
    sender.to_topic_many("topic", many)
    assert log == ["sqs", "bus", "sns", "bus", "sns", "sns", "bus", "bus"]  # 12 archived: 10 + 2
    assert bus.archived == [one.event_id, two.event_id] + [m.event_id for m, _ in many]
    entry = bus.calls[0][0]
    assert (entry["EventBusName"], entry["Source"], entry["DetailType"]) == (
        "so-bus",
        "socialomega.processor",
        "PublishRequested",
    )
    assert json.loads(entry["Detail"]) == json.loads(one.to_json())


def test_what_a_refused_batch_did_send_is_archived_before_it_raises():
    log: list[str] = []
    bus = Bus(log)
    sender = EventSender(sns=Sns(refuse={"p1"}), events=bus, history_bus="so-bus")
    messages = [(request(n), f"p{n}") for n in range(3)]
    with pytest.raises(BatchRefused):
        sender.to_topic_many("topic", messages)
    assert bus.archived == [messages[0][0].event_id, messages[2][0].event_id]
    assert bus.calls[0][0]["Source"] == "socialomega"  # the default source


def test_a_failure_to_archive_raises_so_the_message_is_retried():
    sender = EventSender(sns=Sns(), events=Bus([], fail=True), history_bus="so-bus")
    with pytest.raises(RuntimeError, match="EventBridge refused 1 event"):
        sender.to_topic("topic", request(1), platform="x")
    with pytest.raises(RuntimeError, match="AccessDenied"):
        sender.to_topic_many("topic", [(request(2), "x")])


def test_without_a_history_bus_nothing_is_archived_and_one_needs_a_client():
    log: list[str] = []
    bus = Bus(log)
    EventSender(sqs=Sqs(log), events=bus).to_queue("q", request(1))
    assert bus.calls == [] and log == ["sqs"]
    with pytest.raises(ValueError, match="EventBridge client"):
        EventSender(sns=Sns(), history_bus="so-bus")


def test_status_events_go_to_their_bus_once_even_with_a_history_bus():
    bus = Bus([])
    sender = EventSender(events=bus, history_bus="so-bus", history_source="socialomega.publisher")
    sender.to_bus("so-bus", new_event("PublishSucceeded", "a1", {"target": "x"}), "socialomega.publisher")
    assert len(bus.archived) == 1


def test_the_processor_bootstrap_archives_on_the_settings_event_bus():
    from socialomega.core import config
    from socialomega.core.aws import Clients
    from socialomega.processor import bootstrap

    settings = config.Settings(
        env="t",
        raw_bucket="so-raw",
        processed_bucket="so-processed",
        store_bucket="so-store",
        images_queue_url="images",
        publish_topic_arn="topic",
        event_bus="so-bus",
        config_prefix="/socialomega/t",
        secret_prefix="socialomega/t",
    )
    clients = Clients(s3=object(), sqs=object(), sns=object(), events=object())
    service, _ = bootstrap.build(settings, clients, config.Configuration(settings, None, None))
    sender = service.sender
    assert isinstance(sender, EventSender) and sender.sns is clients.sns and sender.events is clients.events
    assert (sender.history_bus, sender.history_source) == ("so-bus", "socialomega.processor")
