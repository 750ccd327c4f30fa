"""Start, find and stop the local AWS (LocalStack 4.14.0, the last release without an account).

With a Docker engine it runs from docker-compose.yml; without one it runs natively in its
own virtualenv (made by `make localstack-venv`), as DESIGN.md section 5 describes.

Where local mode reaches LocalStack is decided in one place, `endpoint()`, with
localstack-client (see there); the gateway is started on that endpoint's port.
`LOCALSTACK_PORT` (default 4566) moves it, in both modes and in docker-compose.yml.
`SOCIALOMEGA_ROOT` names the repository when this package runs installed elsewhere (the
images' one-shot Terraform job).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(os.environ.get("SOCIALOMEGA_ROOT") or Path(__file__).resolve().parents[3])
BUILD = ROOT / ".build"
VENV_PYTHON = BUILD / "localstack-venv" / "bin" / "python"
PID_FILE = BUILD / "localstack.pid"
LOG_FILE = BUILD / "localstack.log"
IMAGE = "localstack/localstack:4.14.0"  # docker-compose.yml's; `make images` builds it offline
DEFAULT_PORT = 4566


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


def start(wait_seconds: float = 120.0) -> str:
    """Make sure LocalStack answers at `endpoint()`; start it there if not. Returns how it runs."""
    url = endpoint()
    if healthy(url):
        return "already running"
    gateway_port = port(url)
    BUILD.mkdir(exist_ok=True)
    use_docker = docker_available()
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
        subprocess.run(
            ["docker", "compose", "up", "-d", "localstack"],
            cwd=ROOT,
            check=True,
            env={**os.environ, "LOCALSTACK_PORT": str(gateway_port)},
        )
        mode = "docker compose"
    else:
        if not VENV_PYTHON.exists():
            sys.exit("LocalStack's virtualenv is missing: run `make localstack-venv` first")
        data = BUILD / "localstack-data"
        data.mkdir(exist_ok=True)
        env = {**os.environ, **native_env(gateway_port), "LOCALSTACK_VOLUME_DIR": str(data)}
        for leaked in ("AWS_ENDPOINT_URL", "PYTHONPATH", "VIRTUAL_ENV"):
            env.pop(leaked, None)
        with open(LOG_FILE, "ab") as log:
            process = subprocess.Popen(
                [str(VENV_PYTHON), "-m", "localstack.runtime.main"],
                cwd=BUILD,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        PID_FILE.write_text(str(process.pid))
        mode = f"native process {process.pid}"
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        if healthy(url):
            return mode
        time.sleep(1)
    raise RuntimeError(f"LocalStack did not answer at {url} within {wait_seconds:.0f}s; see {LOG_FILE}")


def stop() -> str:
    """Stop both kinds: the native process this checkout started and the compose stack."""
    done = [_stop_native()]
    if docker_available():
        subprocess.run(["docker", "compose", "down", "--remove-orphans"], cwd=ROOT, check=False)
        done.append("docker compose down")
    return "; ".join(d for d in done if d) or "nothing to stop"


def _stop_native() -> str:
    if not PID_FILE.exists():
        return ""
    pid = int(PID_FILE.read_text())
    PID_FILE.unlink()
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return "native LocalStack was not running"
    for _ in range(30):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return f"stopped native LocalStack {pid}"
        time.sleep(0.5)
    os.killpg(pid, signal.SIGKILL)
    return f"killed native LocalStack {pid}"


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "start"
    print(start() if command == "start" else stop())
