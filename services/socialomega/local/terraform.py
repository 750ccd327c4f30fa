"""Apply `terraform/envs/local` to LocalStack and read its outputs (one workspace per env)."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

from socialomega.local import localstack
from socialomega.local.localstack import BUILD, ROOT

LOCAL_ROOT = ROOT / "terraform" / "envs" / "local"


def _env() -> dict[str, str]:
    # SOCIALOMEGA_TF_DATA_DIR: the compose stack's apply job keeps its own (workspace choice lives there).
    data_dir = os.environ.get("SOCIALOMEGA_TF_DATA_DIR") or str(BUILD / "terraform" / "local")
    env = {**os.environ, "TF_IN_AUTOMATION": "1", "TF_DATA_DIR": data_dir}
    env.pop("AWS_ENDPOINT_URL", None)  # the provider block sets the LocalStack endpoints itself
    if env.get("TF_CLI_CONFIG_FILE") and not os.path.exists(env["TF_CLI_CONFIG_FILE"]):
        env.pop("TF_CLI_CONFIG_FILE")  # a missing CLI config only produces warnings
    return env


def _run(*args: str, capture: bool = False) -> str:
    result = subprocess.run(
        ["terraform", f"-chdir={LOCAL_ROOT}", *args],
        env=_env(),
        text=True,
        capture_output=capture,
        check=False,
    )
    if result.returncode != 0:
        detail = (result.stderr or "") if capture else ""
        raise RuntimeError(f"terraform {args[0]} failed ({result.returncode}) {detail[-2000:]}")
    return result.stdout if capture else ""


def init() -> None:
    subprocess.run(
        [str(ROOT / "terraform" / "bin" / "tf-init"), str(LOCAL_ROOT)],
        env=_env(),
        check=True,
        stdout=subprocess.DEVNULL,
    )


def apply(env_name: str, variables: dict[str, Any]) -> tuple[dict[str, Any], float]:
    """Apply the local root in workspace `env_name`; return (outputs, seconds)."""
    init()
    workspaces = _run("workspace", "list", capture=True)
    if env_name not in [w.strip(" *") for w in workspaces.splitlines()]:
        _run("workspace", "new", env_name, capture=True)
    else:
        _run("workspace", "select", env_name, capture=True)
    var_file = BUILD / f"{env_name}.tfvars.json"
    var_file.write_text(
        json.dumps({"env": env_name, "localstack_endpoint": localstack.endpoint(), **variables}, indent=1)
    )
    started = time.monotonic()
    # Every SQS attribute resource waits ~25 s for consistency; run them all in one wave.
    _run(
        "apply", "-auto-approve", "-input=false", "-no-color", "-parallelism=40", f"-var-file={var_file}", capture=True
    )
    return outputs(), time.monotonic() - started


def outputs() -> dict[str, Any]:
    raw = json.loads(_run("output", "-json", capture=True))
    return {name: value["value"] for name, value in raw.items()}


def destroy(env_name: str) -> None:
    var_file = BUILD / f"{env_name}.tfvars.json"
    _run("workspace", "select", env_name, capture=True)
    _run("destroy", "-auto-approve", "-input=false", "-no-color", f"-var-file={var_file}", capture=True)


def state_exists(env_name: str) -> bool:
    return Path(LOCAL_ROOT / "terraform.tfstate.d" / env_name / "terraform.tfstate").exists()


def outputs_for(env_name: str) -> dict[str, Any]:
    init()
    _run("workspace", "select", env_name, capture=True)
    return outputs()
