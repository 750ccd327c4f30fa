"""Start, find and stop the local AWS (LocalStack 4.14.0, the last release without an account).

With a Docker engine it runs from docker-compose.yml; without one it runs natively in its
own virtualenv (made by `make localstack-venv`), as DESIGN.md section 5 describes.

`LOCALSTACK_PORT` (default 4566) moves the gateway, in both modes and in docker-compose.yml;
`LOCALSTACK_ENDPOINT` overrides the URL clients use. `SOCIALOMEGA_ROOT` names the repository
when this package runs installed elsewhere (the images' one-shot Terraform job).
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

ROOT = Path(os.environ.get("SOCIALOMEGA_ROOT") or Path(__file__).resolve().parents[3])
BUILD = ROOT / ".build"
VENV_PYTHON = BUILD / "localstack-venv" / "bin" / "python"
PID_FILE = BUILD / "localstack.pid"
LOG_FILE = BUILD / "localstack.log"
PORT = int(os.environ.get("LOCALSTACK_PORT") or 4566)
ENDPOINT = os.environ.get("LOCALSTACK_ENDPOINT") or f"http://127.0.0.1:{PORT}"
IMAGE = "localstack/localstack:4.14.0"  # docker-compose.yml's; `make images` builds it offline

NATIVE_ENV = {
    "GATEWAY_LISTEN": f"127.0.0.1:{PORT}",
    "LOCALSTACK_HOST": f"127.0.0.1:{PORT}",
    "SQS_ENDPOINT_STRATEGY": "off",  # the Terraform provider rejects the `path` strategy's URLs
    "SKIP_SSL_CERT_DOWNLOAD": "1",
    "DNS_ADDRESS": "0",
    "DISABLE_EVENTS": "1",
}


def healthy(endpoint: str = ENDPOINT, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"{endpoint}/_localstack/health", timeout=timeout) as response:
            return response.status == 200
    except OSError:
        return False


def docker_available() -> bool:
    if os.environ.get("SOCIALOMEGA_NO_DOCKER") or not shutil.which("docker"):
        return False
    return subprocess.run(["docker", "info"], capture_output=True, timeout=20).returncode == 0


def image_present(image: str = IMAGE) -> bool:
    return subprocess.run(["docker", "image", "inspect", image], capture_output=True, timeout=20).returncode == 0


def start(wait_seconds: float = 120.0) -> str:
    """Make sure LocalStack answers; start it if not. Returns how it runs."""
    if healthy():
        return "already running"
    BUILD.mkdir(exist_ok=True)
    use_docker = docker_available()
    if use_docker and not image_present() and not os.environ.get("SOCIALOMEGA_PULL_LOCALSTACK"):
        # No registry here: the image must have been built locally (`make images`), so do not
        # let compose try to pull it. SOCIALOMEGA_PULL_LOCALSTACK=1 allows the pull.
        print(f"Docker answers but the image {IMAGE} is not present (build it offline with `make images`, "
              "or set SOCIALOMEGA_PULL_LOCALSTACK=1 to pull it): starting LocalStack natively instead",
              file=sys.stderr)
        use_docker = False
    if use_docker:
        subprocess.run(["docker", "compose", "up", "-d", "localstack"], cwd=ROOT, check=True)
        mode = "docker compose"
    else:
        if not VENV_PYTHON.exists():
            sys.exit("LocalStack's virtualenv is missing: run `make localstack-venv` first")
        data = BUILD / "localstack-data"
        data.mkdir(exist_ok=True)
        env = {**os.environ, **NATIVE_ENV, "LOCALSTACK_VOLUME_DIR": str(data)}
        for leaked in ("AWS_ENDPOINT_URL", "PYTHONPATH", "VIRTUAL_ENV"):
            env.pop(leaked, None)
        with open(LOG_FILE, "ab") as log:
            process = subprocess.Popen(
                [str(VENV_PYTHON), "-m", "localstack.runtime.main"], cwd=BUILD, env=env,
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            )
        PID_FILE.write_text(str(process.pid))
        mode = f"native process {process.pid}"
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        if healthy():
            return mode
        time.sleep(1)
    raise RuntimeError(f"LocalStack did not answer within {wait_seconds:.0f}s; see {LOG_FILE}")


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
