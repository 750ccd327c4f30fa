"""Start, find and stop the local AWS (LocalStack 4.14.0, the last release without an account).

With a Docker engine it runs from docker-compose.yml; without one it runs natively in its
own virtualenv (made by `make localstack-venv`), as DESIGN.md section 5 describes.

Where local mode reaches LocalStack is decided in one place, `endpoint()`, with
localstack-client (see there); the gateway is started on that endpoint's port.
`LOCALSTACK_PORT` (default 4566) moves it, in both modes and in docker-compose.yml.
`SOCIALOMEGA_ROOT` names the repository when this package runs installed elsewhere (the
images' one-shot Terraform job).

Natively, LocalStack runs under `localstack_state.py`, which can keep its state across a
restart (community 4.14.0 has no persistence of its own; see there): `restart(keep_state=True)`.
An instance on another port than 4566 has its own pid file, log and volume directory
(`.build/localstack-<port>.*`), so a suite can run and restart one beside the shared one.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(os.environ.get("SOCIALOMEGA_ROOT") or Path(__file__).resolve().parents[3])
BUILD = ROOT / ".build"
VENV_PYTHON = BUILD / "localstack-venv" / "bin" / "python"
PID_FILE = BUILD / "localstack.pid"
LOG_FILE = BUILD / "localstack.log"
IMAGE = "localstack/localstack:4.14.0"  # docker-compose.yml's; `make images` builds it offline
DEFAULT_PORT = 4566
STATE_LAUNCHER = Path(__file__).with_name("localstack_state.py")


def endpoint() -> str:
    """The URL local mode reaches LocalStack at (every AWS API: LocalStack's one gateway).

    The one place that decides it, from the environment at call time; everything local uses
    it: starting LocalStack here, `runtime.apply_service_env` (which hands it to the handlers
    as `AWS_ENDPOINT_URL`, the variable boto3 and `core/aws.py` honour), the Terraform
    provider's endpoints (`terraform.apply`) and the tests. In order:
      * `LOCALSTACK_ENDPOINT`: an explicit URL (terraform/bin/plan-localstack reads it too);
      * localstack-client's rule, as LocalStack's own tools (awslocal, tflocal) apply it:
        `AWS_ENDPOINT_URL` when the environment names one, else `LOCALSTACK_HOST`
        (`host:port`, what LocalStack itself advertises), `USE_SSL=1` for https; here
        `LOCALSTACK_HOST` defaults to 127.0.0.1:`LOCALSTACK_PORT` (4566), not the client's
        `localhost`, because LocalStack listens on IPv4 loopback only.
    """
    if explicit := os.environ.get("LOCALSTACK_ENDPOINT", "").strip():
        return explicit.rstrip("/")
    host = (
        os.environ.get("LOCALSTACK_HOST", "").strip()
        or f"127.0.0.1:{os.environ.get('LOCALSTACK_PORT') or DEFAULT_PORT}"
    )
    try:
        from localstack_client.config import get_service_endpoint
    except ModuleNotFoundError:
        # The service images run local mode too (docker-compose.yml: `python -m socialomega.local
        # serve <service>`), but they carry only what runs in AWS, not the dev extra that
        # installs localstack-client: there, its rule for the edge port, by hand.
        scheme = "https" if os.environ.get("USE_SSL") in ("1", "true") else "http"
        return (
            os.environ.get("AWS_ENDPOINT_URL", "").strip()
            or f"{scheme}://{host if ':' in host else f'{host}:{DEFAULT_PORT}'}"
        )
    url = get_service_endpoint("edge", localstack_host=host)  # LocalStack serves every API on its edge port
    if not url:
        raise RuntimeError(f"localstack-client gave no edge endpoint for {host!r}")
    return str(url)


def port(url: str | None = None) -> int:
    """The port of `url` (default: `endpoint()`): where the gateway is started."""
    return urlsplit(url or endpoint()).port or DEFAULT_PORT


# As decided when this module was imported (entry points print it and hand it on).
ENDPOINT = endpoint()
PORT = port(ENDPOINT)


def native_env(gateway_port: int) -> dict[str, str]:
    """LocalStack's own settings for the native process (DESIGN.md section 5)."""
    return {
        "GATEWAY_LISTEN": f"127.0.0.1:{gateway_port}",
        "LOCALSTACK_HOST": f"127.0.0.1:{gateway_port}",
        "SQS_ENDPOINT_STRATEGY": "off",  # the Terraform provider rejects the `path` strategy's URLs
        "SKIP_SSL_CERT_DOWNLOAD": "1",
        "DNS_ADDRESS": "0",
        "DISABLE_EVENTS": "1",
    }


NATIVE_ENV = native_env(PORT)


def healthy(url: str | None = None, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"{url or endpoint()}/_localstack/health", timeout=timeout) as response:
            status: int = response.status
            return status == 200
    except OSError:
        return False


def docker_available() -> bool:
    if os.environ.get("SOCIALOMEGA_NO_DOCKER") or not shutil.which("docker"):
        return False
    return subprocess.run(["docker", "info"], capture_output=True, timeout=20).returncode == 0


def image_present(image: str = IMAGE) -> bool:
    return subprocess.run(["docker", "image", "inspect", image], capture_output=True, timeout=20).returncode == 0


def native_files(gateway_port: int) -> tuple[Path, Path, Path]:
    """(pid file, log file, volume directory) of the native LocalStack on `gateway_port`."""
    if gateway_port == DEFAULT_PORT:
        return PID_FILE, LOG_FILE, BUILD / "localstack-data"
    return (
        BUILD / f"localstack-{gateway_port}.pid",
        BUILD / f"localstack-{gateway_port}.log",
        BUILD / f"localstack-data-{gateway_port}",
    )


def state_dir(gateway_port: int) -> Path:
    """Where the native LocalStack on `gateway_port` saves its state for a restart."""
    return native_files(gateway_port)[2] / "socialomega-state"


def start(wait_seconds: float = 120.0, *, restore_state: bool = False) -> str:
    """Make sure LocalStack answers at `endpoint()`; start it there if not. Returns how it runs.
    `restore_state`: load what `restart(keep_state=True)` saved (native mode only)."""
    url = endpoint()
    if healthy(url):
        return "already running"
    gateway_port = port(url)
    BUILD.mkdir(exist_ok=True)
    use_docker = docker_available() and not restore_state
    if use_docker and not image_present() and not os.environ.get("SOCIALOMEGA_PULL_LOCALSTACK"):
        # No registry here: the image must have been built locally (`make images`), so do not
        # let compose try to pull it. SOCIALOMEGA_PULL_LOCALSTACK=1 allows the pull.
        print(
            f"Docker answers but the image {IMAGE} is not present (build it offline with `make images`, "
            "or set SOCIALOMEGA_PULL_LOCALSTACK=1 to pull it): starting LocalStack natively instead",
            file=sys.stderr,
        )
        use_docker = False
    if use_docker:
        # On another port than the default, a compose project of its own: in the default
        # project (`make up`'s) compose would recreate that LocalStack on the new port and
        # lose its state.
        project = [] if gateway_port == DEFAULT_PORT else ["-p", f"socialomega-localstack-{gateway_port}"]
        subprocess.run(
            ["docker", "compose", *project, "up", "-d", "localstack"],
            cwd=ROOT,
            check=True,
            env={**os.environ, "LOCALSTACK_PORT": str(gateway_port)},
        )
        mode = "docker compose"
    else:
        if not VENV_PYTHON.exists():
            sys.exit("LocalStack's virtualenv is missing: run `make localstack-venv` first")
        pid_file, log_file, data = native_files(gateway_port)
        data.mkdir(exist_ok=True)
        saved = state_dir(gateway_port)
        if not restore_state:
            shutil.rmtree(saved, ignore_errors=True)  # a plain start begins empty, as it always did
        env = {
            **os.environ,
            **native_env(gateway_port),
            "LOCALSTACK_VOLUME_DIR": str(data),
            "SOCIALOMEGA_STATE_DIR": str(saved),
            "SOCIALOMEGA_RESTORE_STATE": "1" if restore_state else "0",
        }
        for leaked in ("AWS_ENDPOINT_URL", "PYTHONPATH", "VIRTUAL_ENV"):
            env.pop(leaked, None)
        with open(log_file, "ab") as log:
            process = subprocess.Popen(
                [str(VENV_PYTHON), "-P", str(STATE_LAUNCHER)],  # -P: not its folder first (local/localstack.py)
                cwd=BUILD,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        pid_file.write_text(str(process.pid))
        mode = f"native process {process.pid}"
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        if healthy(url):
            return mode
        time.sleep(1)
    raise RuntimeError(
        f"LocalStack did not answer at {url} within {wait_seconds:.0f}s; see {native_files(gateway_port)[1]}"
    )


def restart(keep_state: bool = True, wait_seconds: float = 120.0) -> dict[str, Any]:
    """Stop the native LocalStack at `endpoint()` and start it again; with `keep_state` it saves
    its state on the way down and loads it on the way up (`localstack_state.py`). Returns what
    happened: seconds down, and the save and load reports (per service: bytes or an error).

    Only a native instance started by `start()` can keep its state: in Docker the image runs
    LocalStack's own entry point, which keeps nothing (RuntimeError then)."""
    url = endpoint()
    gateway_port = port(url)
    pid_file, _, _ = native_files(gateway_port)
    if not pid_file.exists():
        raise RuntimeError(
            f"no native LocalStack of this checkout on port {gateway_port} ({pid_file} is missing): "
            "restart(keep_state=True) needs one started by localstack.start() without Docker"
        )
    saved = state_dir(gateway_port)
    saved.mkdir(parents=True, exist_ok=True)
    for old in (saved / "save-report.json", saved / "load-report.json"):
        old.unlink(missing_ok=True)
    if keep_state:
        (saved / "save-requested").write_text(str(time.time()))
    started = time.monotonic()
    # Measured: once its state is saved, LocalStack 4.14.0 sometimes takes a minute to exit
    # (a thread it waits for at shutdown); the state is on disk then, so it gets 10 s.
    stopped = _stop_native(pid_file, grace_seconds=60.0, done_after=(saved / "save-report.json", 10.0))
    down_at = time.monotonic()
    save_report = _read_json(saved / "save-report.json")
    if keep_state and save_report is None:
        raise RuntimeError(f"LocalStack stopped ({stopped}) without saving its state; see its log")
    mode = start(wait_seconds, restore_state=keep_state)
    return {
        "stopped": stopped,
        "started": mode,
        "stop_seconds": round(down_at - started, 3),
        "down_seconds": round(time.monotonic() - started, 3),
        "save": save_report,
        "load": _read_json(saved / "load-report.json") if keep_state else None,
    }


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text()) if path.exists() else None


def stop() -> str:
    """Stop both kinds: the native process this checkout started and the compose stack."""
    done = [_stop_native()]
    if docker_available():
        subprocess.run(["docker", "compose", "down", "--remove-orphans"], cwd=ROOT, check=False)
        done.append("docker compose down")
    return "; ".join(d for d in done if d) or "nothing to stop"


def stop_native(gateway_port: int) -> str:
    """Stop the native LocalStack this checkout started on `gateway_port` (not the compose stack)."""
    return _stop_native(native_files(gateway_port)[0])


def _stop_native(
    pid_file: Path | None = None, grace_seconds: float = 15.0, done_after: tuple[Path, float] | None = None
) -> str:
    """SIGTERM, then SIGKILL after `grace_seconds`, or `done_after[1]` seconds after the file
    `done_after[0]` appeared (what had to happen before the exit has happened). Default: the
    instance on 4566 (`PID_FILE`)."""
    pid_file = PID_FILE if pid_file is None else pid_file
    if not pid_file.exists():
        return ""
    pid = int(pid_file.read_text())
    pid_file.unlink()
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return "native LocalStack was not running"
    deadline = time.monotonic() + grace_seconds
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return f"stopped native LocalStack {pid}"
        if done_after is not None and done_after[0].exists():
            deadline = min(deadline, done_after[0].stat().st_mtime - time.time() + time.monotonic() + done_after[1])
        time.sleep(0.2)
    os.killpg(pid, signal.SIGKILL)
    return f"killed native LocalStack {pid} after {grace_seconds if done_after is None else 'saving'}"


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "start"
    print(start() if command == "start" else stop())
