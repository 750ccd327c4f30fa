"""Every Lambda image answers Lambda's own protocol, run exactly as Lambda runs it: the image's
ENTRYPOINT (the base's /lambda-entrypoint.sh, never overridden here) and its CMD (the handler;
the webhook function is the analytics image with CMD socialomega.webhooks.handler.handler, as
terraform/envs/aws sets it), with AWS_LAMBDA_RUNTIME_API pointing at the project's stand-in for
the Runtime API (tests/containers/runtime_api.py).

Each function gets the environment Terraform gives it (the compose stack's outputs) and the
stack's LocalStack, and one event that its real handling answers deterministically:
* the SQS consumers (processor, publisher, analytics): two records that are not envelopes. The
  first is dead-lettered by the consumer contract with its reason (found in its DLQ here, then
  removed); the second names a queue that does not exist, so it cannot be dead-lettered and must
  come back as the one batch item failure: `{"batchItemFailures": [{"itemIdentifier": <id>}]}`.
* the poller: a scheduled EventBridge event; a poll of the sandbox's Lightroom with nothing failed.
* the token keeper (the publisher image, CMD socialomega.tokens.handler.handler): its schedule's
  event; one line per checked target, none unhealthy.
* the webhooks: two API Gateway proxy events in the same environment (the second a warm
  invocation): Meta's subscription challenge with the right verify token (200, the challenge
  echoed) and with a wrong one (403).
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from testcontainers.core.docker_client import DockerClient

from socialomega.core import aws
from socialomega.core.deadline import Deadline
from socialomega.sandbox.webhooks import META_VERIFY_TOKEN
from tests.containers.conftest import ENV, LOCALSTACK_PORT
from tests.containers.runtime_api import Invocation, Outcome, RuntimeApi

pytestmark = pytest.mark.containers
TAG = os.environ.get("IMAGE_TAG", "latest")
REGION = "us-east-1"
ACCOUNT = "000000000000"
# A container start, the handler's import and its invocation against LocalStack.
ANSWER_SECONDS = 120.0
ENTRYPOINT = ["/lambda-entrypoint.sh"]  # the AWS base's and the offline base's (images/base)
NEXT = "GET /2018-06-01/runtime/invocation/next"


@dataclass(frozen=True)
class Function:
    name: str  # as terraform/envs/aws names it (socialomega-<env>-<name>)
    image: str
    command: list[str] | None = None  # None: the image's own CMD
    consumer: str | None = None  # its SQS consumer in the stack's outputs


POLLER = Function("poller", "poller")
TOKEN_KEEPER = Function("token-keeper", "publisher", ["socialomega.tokens.handler.handler"])
WEBHOOKS = Function("webhooks", "analytics", ["socialomega.webhooks.handler.handler"])
CONSUMERS = [
    Function("processor", "processor", consumer="processor"),
    Function("publisher-rest", "publisher", consumer="publisher-rest"),
    Function("analytics", "analytics", consumer="analytics"),
]


@dataclass
class Run:
    outcomes: list[Outcome]
    invocations: list[Invocation]
    requests: list[str]  # what the runtime asked the API, in order
    logs: str


@pytest.fixture(scope="module")
def docker() -> Any:
    return DockerClient().client


def function_env(stack: dict[str, Any], function: Function, api: RuntimeApi) -> dict[str, str]:
    """What Lambda and Terraform give the function, with LocalStack as AWS."""
    own = stack["consumers"][function.consumer]["environment"] if function.consumer else {}
    return {
        **{k: str(v) for k, v in stack["service_env"].items()},
        **own,
        "AWS_LAMBDA_RUNTIME_API": api.address,
        "AWS_LAMBDA_FUNCTION_NAME": f"socialomega-{ENV}-{function.name}",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{LOCALSTACK_PORT}",
    }


def run_function(docker: Any, stack: dict[str, Any], function: Function, *events: Any) -> Run:
    """Start the function's image as Lambda would, hand it `events` one after the other (the
    same execution environment: the later ones are warm invocations), and return what it answered."""
    image = f"socialomega/{function.image}:{TAG}"
    assert docker.images.get(image).attrs["Config"]["Entrypoint"] == ENTRYPOINT, image
    arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:socialomega-{ENV}-{function.name}"
    with RuntimeApi(arn) as api:
        ids = [api.invoke(event, timeout_seconds=60) for event in events]
        container = docker.containers.run(
            image,
            command=function.command,  # the CMD; the entrypoint is the image's
            environment=function_env(stack, function, api),
            network_mode="host",  # the stand-in and LocalStack listen on 127.0.0.1
            detach=True,
        )
        try:
            deadline = Deadline.in_seconds(ANSWER_SECONDS, margin=0.0)
            try:
                outcomes = [api.outcome(request_id, deadline) for request_id in ids]
                if api.init_error is None:  # (after an init error the runtime exits, as in Lambda)
                    # Having answered, the runtime asks for the next event, as Lambda's loop does.
                    api.wait_for_polls(len(ids) + 1, deadline)
            except TimeoutError as error:
                raise AssertionError(f"{error}\n--- {image} logged:\n{_logs(container)}") from None
            return Run(outcomes, [api.invocation(i) for i in ids], list(api.requests), _logs(container))
        finally:
            container.remove(force=True)


def _logs(container: Any) -> str:
    return str(container.logs().decode(errors="replace"))


def sqs_record(body: str, queue_arn: str) -> dict[str, Any]:
    """One record as Lambda's SQS event source mapping delivers it."""
    now = str(int(datetime.now(UTC).timestamp() * 1000))
    return {
        "messageId": str(uuid.uuid4()),
        "receiptHandle": f"AQEB{uuid.uuid4().hex}",
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": now,
            "SenderId": ACCOUNT,
            "ApproximateFirstReceiveTimestamp": now,
        },
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
    }


def not_an_envelope(function: Function) -> str:
    """A body the consumer contract refuses at once: no envelope (for analytics, inside a sound
    EventBridge wrapper, so its unwrapping runs too)."""
    probe = {"probe": str(uuid.uuid4()), "note": "not an envelope (tests/containers/test_runtime_api.py)"}
    if function.consumer == "analytics":
        return json.dumps({"version": "0", "detail-type": "Probe", "source": "socialomega.tests", "detail": probe})
    return json.dumps(probe)


def take_dead_letter(dlq_url: str, body: str, deadline: Deadline) -> dict[str, Any]:
    """Find the message with `body` in the DLQ, delete it (the stack is left as found) and return
    it; any other message is made visible again at once."""
    sqs = aws.client("sqs")
    while not deadline.expired():
        got = sqs.receive_message(
            QueueUrl=dlq_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=1,
            VisibilityTimeout=10,
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        for message in got:
            if message["Body"] == body:
                sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=message["ReceiptHandle"])
                return dict(message)
            sqs.change_message_visibility(QueueUrl=dlq_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
    raise AssertionError(f"no message {body} in {dlq_url}")


@pytest.mark.parametrize("function", CONSUMERS, ids=lambda f: f.name)
def test_an_sqs_function_answers_the_partial_batch_response_through_its_entrypoint(docker, stack, first_run, function):
    consumer = stack["consumers"][function.consumer]
    dead_lettered = sqs_record(not_an_envelope(function), consumer["queue_arn"])
    gone_queue = consumer["queue_arn"].rsplit(":", 1)[0] + f":socialomega-{ENV}-no-such-queue-{uuid.uuid4().hex[:8]}"
    unreachable = sqs_record(not_an_envelope(function), gone_queue)

    run = run_function(docker, stack, function, {"Records": [dead_lettered, unreachable]})

    outcome = run.outcomes[0]
    assert outcome.kind == "response", (outcome, run.logs)
    # Dead-lettered with its reason: acknowledged. Its DLQ unreachable: SQS must deliver it again.
    assert outcome.body == {"batchItemFailures": [{"itemIdentifier": unreachable["messageId"]}]}, run.logs
    kept = take_dead_letter(consumer["dlq_url"], dead_lettered["body"], Deadline.in_seconds(30, margin=0.0))
    attributes = {name: value["StringValue"] for name, value in kept["MessageAttributes"].items()}
    assert attributes["so_failure_code"] == "invalid_message"
    assert "not a valid envelope" in attributes["so_failure_reason"]
    assert attributes["so_failed_service"] == function.consumer.split("-")[0]
    assert attributes["so_source_queue"] == consumer["queue_arn"]


def scheduled_event(rule: str) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [f"arn:aws:events:{REGION}:{ACCOUNT}:rule/socialomega-{ENV}-{rule}"],
        "detail": {},
    }


def test_the_poller_answers_a_scheduled_event_through_its_entrypoint(docker, stack, first_run):
    run = run_function(docker, stack, POLLER, scheduled_event("poll"))

    outcome = run.outcomes[0]
    # A source that failed as a whole would be an invocation error (SourceFailed), not a response.
    assert outcome.kind == "response", (outcome, run.logs)
    assert {"detected", "already_seen", "failed"} <= set(outcome.body), outcome.body
    assert outcome.body["failed"] == {}, outcome.body
    assert isinstance(outcome.body["detected"], list) and isinstance(outcome.body["already_seen"], int)


def test_the_token_keeper_answers_its_schedule_through_the_publisher_image(docker, stack, first_run):
    """The keeper is the publisher image with its own CMD (terraform/envs/aws/tokens.tf): its
    handler must be in the image and answer Lambda's protocol with one line per checked target."""
    run = run_function(docker, stack, TOKEN_KEEPER, scheduled_event("token-keeper"))

    outcome = run.outcomes[0]
    assert outcome.kind == "response", (outcome, run.logs)
    assert set(outcome.body) == {"targets", "unhealthy"}, outcome.body
    assert outcome.body["unhealthy"] == [], (outcome.body, run.logs)
    assert all({"target", "platform", "status"} <= set(line) for line in outcome.body["targets"]), outcome.body


def api_gateway_get(platform: str, query: dict[str, str]) -> dict[str, Any]:
    """A REST API (v1) proxy event for GET /webhooks/{platform}, as API Gateway sends it."""
    request_id = str(uuid.uuid4())
    return {
        "resource": "/webhooks/{platform}",
        "path": f"/webhooks/{platform}",
        "httpMethod": "GET",
        "headers": {"Host": "example.execute-api.us-east-1.amazonaws.com", "User-Agent": "facebookplatform/1.0"},
        "multiValueHeaders": None,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()},
        "pathParameters": {"platform": platform},
        "stageVariables": None,
        "requestContext": {
            "requestId": request_id,
            "resourcePath": "/webhooks/{platform}",
            "httpMethod": "GET",
            "path": f"/{ENV}/webhooks/{platform}",
            "stage": ENV,
            "accountId": ACCOUNT,
        },
        "body": None,
        "isBase64Encoded": False,
    }


def test_the_webhook_function_answers_api_gateway_events_through_its_entrypoint(docker, stack, first_run):
    challenge = uuid.uuid4().hex
    right = {"hub.mode": "subscribe", "hub.challenge": challenge, "hub.verify_token": META_VERIFY_TOKEN}
    wrong = {**right, "hub.verify_token": "not-the-verify-token"}

    run = run_function(
        docker, stack, WEBHOOKS, api_gateway_get("instagram", right), api_gateway_get("instagram", wrong)
    )

    verified, refused = run.outcomes
    assert verified.kind == "response", (verified, run.logs)
    assert verified.body == {"statusCode": 200, "headers": {"Content-Type": "text/plain"}, "body": challenge}
    assert refused.kind == "response", (refused, run.logs)
    assert refused.body["statusCode"] == 403, refused.body
    # The protocol as the runtime spoke it: each `next` answered with Lambda's four headers,
    # one answer per request id, and the runtime back at `next` after each (the second event
    # was a warm invocation of the same process).
    for invocation in run.invocations:
        assert set(invocation.headers_seen) == {
            "Lambda-Runtime-Aws-Request-Id",
            "Lambda-Runtime-Deadline-Ms",
            "Lambda-Runtime-Invoked-Function-Arn",
            "Lambda-Runtime-Trace-Id",
        }
    answers = [f"POST /2018-06-01/runtime/invocation/{i.request_id}/response" for i in run.invocations]
    assert run.requests == [NEXT, answers[0], NEXT, answers[1], NEXT], run.requests


def test_a_handler_that_does_not_exist_is_an_init_error_as_in_lambda(docker):
    """The other side of the protocol: a CMD naming no function is reported on /init/error with
    Lambda's error type, and the runtime stops (no environment needed: nothing is loaded)."""
    missing = Function("poller", "poller", ["socialomega.poller.handler.no_such_handler"])
    run = run_function(docker, {"service_env": {}, "consumers": {}}, missing, {})
    outcome = run.outcomes[0]
    assert outcome.kind == "init_error", (outcome, run.logs)
    assert outcome.body["errorType"] == "Runtime.HandlerNotFound", outcome.body
    assert run.requests == ["POST /2018-06-01/runtime/init/error"]
