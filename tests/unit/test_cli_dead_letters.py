"""Reading dead letters and redriving them (cli/dead_letters.py), against an in-memory SQS
that keeps visibility and move tasks as SQS documents them."""

import json

import pytest

from socialomega.cli import dead_letters
from socialomega.core.deadline import Deadline
from socialomega.ops.environment import DeadLetterQueue

DLQ = DeadLetterQueue("processor", "http://sqs/dlq", "http://sqs/images")


class FakeSqs:
    def __init__(self, messages, tasks=None, moves_per_poll=1):
        self.messages = {m["MessageId"]: {**m, "visible": True, "receives": 0} for m in messages}
        self.tasks = list(tasks or [])  # most recent first, as ListMessageMoveTasks answers
        self.started = []
        self.moves_per_poll = moves_per_poll

    def get_queue_attributes(self, QueueUrl, AttributeNames):
        if AttributeNames == ["QueueArn"]:
            return {"Attributes": {"QueueArn": "arn:" + QueueUrl.rsplit("/", 1)[-1]}}
        visible = sum(m["visible"] for m in self.messages.values())
        return {
            "Attributes": {
                "ApproximateNumberOfMessages": str(visible),
                "ApproximateNumberOfMessagesNotVisible": str(len(self.messages) - visible),
            }
        }

    def receive_message(self, QueueUrl, MaxNumberOfMessages, VisibilityTimeout, **_):
        out = []
        for m in self.messages.values():
            if m["visible"] and len(out) < MaxNumberOfMessages:
                m["receives"] += 1
                m["visible"] = VisibilityTimeout == 0
                out.append(
                    {
                        "MessageId": m["MessageId"],
                        "ReceiptHandle": "rh-" + m["MessageId"],
                        "Body": m["Body"],
                        "MessageAttributes": m.get("MessageAttributes", {}),
                        "Attributes": {"ApproximateReceiveCount": str(m["receives"]), "SentTimestamp": "1764000000000"},
                    }
                )
        return {"Messages": out}

    def change_message_visibility_batch(self, QueueUrl, Entries):
        assert len(Entries) <= 10
        for entry in Entries:
            assert entry["VisibilityTimeout"] == 0
            self.messages[entry["ReceiptHandle"].removeprefix("rh-")]["visible"] = True

    def list_message_move_tasks(self, SourceArn, MaxResults):
        for task in self.tasks:
            if task["Status"] == "RUNNING":
                moved = min(
                    task["ApproximateNumberOfMessagesToMove"],
                    task["ApproximateNumberOfMessagesMoved"] + self.moves_per_poll,
                )
                task["ApproximateNumberOfMessagesMoved"] = moved
                if moved == task["ApproximateNumberOfMessagesToMove"]:
                    task["Status"] = "COMPLETED"
                    task.pop("TaskHandle")  # SQS lists the handle of a running task only
        return {"Results": [dict(t) for t in self.tasks[:MaxResults]]}

    def start_message_move_task(self, SourceArn, DestinationArn):
        assert not any(t["Status"] == "RUNNING" for t in self.tasks), "SQS runs one task per queue"
        self.started.append((SourceArn, DestinationArn))
        task = {
            "TaskHandle": f"h{len(self.started)}",
            "Status": "RUNNING",
            "ApproximateNumberOfMessagesMoved": 0,
            "ApproximateNumberOfMessagesToMove": len(self.messages),
            "StartedTimestamp": 2000 + len(self.started),
        }
        self.tasks.insert(0, task)
        return {"TaskHandle": task["TaskHandle"]}


def message(n, **attributes):
    body = json.dumps({"type": "PublishRequested", "asset_id": f"a{n}", "payload": {"target": "rest"}})
    return {
        "MessageId": f"m{n}",
        "Body": body,
        "MessageAttributes": {k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
    }


def test_reasons_ours_sqs_moves_and_failed_schedules():
    sqs = FakeSqs(
        [
            message(
                1,
                so_failure_reason="image rejected: not a JPEG",
                so_failure_code="image_rejected",
                so_failed_service="processor",
            ),
            message(2, so_last_reason="HTTP 503"),
            message(3),
            message(4, ERROR_CODE="AWS.Lambda.TooManyRequests", ERROR_MESSAGE="Rate exceeded"),
        ]
    )
    letters = {d.message_id: d for d in dead_letters.peek(sqs, DLQ)}
    assert (letters["m1"].reason, letters["m1"].code, letters["m1"].failed_service) == (
        "image rejected: not a JPEG",
        "image_rejected",
        "processor",
    )
    assert (
        letters["m2"].reason == "moved by SQS after maxReceiveCount (last try: HTTP 503)" and letters["m2"].code is None
    )
    assert letters["m3"].reason.startswith(dead_letters.MOVED_BY_SQS)
    assert (letters["m4"].code, letters["m4"].reason) == ("AWS.Lambda.TooManyRequests", "Rate exceeded")
    assert (letters["m1"].asset_id, letters["m1"].event_type, letters["m1"].target) == (
        "a1",
        "PublishRequested",
        "rest",
    )
    assert letters["m1"].receive_count == 1 and letters["m1"].sent_at.startswith("2025-")


def test_a_peek_reads_each_message_once_and_leaves_them_all_visible():
    sqs = FakeSqs([message(n) for n in range(25)])
    letters = dead_letters.peek(sqs, DLQ, limit=100)
    assert sorted(d.message_id for d in letters) == sorted(f"m{n}" for n in range(25))
    assert all(m["visible"] and m["receives"] == 1 for m in sqs.messages.values())
    assert len(dead_letters.peek(sqs, DLQ, limit=7)) == 7
    assert dead_letters.depth(sqs, DLQ.url) == dead_letters.Depth(25, 0)


def test_a_body_that_is_not_json_is_still_listed():
    sqs = FakeSqs([{"MessageId": "m1", "Body": "garbage", "MessageAttributes": {}}])
    (letter,) = dead_letters.peek(sqs, DLQ)
    assert letter.asset_id is None and letter.body == "garbage" and "body" not in letter.as_json()


def test_redrive_starts_one_task_to_the_consumers_queue_and_follows_it_to_the_end():
    sqs = FakeSqs(
        [message(n) for n in range(3)],
        tasks=[
            {
                "Status": "COMPLETED",
                "StartedTimestamp": 1000,
                "ApproximateNumberOfMessagesMoved": 9,
                "ApproximateNumberOfMessagesToMove": 9,
            }
        ],
    )
    seen = []
    result = dead_letters.redrive(sqs, DLQ, progress=seen.append, poll_seconds=0.0)
    assert sqs.started == [("arn:dlq", "arn:images")]
    assert (result.status, result.moved, result.to_move, result.ok, result.started_here) == (
        "COMPLETED",
        3,
        3,
        True,
        True,
    )
    assert [p.moved for p in seen] == [0, 1, 2, 3] and seen[
        -1
    ].line() == "processor: completed, 3 of 3 message(s) moved"


def test_redrive_again_follows_the_running_task_and_an_empty_dlq_starts_nothing():
    running = {
        "TaskHandle": "h0",
        "Status": "RUNNING",
        "ApproximateNumberOfMessagesMoved": 0,
        "ApproximateNumberOfMessagesToMove": 2,
        "StartedTimestamp": 1,
    }
    sqs = FakeSqs([message(1), message(2)], tasks=[running], moves_per_poll=0)
    sqs.moves_per_poll = 1
    result = dead_letters.redrive(sqs, DLQ, poll_seconds=0.0)
    assert sqs.started == [] and result.status == "COMPLETED" and not result.started_here
    empty = FakeSqs([])
    assert dead_letters.redrive(empty, DLQ).status == "NOTHING_TO_MOVE" and empty.started == []


def test_redrive_stops_following_at_its_deadline_and_says_it_still_runs():
    sqs = FakeSqs([message(1), message(2)], moves_per_poll=0)
    result = dead_letters.redrive(sqs, DLQ, deadline=Deadline(0.0, 0.0), poll_seconds=0.0)
    assert (result.status, result.done, result.ok) == ("RUNNING", False, False)
    assert result.line() == "processor: running, 0 message(s) moved"


def test_the_poller_schedule_dlq_is_not_redriven():
    with pytest.raises(dead_letters.NotRedrivable, match="failed scheduled invocations"):
        dead_letters.redrive(FakeSqs([message(1)]), DeadLetterQueue("poller-schedule", "http://sqs/s", None))
