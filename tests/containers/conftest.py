"""The compose stack (docker-compose.yml) for the container tests: LocalStack, the sandbox,
the Terraform apply job and one container per service, all from the project's images, on
their own ports and compose project so they never meet a developer's or CI's other stack.

testcontainers' compose support (`DockerCompose`) brings the stack up (`up --wait`: every
service container running, LocalStack and the sandbox healthy, the apply job done) and down;
it drives the `docker compose` CLI, Compose v2 as the plugin `images/bin/docker-up` installs.
The stack's ports, project name and the rest are the environment of the session
(`compose_env`), which testcontainers' compose commands inherit.

`make test-containers` builds the images first (and starts a Docker engine if none answers).
Settings (environment): CTEST_LOCALSTACK_PORT (4610), CTEST_LIGHTROOM_PORT (8711),
CTEST_REST_PORT (8712), CTEST_PROJECT (socialomega-ctest), CTEST_KEEP=1 leaves the stack up.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import urllib.request
from typing import Any

import pytest
from testcontainers.compose import DockerCompose
from testcontainers.core.docker_client import DockerClient

from socialomega.core import aws, config
from socialomega.local import localstack, ops
from socialomega.local.runtime import apply_service_env
from socialomega.sandbox.server import SandboxPhoto, annotate_received

ROOT = localstack.ROOT
ENV = "ctest"
PROJECT = os.environ.get("CTEST_PROJECT", "socialomega-ctest")
LOCALSTACK_PORT = int(os.environ.get("CTEST_LOCALSTACK_PORT", "4610"))
LIGHTROOM_PORT = int(os.environ.get("CTEST_LIGHTROOM_PORT", "8711"))
REST_PORT = int(os.environ.get("CTEST_REST_PORT", "8712"))
POLL_EVERY = 10  # seconds: later polls come from the poller container's own schedule
OUTPUTS = ROOT / ".build" / "compose" / f"{ENV}.outputs.json"
LOGS = ROOT / ".build" / "compose" / f"{ENV}-containers.log"
SERVICES = (
    "poller",
    "processor",
    "publisher-rest",
    "publisher-gallery",
    "publisher-instagram",
    "publisher-x",
    "publisher-facebook",
    "publisher-linkedin",
    "analytics",
    "webhooks",
)
# The social fakes of the test's sandbox container, beside Lightroom's and the REST target's ports.
SOCIAL_PORTS = {
    "INSTAGRAM": LIGHTROOM_PORT + 2,
    "X": LIGHTROOM_PORT + 3,
    "FACEBOOK": LIGHTROOM_PORT + 4,
    "LINKEDIN": LIGHTROOM_PORT + 5,
}
WEBHOOK_PORT = LIGHTROOM_PORT + 6  # the webhooks container's /webhooks/{platform}


# The stack, as testcontainers drives it. Its settings come from the environment (compose_env).
COMPOSE = DockerCompose(ROOT, compose_file_name="docker-compose.yml", wait=True)


def compose_env() -> dict[str, str]:
    """What the session's environment gets while the stack lives: the compose file's settings
    (its own ports and Terraform workspace), its own project name (compose ranks
    COMPOSE_PROJECT_NAME above the file's `name:`), orphans of an older file removed, and
    where the test process itself finds the stack's LocalStack (`localstack.endpoint()`)."""
    env = {
        "LOCALSTACK_PORT": str(LOCALSTACK_PORT),
        "SANDBOX_LIGHTROOM_PORT": str(LIGHTROOM_PORT),
        "SANDBOX_REST_PORT": str(REST_PORT),
        "SO_ENV": ENV,
        "POLL_EVERY": str(POLL_EVERY),
        "WEBHOOK_PORT": str(WEBHOOK_PORT),
        **{f"SANDBOX_{name}_PORT": str(port) for name, port in SOCIAL_PORTS.items()},
        "COMPOSE_PROJECT_NAME": PROJECT,
        "COMPOSE_REMOVE_ORPHANS": "1",
        "LOCALSTACK_HOST": f"127.0.0.1:{LOCALSTACK_PORT}",
    }
    if shutil.which("terraform"):
        env["TERRAFORM_BIN"] = os.environ.get("TERRAFORM_BIN") or shutil.which("terraform")
    return env


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


def _post_json(url: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


class RemoteSandbox:
    """The sandbox container, through its control APIs, with the in-process Sandbox's helpers
    that the pipeline assertions use."""

    lightroom_url = f"http://127.0.0.1:{LIGHTROOM_PORT}"
    rest_url = f"http://127.0.0.1:{REST_PORT}"

    def selected_photos(self, album: str = "Publish") -> list[SandboxPhoto]:
        state = _get_json(f"{self.lightroom_url}/_sandbox/state")
        members = {aid for a in state["albums"] if a["name"] == album for aid in a["asset_ids"]}
        return [
            SandboxPhoto(
                id=a["id"],
                version=a["updated"],
                title=a["title"],
                keywords=a["keywords"],
                width=a["width"],
                height=a["height"],
                orientation=a["orientation"],
                gps=a["gps"],
                in_album=True,
                corrupt=a["corrupt"],
                file_name=a["file_name"],
            )
            for a in state["assets"]
            if a["id"] in members
        ]

    def rest_posts(self) -> list[dict[str, Any]]:
        return annotate_received(_get_json(f"{self.rest_url}/_sandbox/received")["received"])

    def social_posts(self, platform: str) -> list[dict[str, Any]]:
        port = SOCIAL_PORTS[platform.upper()]
        return _get_json(f"http://127.0.0.1:{port}/_sandbox/posts")["posts"]

    def edit_photo(self, asset_id: str, **changes: Any) -> str:
        return _post_json(f"{self.lightroom_url}/_sandbox/assets/{asset_id}/edit", changes)["updated"]


def _docker_answers() -> bool:
    if not shutil.which("docker"):  # testcontainers' compose support runs the `docker compose` CLI
        return False
    try:
        return bool(DockerClient().client.ping())
    except Exception:  # noqa: BLE001 (any failure to reach the engine means the same here)
        return False


@pytest.fixture(scope="session")
def stack() -> dict[str, Any]:
    if not _docker_answers():
        pytest.fail("no Docker engine answers: run `make test-containers` (it starts one and builds the images)")
    with pytest.MonkeyPatch.context() as session_env:
        for name, value in compose_env().items():
            session_env.setenv(name, value)
        # Where this process finds AWS is the stack's LocalStack, never an endpoint inherited from the shell.
        session_env.delenv("AWS_ENDPOINT_URL", raising=False)
        session_env.delenv("LOCALSTACK_ENDPOINT", raising=False)
        COMPOSE.stop()  # a stack left by an earlier run (CTEST_KEEP=1, or one that was killed)
        OUTPUTS.unlink(missing_ok=True)
        # A fresh LocalStack: start Terraform from an empty workspace too.
        shutil.rmtree(ROOT / "terraform" / "envs" / "local" / "terraform.tfstate.d" / ENV, ignore_errors=True)
        started = time.monotonic()
        try:
            COMPOSE.start()
        except Exception:
            _save_logs()
            raise
        print(
            f"\ncompose up ({PROJECT}: LocalStack :{LOCALSTACK_PORT}, sandbox :{LIGHTROOM_PORT}/:{REST_PORT}): "
            f"{time.monotonic() - started:.1f} s"
        )
        try:
            outputs = json.loads(OUTPUTS.read_text())
            apply_service_env(outputs)  # AWS_ENDPOINT_URL: localstack.endpoint(), the stack's LocalStack
            assert os.environ["AWS_ENDPOINT_URL"] == f"http://127.0.0.1:{LOCALSTACK_PORT}"
            aws.client.cache_clear()
            config.clear_caches()
            yield outputs
        finally:
            _save_logs()
            if not os.environ.get("CTEST_KEEP"):
                COMPOSE.stop()


def _save_logs() -> None:
    """Every container's log (the exited apply job's too), one chronological file with
    timestamps, each line headed by its service, as `docker compose logs --timestamps` prints."""
    lines: list[tuple[str, str]] = []
    try:
        client = DockerClient().client
        for container in COMPOSE.get_containers(include_all=True):
            log = client.containers.get(container.ID).logs(timestamps=True).decode(errors="replace")
            lines += [(line.split(" ", 1)[0], f"{container.Service:<20}| {line}") for line in log.splitlines()]
        text = (
            "\n".join(line for _, line in sorted(lines, key=lambda item: item[0])) + "\n"
            if lines
            else f"no container of {PROJECT} has logged anything\n"
        )
    except Exception as error:  # noqa: BLE001 (the logs must never hide the failure that asked for them)
        text = f"could not read the containers' logs: {error!r}\n"
    LOGS.parent.mkdir(parents=True, exist_ok=True)
    LOGS.write_text(text)


@pytest.fixture(scope="session")
def sandbox(stack) -> RemoteSandbox:
    return RemoteSandbox()


def running_services() -> set[str]:
    return {c.Service for c in COMPOSE.get_containers() if c.State == "running" and c.Service}


def pending_messages(outputs: dict[str, Any]) -> int:
    sqs = aws.client("sqs")
    total = 0
    for consumer in outputs["consumers"].values():
        attrs = sqs.get_queue_attributes(
            QueueUrl=consumer["queue_url"],
            AttributeNames=[
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed",
            ],
        )["Attributes"]
        total += sum(int(v) for v in attrs.values())
    return total


def wait_until(condition, timeout: float, quiet_seconds: float = 3.0, what: str = "") -> float:
    """Wait until `condition()` holds and the consumer queues stay empty for `quiet_seconds`."""
    started = time.monotonic()
    quiet_since: float | None = None
    while time.monotonic() - started < timeout:
        if condition():
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since >= quiet_seconds:
                return time.monotonic() - started
        else:
            quiet_since = None
        time.sleep(1)
    raise AssertionError(
        f"not done after {timeout:.0f}s: {what}; containers running: {sorted(running_services())} (logs in {LOGS})"
    )


@pytest.fixture(scope="session")
def first_run(sandbox, stack) -> dict[str, Any]:
    """The poller container polls at start; wait until every selected photo is posted to
    every target, the corrupt one is dead-lettered and the queues are empty."""
    photos = sandbox.selected_photos()
    expected = 2 * len([p for p in photos if not p.corrupt])
    processor_dlq = {"processor": stack["consumers"]["processor"]["dlq_url"]}

    def done() -> bool:
        return (
            len(sandbox.rest_posts()) >= expected
            and ops.dlq_depths(processor_dlq)["processor"] >= 1
            and pending_messages(stack) == 0
        )

    seconds = wait_until(done, timeout=300, what=f"{expected} posts and the corrupt photo dead-lettered")
    print(f"\nfirst poll through the containers: {seconds:.1f} s")
    return {"seconds": seconds}
