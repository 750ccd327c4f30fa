"""The fault suite's stack, each part in a process of its own:

  * LocalStack, natively on its own port (`SO_FAULTS_LOCALSTACK_PORT`, default 4577) and volume,
    so the suite can restart it with its state kept (`local/localstack.py restart`) without
    touching the shared one on 4566;
  * the sandbox (`tests/faults/sandbox_process.py`): it outlives a killed runtime and keeps the
    ground truth, what each platform received;
  * `terraform/envs/local` applied for real in workspace `faults`, with the suite's shorter
    cool-downs and delays (`Scenario.terraform_overrides`: configuration, never logic);
  * the local runtime as `python -m socialomega.local run --env faults` (`RuntimeProcess`), so a
    step can SIGKILL it in the middle of publishing and start it again.

The scenario's steps and knobs come from `SO_FAULTS_*` environment variables (`Scenario`).
The accounting table is printed at the end of the session and written to .build/fault-suite.json.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from socialomega.core import aws, config
from socialomega.local import localstack, sandbox_config, terraform
from socialomega.local.runtime import apply_service_env

ENV = "faults"
BUILD = localstack.BUILD
REPORT = BUILD / "fault-suite.json"
ALL_STEPS = ("rate", "outage", "token", "poison", "kill", "localstack")


def _env(name: str, default: str) -> str:
    return os.environ.get(f"SO_FAULTS_{name}", "").strip() or default


@dataclass
class Scenario:
    """What the suite does, from SO_FAULTS_* (defaults: the issue's full scenario).

    STEPS          comma list of: rate, outage, token, poison, kill, localstack (default all)
    PHOTOS         photos in the catalog (50)           RATE        share of faulted calls (0.2)
    OUTAGE_SECONDS how long the outage lasts (180)      OUTAGE_PLATFORM  which platform (facebook)
    TOKEN_PLATFORM whose token expires (x)              FUNCTION_TIMEOUT publisher/processor/analytics (20 s)
    LOCALSTACK     when LocalStack restarts: `with-kill` (while the runtime is down, default) or
                   `live` (under the running runtime)
    STRICT         1: also the issue's end state: nothing of the outage platform in its DLQ,
                   no poison image posted, nothing dead-lettered but poison
    BUDGET_SECONDS the pipeline phase's limit, from the runtime's start to idle (540)
    """

    steps: frozenset[str] = field(
        default_factory=lambda: frozenset(s.strip() for s in _env("STEPS", ",".join(ALL_STEPS)).split(",") if s)
    )
    photos: int = field(default_factory=lambda: int(_env("PHOTOS", "50")))
    rate: float = field(default_factory=lambda: float(_env("RATE", "0.2")))
    outage_seconds: float = field(default_factory=lambda: float(_env("OUTAGE_SECONDS", "180")))
    outage_platform: str = field(default_factory=lambda: _env("OUTAGE_PLATFORM", "facebook"))
    token_platform: str = field(default_factory=lambda: _env("TOKEN_PLATFORM", "x"))
    function_timeout: int = field(default_factory=lambda: int(_env("FUNCTION_TIMEOUT", "20")))
    localstack_restart: str = field(default_factory=lambda: _env("LOCALSTACK", "with-kill"))
    strict: bool = field(default_factory=lambda: _env("STRICT", "0") == "1")
    budget_seconds: float = field(default_factory=lambda: float(_env("BUDGET_SECONDS", "540")))
    poll_every: float = field(default_factory=lambda: float(_env("POLL_EVERY", "15")))
    seed: int = field(default_factory=lambda: int(_env("SEED", "5")))

    def __post_init__(self) -> None:
        unknown = self.steps - set(ALL_STEPS)
        if unknown:
            raise ValueError(f"unknown SO_FAULTS_STEPS {sorted(unknown)}; known: {', '.join(ALL_STEPS)}")
        if self.outage_seconds <= 0:
            self.steps = self.steps - {"outage"}

    def terraform_overrides(self) -> dict[str, Any]:
        """Shorter cool-downs and delays than production's (configuration, the same logic).
        Terraform only warns about a variable its root does not declare (yet)."""
        timeout = self.function_timeout
        return {
            "poll_every_seconds": self.poll_every,
            "function_timeouts": {"processor": timeout, "publisher": timeout, "analytics": timeout, "poller": 60},
            "resilience": {
                "retry_base_seconds": 2,
                "retry_max_delay_seconds": 30,
                "retry_max_age_seconds": 3600,
                "breaker_threshold": 5,
                "breaker_cooldown_seconds": 20,
                "breaker_max_cooldown_seconds": 60,
                "breaker_alarm_seconds": 600,
                "record_min_seconds": 5,
            },
        }


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "faults: the fault suite (make test-faults): LocalStack, sandbox, runtime")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not REPORT.exists() or REPORT.stat().st_mtime < _SESSION_START:
        return
    from tests.faults.accounting import render

    report = json.loads(REPORT.read_text())
    terminalreporter.section("fault suite: where every photo x target ended")
    terminalreporter.write_line(render(report["tables"]))
    for line in report.get("timeline", []):
        terminalreporter.write_line(f"  {line['at']:>7.1f} s  {line['step']}: {line['what']}")
    for line in report.get("breakers", []):
        terminalreporter.write_line(f"  {line['at']:>7.1f} s  breaker of {line['target']}: {line['event']}")
    terminalreporter.write_line(f"  written to {REPORT.relative_to(localstack.ROOT)}")


_SESSION_START = time.time()


@pytest.fixture(scope="session")
def scenario() -> Scenario:
    return Scenario()


@pytest.fixture(scope="session")
def suite_localstack() -> Iterator[str]:
    """LocalStack of the suite's own, started fresh (native: the mode that can keep state)."""
    port = int(_env("LOCALSTACK_PORT", "4577"))
    saved = {k: os.environ.get(k) for k in ("LOCALSTACK_PORT", "SOCIALOMEGA_NO_DOCKER", "LOCALSTACK_ENDPOINT")}
    os.environ.update({"LOCALSTACK_PORT": str(port), "SOCIALOMEGA_NO_DOCKER": "1"})
    os.environ.pop("LOCALSTACK_ENDPOINT", None)
    localstack.stop_native(port)  # an earlier run's, if it was left behind
    print(f"\nLocalStack for the fault suite on {localstack.endpoint()}: {localstack.start()}")
    yield localstack.endpoint()
    localstack.stop_native(port)
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def sandbox_info(scenario: Scenario) -> Iterator[dict[str, Any]]:
    info_file = BUILD / "fault-suite-sandbox.json"
    info_file.unlink(missing_ok=True)
    log = open(BUILD / "fault-suite-sandbox.log", "wb")  # noqa: SIM115 (closed below)
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.faults.sandbox_process", "--info", str(info_file)]
        + ["--photos", str(scenario.photos), "--seed", str(scenario.seed)],
        cwd=localstack.ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while not info_file.exists():
            assert process.poll() is None, f"the sandbox exited ({process.returncode}); see {log.name}"
            assert time.monotonic() < deadline, "the sandbox did not start within 120 s"
            time.sleep(0.2)
        yield json.loads(info_file.read_text())
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture(scope="session")
def stack(suite_localstack: str, sandbox_info: dict[str, Any], scenario: Scenario) -> dict[str, Any]:
    urls = sandbox_info["urls"]
    _pin_provider_mirror()
    # The workspace's state describes an earlier run's LocalStack, which is gone: start from none.
    (terraform.LOCAL_ROOT / "terraform.tfstate.d" / ENV / "terraform.tfstate").unlink(missing_ok=True)
    started = time.monotonic()
    # rest and the four platforms; the suite's edits are published again
    targets = sandbox_config.targets(urls, gallery=False, on_edit="repost")
    outputs, seconds = terraform.apply(
        ENV,
        {
            "lightroom_settings": sandbox_config.lightroom_settings(urls["lightroom"]),
            "targets": targets,
            "secrets": sandbox_config.secrets(sandbox_info["credentials"], [t["name"] for t in targets]),
            **scenario.terraform_overrides(),
        },
    )
    print(f"terraform apply envs/local ({ENV}): {seconds:.1f} s ({time.monotonic() - started:.1f} s with init)")
    apply_service_env(outputs, suite_localstack)
    aws.client.cache_clear()
    config.clear_caches()
    outputs["_apply_seconds"] = seconds
    return outputs


def _pin_provider_mirror() -> None:
    """terraform/bin/tf-init takes the first `registry.terraform.io` folder `find` meets, which
    can be another run's temporary one without the AWS provider: name the one that has it."""
    if os.environ.get("TF_PLUGIN_MIRROR"):
        return
    found = subprocess.run(
        ["find", "/", "-maxdepth", "4", "-type", "d", "-name", "registry.terraform.io", "-not", "-path", "/proc/*"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    mirrors = [Path(p).parent for p in found if (Path(p) / "hashicorp" / "aws").is_dir()]
    if mirrors:
        os.environ["TF_PLUGIN_MIRROR"] = str(mirrors[0])


class RuntimeProcess:
    """`python -m socialomega.local run --env faults` in a process of its own; its logs go to
    .build/fault-suite-runtime-<n>.log."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        assert self.process is None or self.process.poll() is not None, "the runtime runs already"
        self.starts += 1
        env = {**os.environ, "LOCALSTACK_PORT": str(localstack.port(self.endpoint)), "SOCIALOMEGA_NO_DOCKER": "1"}
        env.pop("LOCALSTACK_ENDPOINT", None)
        with open(BUILD / f"fault-suite-runtime-{self.starts}.log", "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "socialomega.local", "run", "--env", ENV],
                cwd=localstack.ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no handler runs, nothing is cleaned up (the point of the step)."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture(scope="session")
def runtime_process(stack: dict[str, Any], suite_localstack: str) -> Iterator[RuntimeProcess]:
    runtime = RuntimeProcess(suite_localstack)
    yield runtime
    runtime.stop()


def write_report(report: dict[str, Any]) -> Path:
    BUILD.mkdir(exist_ok=True)
    tmp = REPORT.with_suffix(".tmp")
    tmp.write_text(json.dumps(report, indent=1, default=str))
    tmp.replace(REPORT)
    return REPORT
