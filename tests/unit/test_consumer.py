"""Partial batch responses: which records are retried, sent again, dead-lettered or acknowledged,
within the invocation's deadline, and for how long retries go on."""

import json
import time

import pytest

from socialomega.core import consumer, deadline
from socialomega.core.config import Resilience
from socialomega.core.consumer import PermanentFailure, RetryLater, RetryState, backoff_seconds, process_batch
from socialomega.core.envelope import new_event

POLICY = Resilience(retry_base_seconds=4, retry_max_delay_seconds=3600, retry_max_age_seconds=86400)


class _RecordingSqs:
    def __init__(self, fail: bool = False) -> None:
        self.sent: list[dict] = []
        self.visibility: list[tuple[str, int]] = []
        self.fail = fail

    def get_queue_url(self, QueueName, QueueOwnerAWSAccountId):  # noqa: N803 (boto3's names)
        return {"QueueUrl": f"https://sqs.local/{QueueOwnerAWSAccountId}/{QueueName}"}

    def send_message(self, **kwargs):
        if self.fail:
            raise RuntimeError("SQS down")
        self.sent.append(kwargs)

    def change_message_visibility(self, QueueUrl, ReceiptHandle, VisibilityTimeout):  # noqa: N803
        self.visibility.append((ReceiptHandle, VisibilityTimeout))


class Records(consumer.QueueRecords):
    """The real SQS record operations over a recording client, except that dead-letters are
    recorded (no redrive policy to read) and the 5th receive is the last."""

    def __init__(self, sqs=None) -> None:
        super().__init__(sqs or _RecordingSqs())
        self.calls = {"dead": []}

    def dead_letter(self, record, reason, code, service):
        self.calls["dead"].append((record["messageId"], reason, code))

    def last_receive(self, record, receive_count):
        return receive_count >= 5


@pytest.fixture
def records():
    return Records()


def record(message_id: str, body: str, receive_count: int = 1, **attributes: str) -> dict:
    return {
        "messageId": message_id,
        "receiptHandle": f"rh-{message_id}",
        "body": body,
        "attributes": {"ApproximateReceiveCount": str(receive_count)},
        "messageAttributes": {
            name: {"dataType": "Number" if name.startswith("so_") else "String", "stringValue": value}
            for name, value in attributes.items()
        },
        "eventSourceARN": "arn:aws:sqs:x:1:q",
    }


def ok_body(asset: str) -> str:
    return new_event(
        "AssetDetected",
        asset,
        {"source": "inbox", "version": "v1", "raw": {"bucket": "raw", "key": f"raw/{asset}/v1.jpg"}},
    ).to_json()


def run(event, handle, records, **kwargs):
    return process_batch(
        event, handle, service="test", expect="AssetDetected", records=records, policy=POLICY, **kwargs
    )


def sent_attributes(sent: dict) -> dict[str, str]:
    return {name: value["StringValue"] for name, value in sent["MessageAttributes"].items()}


def test_each_record_gets_its_own_outcome(records):
    def handle(envelope, _payload):
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
    assert run(event, handle, records) == {"batchItemFailures": []}  # every record is dealt with
    assert [(m, c) for m, _, c in records.calls["dead"]] == [("2", "image_rejected"), ("4", "invalid_message")]
    assert "corrupt JPEG" in records.calls["dead"][0][1]
    later, boom = records.sqs.sent  # both sent again as fresh messages, delayed
    assert later["MessageBody"] == event["Records"][2]["body"] and later["DelaySeconds"] >= 60
    assert sent_attributes(later)["so_attempts"] == "1" and sent_attributes(later)["so_last_reason"] == "429"
    assert sent_attributes(boom)["so_last_reason"] == "RuntimeError: unexpected"
    assert 2 <= boom["DelaySeconds"] <= 4  # the first retry: base 4 s with full jitter


def test_retries_back_off_exponentially_up_to_the_cap_and_keep_their_first_failure_time(records):
    since = time.time() - 600
    event = {"Records": [record("1", ok_body("a"), so_attempts="9", so_retrying_since=str(since))]}

    def handle(envelope, _payload):
        raise RetryLater("503")

    assert run(event, handle, records) == {"batchItemFailures": []}
    (sent,) = records.sqs.sent
    attributes = sent_attributes(sent)
    assert attributes["so_attempts"] == "10"
    assert float(attributes["so_retrying_since"]) == pytest.approx(since, abs=1)
    # attempt 10: 4 * 2**9 = 2048 s, jittered to 1024..2048 s: longer than SQS's 15 minutes,
    # so it waits in hops and `so_not_before` says when it is due.
    assert sent["DelaySeconds"] == consumer.MAX_BACKOFF_SECONDS
    assert 1024 <= float(attributes["so_not_before"]) - time.time() <= 2049


def test_a_record_woken_before_its_time_goes_on_waiting_without_being_handled(records):
    due = time.time() + 2000
    event = {"Records": [record("1", ok_body("a"), so_attempts="3", so_not_before=str(due))]}
    handled = []
    assert run(event, lambda e, p: handled.append(e), records) == {"batchItemFailures": []}
    assert handled == []  # the platform is not called before its time
    (sent,) = records.sqs.sent
    assert sent["DelaySeconds"] == consumer.MAX_BACKOFF_SECONDS
    assert sent_attributes(sent)["so_attempts"] == "3"  # waiting is not an attempt


def test_a_due_record_is_handled(records):
    event = {"Records": [record("1", ok_body("a"), so_attempts="3", so_not_before=str(time.time() - 1))]}
    handled = []
    assert run(event, lambda e, p: handled.append(e.asset_id), records) == {"batchItemFailures": []}
    assert handled == ["a"] and records.sqs.sent == []


def test_after_the_maximum_age_the_record_is_dead_lettered_with_the_last_reason(records):
    since = time.time() - 86400 - 5
    event = {"Records": [record("1", ok_body("a"), so_attempts="31", so_retrying_since=str(since))]}

    def handle(envelope, _payload):
        raise RetryLater("rest: 503 Service Unavailable")

    assert run(event, handle, records) == {"batchItemFailures": []}
    ((message, reason, code),) = records.calls["dead"]
    assert code == "retries_exhausted" and records.sqs.sent == []
    assert "after 24.0 h (32 attempts): rest: 503 Service Unavailable" in reason


def test_a_deferred_record_is_sent_again_delayed_and_does_not_age(records):
    deferred = record("1", ok_body("over-quota"), receive_count=4, platform="x", so_deferrals="2")

    def handle(envelope, _payload):
        raise consumer.Deferred("x: 17 posts in 24 h reached", 7200)

    assert run({"Records": [deferred]}, handle, records) == {"batchItemFailures": []}
    (sent,) = records.sqs.sent
    assert sent["QueueUrl"] == "https://sqs.local/1/q" and sent["MessageBody"] == deferred["body"]
    assert sent["DelaySeconds"] == 900  # SQS's maximum; the rest of the wait in hops
    attributes = sent_attributes(sent)
    assert attributes["platform"] == "x" and attributes["so_deferrals"] == "3"
    assert "so_attempts" not in attributes and "so_retrying_since" not in attributes
    assert records.calls["dead"] == []


def test_when_sending_again_fails_sqs_redelivers_it_after_a_visibility_delay():
    records = Records(_RecordingSqs(fail=True))

    def handle(envelope, _payload):
        raise consumer.Deferred("quota", 120)

    result = run({"Records": [record("1", ok_body("a"))]}, handle, records)
    assert result == {"batchItemFailures": [{"itemIdentifier": "1"}]}
    assert records.sqs.visibility[0][1] >= 120


def test_the_last_receive_is_dead_lettered_with_the_last_reason_when_it_cannot_be_sent_again():
    records = Records(_RecordingSqs(fail=True))

    def handle(envelope, _payload):
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
    assert run(event, handle, records) == {"batchItemFailures": [{"itemIdentifier": "3"}]}
    assert [(m, c) for m, _, c in records.calls["dead"]] == [("1", "retries_exhausted"), ("2", "retries_exhausted")]
    assert "after 5 receives: rest: 503 Service Unavailable" in records.calls["dead"][0][1]
    assert "RuntimeError: boom" in records.calls["dead"][1][1]


def test_a_record_that_cannot_be_dead_lettered_is_retried_instead(records, monkeypatch):
    def broken(*args):
        raise RuntimeError("SQS down")

    monkeypatch.setattr(records, "dead_letter", broken)
    result = run({"Records": [record("1", "[]")]}, lambda e, r: None, records)
    assert result == {"batchItemFailures": [{"itemIdentifier": "1"}]}


def test_wrong_event_type_is_dead_lettered(records):
    body = new_event("PublishFailed", "a", {"target": "rest"}).to_json()
    assert run({"Records": [record("1", body)]}, lambda e, r: None, records) == {"batchItemFailures": []}
    assert "unexpected event type" in records.calls["dead"][0][1]


def test_eventbridge_wrapper_is_unwrapped(records):
    seen = []
    detail = json.loads(ok_body("a"))
    wrapper = json.dumps({"version": "0", "detail-type": "AssetDetected", "source": "s", "detail": detail})
    run(
        {"Records": [record("1", wrapper), record("2", "{}")]},
        lambda e, r: seen.append(e.asset_id),
        records,
        unwrap=consumer.unwrap_eventbridge,
    )
    assert seen == ["a"]
    assert "not an EventBridge event" in records.calls["dead"][0][1]


def test_backoff_grows_is_capped_and_honours_retry_after():
    assert 1 <= backoff_seconds(1) <= 2
    assert 16 <= backoff_seconds(5) <= 32
    assert backoff_seconds(50) <= consumer.MAX_BACKOFF_SECONDS
    assert backoff_seconds(1, retry_after=120) >= 120
    assert 2 <= consumer.retry_delay(1, POLICY) <= 4
    assert consumer.retry_delay(40, POLICY) <= 3600
    assert consumer.retry_delay(1, POLICY, hint=7200) == 7200  # a platform's hint beats the cap


class Context:
    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def get_remaining_time_in_millis(self) -> int:
        return int((self.end - time.monotonic()) * 1000)


def test_records_not_started_in_time_go_back_at_once_and_are_not_failures(records):
    started = []

    def handle(envelope, _payload):
        started.append(envelope.asset_id)

    # 12 s left, 3 s margin, 10 s needed per record: nothing can start.
    event = {"Records": [record("1", ok_body("a")), record("2", ok_body("b"), receive_count=5)]}
    result = run(event, handle, records, context=Context(12))
    assert started == []
    assert result == {"batchItemFailures": [{"itemIdentifier": "1"}]}
    assert records.sqs.visibility == [("rh-1", 0)]  # visible again at once, no backoff
    # On its last receive SQS would dead-letter it unstarted: it is sent again fresh instead.
    (fresh,) = records.sqs.sent
    assert fresh["MessageBody"] == event["Records"][1]["body"] and fresh["DelaySeconds"] == 0
    assert records.calls["dead"] == []


def test_a_record_handler_sees_the_invocations_deadline(records):
    seen = []
    run(
        {"Records": [record("1", ok_body("a"))]},
        lambda e, p: seen.append(deadline.current().remaining()),
        records,
        context=Context(60),
    )
    assert 55 < seen[0] <= 57  # 60 s less the 3 s margin
    assert deadline.current() is deadline.NEVER  # unbound after the batch


def test_a_record_stopped_by_the_deadline_comes_back_soon_without_counting_an_attempt(records):
    def handle(envelope, _payload):
        raise deadline.DeadlineReached("instagram: container still IN_PROGRESS", 0.5)

    event = {"Records": [record("1", ok_body("a"), so_attempts="2", so_retrying_since=str(time.time() - 30))]}
    assert run(event, handle, records) == {"batchItemFailures": []}
    (sent,) = records.sqs.sent
    assert sent["DelaySeconds"] == 1 and sent_attributes(sent)["so_attempts"] == "2"


def test_retry_state_round_trips_through_message_attributes():
    state = RetryState(attempts=3, retrying_since=1700000000.5, not_before=1700000100, deferrals=1, last_reason="x")
    attributes = {k: {"stringValue": v["StringValue"]} for k, v in state.attributes().items()}
    assert RetryState.of({"messageAttributes": attributes}) == state


def test_a_record_stopped_by_the_deadline_again_and_again_becomes_a_failed_attempt(records):
    """Work that never fits one invocation (media that stays in processing) must back off and
    age towards the DLQ, not come back every second for ever."""

    def handle(envelope, _payload):
        raise deadline.DeadlineReached("x: media still processing", 0.5, retry_after=2)

    free = {"Records": [record("1", ok_body("a"), so_deadline_stops=str(consumer.MAX_FREE_DEADLINE_STOPS - 1))]}
    run(free, handle, records)
    counted = {"Records": [record("2", ok_body("a"), so_deadline_stops=str(consumer.MAX_FREE_DEADLINE_STOPS))]}
    run(counted, handle, records)
    first, second = (sent_attributes(s) for s in records.sqs.sent)
    assert "so_attempts" not in first and first["so_deadline_stops"] == str(consumer.MAX_FREE_DEADLINE_STOPS)
    assert second["so_attempts"] == "1" and "so_retrying_since" in second
    assert "stopped by the deadline" in second["so_last_reason"]


def test_a_breaker_wait_ages_and_ends_in_the_dlq_but_a_quota_wait_does_not(records):
    old = str(time.time() - 86400 - 5)

    def breaker_open(envelope, _payload):
        raise consumer.Deferred("x: circuit breaker open", 900, ages=True)

    def quota(envelope, _payload):
        raise consumer.Deferred("x: 17 posts in 24 h", 900)

    run({"Records": [record("1", ok_body("a"))]}, breaker_open, records)
    assert "so_retrying_since" in sent_attributes(records.sqs.sent[0])  # the wait starts its age
    run({"Records": [record("2", ok_body("a"), so_retrying_since=old)]}, breaker_open, records)
    run({"Records": [record("3", ok_body("a"), so_retrying_since=old)]}, quota, records)
    ((message, reason, code),) = records.calls["dead"]
    assert (message, code) == ("2", "retries_exhausted") and "circuit breaker open" in reason
    assert len(records.sqs.sent) == 2  # the quota wait was sent on


def test_text_sqs_refuses_never_reaches_a_message_attribute(records):
    def handle(envelope, _payload):
        raise RetryLater("platform said \x00\x07 bad \ud800 bytes")

    run({"Records": [record("1", ok_body("a"))]}, handle, records)
    assert sent_attributes(records.sqs.sent[0])["so_last_reason"] == "platform said ?? bad ? bytes"


def test_a_record_that_cannot_be_sent_on_at_its_last_receive_is_dead_lettered_with_a_reason():
    records = Records(_RecordingSqs(fail=True))

    def handle(envelope, _payload):
        raise consumer.Deferred("quota", 60)

    assert run({"Records": [record("1", ok_body("a"), receive_count=5)]}, handle, records) == {"batchItemFailures": []}
    ((_, reason, code),) = records.calls["dead"]
    assert code == "send_again_failed" and "last receive" in reason
