"""The images: what is deployed holds only what runs in AWS, and what the compose stack runs is
exactly that plus the local runtime.

terraform/bin/deploy pushes socialomega/<image> (poller, processor, publisher, analytics):
socialomega/ without local/ or sandbox/. The stack's service containers run
socialomega/<image>-local, the same image plus one layer that adds socialomega/local/ and
nothing else (images/Dockerfile), so the container tier exercises the deployed code.
`make images` (images/bin/build-images) checks the same before the build counts as done; this
checks the images the stack actually ran.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from testcontainers.core.docker_client import DockerClient

from tests.containers.conftest import COMPOSE, SERVICES

pytestmark = pytest.mark.containers
TAG = os.environ.get("IMAGE_TAG", "latest")
LAMBDA_IMAGES = ("poller", "processor", "publisher", "analytics")
# Functions whose handler is not the image's CMD (terraform/envs/aws sets their command).
EXTRA_HANDLERS = {"analytics": ["socialomega.webhooks.handler"]}

# Run in an image with no network and no AWS settings: which local-mode packages it holds,
# every file under /var/task, and the result of importing each module named.
PROBE = """
import importlib, json, os, sys
found = {}
for module in sys.argv[1:]:
    try:
        importlib.import_module(module)
        found[module] = "ok"
    except Exception as error:
        found[module] = f"{type(error).__name__}: {error}"
files = sorted(os.path.relpath(os.path.join(d, f), "/var/task") for d, _, fs in os.walk("/var/task") for f in fs)
print(json.dumps({"local_mode": [p for p in ("local", "sandbox") if os.path.exists(f"/var/task/socialomega/{p}")],
                  "files": files, "imports": found}))
"""


@pytest.fixture(scope="module")
def docker() -> Any:
    return DockerClient().client


def _probe(docker: Any, image: str, modules: list[str]) -> dict[str, Any]:
    out = docker.containers.run(
        image,
        entrypoint=["python3", "-c", PROBE, *modules],
        network_mode="none",
        environment={"PYTHONDONTWRITEBYTECODE": "1"},
        remove=True,
    )
    return json.loads(out)


def _handlers(docker: Any, name: str) -> list[str]:
    cmd = docker.images.get(f"socialomega/{name}:{TAG}").attrs["Config"]["Cmd"][0]
    return [cmd.rsplit(".", 1)[0], *EXTRA_HANDLERS.get(name, [])]


@pytest.mark.parametrize("name", LAMBDA_IMAGES)
def test_the_deployed_image_holds_no_local_mode_code_and_imports_its_handlers(docker, name):
    image = docker.images.get(f"socialomega/{name}:{TAG}")
    assert image.attrs["Config"]["Labels"].get("socialomega.variant") == "lambda"  # what deploy pushes
    probe = _probe(docker, f"socialomega/{name}:{TAG}", _handlers(docker, name))
    assert probe["local_mode"] == []
    assert not [f for f in probe["files"] if f.startswith(("socialomega/local/", "socialomega/sandbox/"))]
    assert probe["imports"] == dict.fromkeys(_handlers(docker, name), "ok")


@pytest.mark.parametrize("name", LAMBDA_IMAGES)
def test_the_local_variant_is_the_deployed_image_plus_local_runtime_only(docker, name):
    deployed, local = (
        docker.images.get(f"socialomega/{name}:{TAG}"),
        docker.images.get(f"socialomega/{name}-local:{TAG}"),
    )
    assert local.attrs["RootFS"]["Layers"][:-1] == deployed.attrs["RootFS"]["Layers"]  # one layer on top
    assert local.attrs["Config"]["Labels"].get("socialomega.variant") == "local"
    runtime = ["socialomega.local.__main__", "socialomega.local.runtime"]
    before = _probe(docker, f"socialomega/{name}:{TAG}", [])
    after = _probe(docker, f"socialomega/{name}-local:{TAG}", [*_handlers(docker, name), *runtime])
    added = set(after["files"]) - set(before["files"])
    assert set(before["files"]) <= set(after["files"])
    assert added and all(f.startswith("socialomega/local/") for f in added), sorted(added)
    assert after["local_mode"] == ["local"]  # `serve` needs nothing from sandbox/
    assert after["imports"] == dict.fromkeys([*_handlers(docker, name), *runtime], "ok")


def test_every_service_container_runs_a_local_variant_of_its_lambda_image(docker, stack):
    containers = {c.Service: c for c in COMPOSE.get_containers() if c.Service in SERVICES}
    assert set(containers) == set(SERVICES)
    for service, container in containers.items():
        image = docker.containers.get(container.ID).image
        names = [t for t in image.tags if t.endswith(f"-local:{TAG}")]
        assert names, (service, image.tags)
        name = names[0].removeprefix("socialomega/").removesuffix(f"-local:{TAG}")
        # publisher-<target>: the publisher image; webhooks: the analytics image, as in AWS
        assert name == {"webhooks": "analytics"}.get(service, service.split("-")[0]), (service, image.tags)
        assert (
            image.attrs["RootFS"]["Layers"][:-1]
            == docker.images.get(f"socialomega/{name}:{TAG}").attrs["RootFS"]["Layers"]
        ), service
