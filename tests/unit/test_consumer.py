"""Partial batch responses: which records are retried, dead-lettered or acknowledged."""

import json

import pytest

from socialomega.core import consumer
from socialomega.core.consumer import PermanentFailure, RetryLater, backoff_seconds, process_batch
from socialomega.core.envelope import new_event


class Records(consumer.QueueRecords):
    """The real SQS record operations over a recording client, except that dead-letters and
    visibility delays are recorded (no redrive policy to read) and the 5th receive is the last."""

    def __init__(self, sqs=None) -> None:
        super().__init__(sqs or _RecordingSqs())
        self.calls = {"dead": [], "delay": []}

    def dead_letter(self, record, reason, code, service):
        self.calls["dead"].append((record["messageId"], reason, code))

    def delay(self, record, seconds):
        self.calls["delay"].append((record["messageId"], seconds))

    def last_receive(self, record, receive_count):
        return receive_count >= 5


@pytest.fixture
def records():
    return Records()


@pytest.fixture
def sqs_calls(records):
    return records.calls


def record(message_id: str, body: str, receive_count: int = 1) -> dict:
    return {
        "messageId": message_id,
        "receiptHandle": "rh",
        "body": body,
        "attributes": {"ApproximateReceiveCount": str(receive_count)},
        "eventSourceARN": "arn:aws:sqs:x:1:q",
    }


def ok_body(asset: str) -> str:
    return new_event(
        "AssetDetected",
        asset,
        {"source": "inbox", "version": "v1", "raw": {"bucket": "raw", "key": f"raw/{asset}/v1.jpg"}},
    ).to_json()


def test_each_record_gets_its_own_outcome(sqs_calls, records):
    def handle(envelope, _record):
        if envelope.asset_id == "permanent":
            raise PermanentFailure("corrupt JPEG", "image_rejected")
        if envelope.asset_id == "later":
            raise RetryLater("429", delay_seconds=60)
        if envelope.asset_id == "boom":
            raise RuntimeError("unexpected")

    event = {
        "Records": [
            record("1", ok_body("fine")),
            record("2", ok_body("permanent")),
            record("3", ok_body("later")),
            record("4", "{not json"),
            record("5", ok_body("boom")),
        ]
    }
    result = process_batch(event, handle, service="test", expect="AssetDetected", records=records)
    assert result == {"batchItemFailures": [{"itemIdentifier": "3"}, {"itemIdentifier": "5"}]}
    assert [(m, c) for m, _, c in sqs_calls["dead"]] == [("2", "image_rejected"), ("4", "invalid_message")]
    assert "corrupt JPEG" in sqs_calls["dead"][0][1]
    assert dict(sqs_calls["delay"])["3"] >= 60


def test_a_record_that_cannot_be_dead_lettered_is_retried_instead(records, monkeypatch):
    def broken(*args):
        raise RuntimeError("SQS down")

    monkeypatch.setattr(records, "dead_letter", broken)
    result = process_batch(
        {"Records": [record("1", "[]")]}, lambda e, r: None, service="t", expect="AssetDetected", records=records
    )
    assert result == {"batchItemFailures": [{"itemIdentifier": "1"}]}


def test_wrong_event_type_is_dead_lettered(sqs_calls, records):
    body = new_event("PublishFailed", "a", {"target": "rest"}).to_json()
    assert process_batch(
        {"Records": [record("1", body)]}, lambda e, r: None, service="t", expect="AssetDetected", records=records
    ) == {"batchItemFailures": []}
    assert "unexpected event type" in sqs_calls["dead"][0][1]


def test_eventbridge_wrapper_is_unwrapped(sqs_calls, records):
    seen = []
    detail = json.loads(ok_body("a"))
    wrapper = json.dumps({"version": "0", "detail-type": "AssetDetected", "source": "s", "detail": detail})
    process_batch(
        {"Records": [record("1", wrapper), record("2", "{}")]},
        lambda e, r: seen.append(e.asset_id),
        service="t",
        expect="AssetDetected",
        unwrap=consumer.unwrap_eventbridge,
        records=records,
    )
    assert seen == ["a"]
    assert "not an EventBridge event" in sqs_calls["dead"][0][1]


def test_backoff_grows_is_capped_and_honours_retry_after():
    assert 1 <= backoff_seconds(1) <= 2
    assert 16 <= backoff_seconds(5) <= 32
    assert backoff_seconds(50) <= consumer.MAX_BACKOFF_SECONDS
    assert backoff_seconds(1, retry_after=120) >= 120


def test_the_last_receive_is_dead_lettered_with_the_last_reason(sqs_calls, records):
    def handle(envelope, _record):
        if envelope.asset_id == "slow":
            raise RetryLater("rest: 503 Service Unavailable")
        raise RuntimeError("boom")

    event = {
        "Records": [
            record("1", ok_body("slow"), receive_count=5),
            record("2", ok_body("x"), receive_count=5),
            record("3", ok_body("slow"), receive_count=4),
        ]
    }
    assert process_batch(event, handle, service="t", expect="AssetDetected", records=records) == {
        "batchItemFailures": [{"itemIdentifier": "3"}]
    }
    assert [(m, c) for m, _, c in sqs_calls["dead"]] == [("1", "retries_exhausted"), ("2", "retries_exhausted")]
    assert "after 5 receives: rest: 503 Service Unavailable" in sqs_calls["dead"][0][1]
    assert "RuntimeError: boom" in sqs_calls["dead"][1][1]


class _RecordingSqs:
    def __init__(self, fail: bool = False) -> None:
        self.sent: list[dict] = []
        self.fail = fail

    def get_queue_url(self, QueueName, QueueOwnerAWSAccountId):  # noqa: N803 (boto3's names)
        return {"QueueUrl": f"https://sqs.local/{QueueOwnerAWSAccountId}/{QueueName}"}

    def send_message(self, **kwargs):
        if self.fail:
            raise RuntimeError("SQS down")
        self.sent.append(kwargs)


def test_a_deferred_record_is_sent_again_delayed_and_acknowledged():
    sqs = _RecordingSqs()
    records = Records(sqs)
    sqs_calls = records.calls
    deferred = record("1", ok_body("over-quota"), receive_count=4)
    deferred["messageAttributes"] = {
        "platform": {"dataType": "String", "stringValue": "x"},
        "so_deferrals": {"dataType": "Number", "stringValue": "2"},
    }

    def handle(envelope, _record):
        raise consumer.Deferred("x: 17 posts in 24 h reached", 7200)

    result = process_batch(
        {"Records": [deferred]}, handle, service="publisher", expect="AssetDetected", records=records
    )
    assert result == {"batchItemFailures": []}  # acknowledged: waiting is not a failure
    (sent,) = sqs.sent
    assert sent["QueueUrl"] == "https://sqs.local/1/q" and sent["MessageBody"] == deferred["body"]
    assert sent["DelaySeconds"] == 900  # SQS's maximum; a longer wait is reached by deferring again
    assert sent["MessageAttributes"]["platform"]["StringValue"] == "x"
    assert sent["MessageAttributes"]["so_deferrals"]["StringValue"] == "3"
    assert sqs_calls["dead"] == []


def test_a_deferral_that_cannot_be_sent_falls_back_to_a_visibility_delay():
    records = Records(_RecordingSqs(fail=True))
    sqs_calls = records.calls

    def handle(envelope, _record):
        raise consumer.Deferred("quota", 120)

    result = process_batch(
        {"Records": [record("1", ok_body("a"))]}, handle, service="p", expect="AssetDetected", records=records
    )
    assert result == {"batchItemFailures": [{"itemIdentifier": "1"}]}
    assert dict(sqs_calls["delay"])["1"] >= 120
