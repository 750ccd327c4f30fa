"""Local mode's container plumbing: which consumers one service's container runs, how
LocalStack is started when Docker answers without its image, and what `make down` stops."""

from __future__ import annotations

import subprocess

import pytest

from socialomega.local import localstack
from socialomega.local.__main__ import service_selection

OUTPUTS = {
    "consumers": {
        "processor": {"service": "processor"},
        "analytics": {"service": "analytics"},
        "publisher-rest": {"service": "publisher"},
        "publisher-gallery": {"service": "publisher"},
    }
}


@pytest.mark.parametrize(
    ("service", "expected"),
    [
        ("poller", {"poller"}),
        ("processor", {"processor"}),
        ("publisher", {"publisher-rest", "publisher-gallery"}),
        ("publisher-gallery", {"publisher-gallery"}),
        ("analytics", {"analytics"}),
        ("webhooks", set()),
    ],
)
def test_a_service_container_runs_only_its_own_consumers(service, expected):
    assert service_selection(OUTPUTS, service) == expected


class _Process:
    pid = 4242


def test_docker_without_the_localstack_image_falls_back_to_native(monkeypatch, tmp_path, capsys):
    answers = iter([False, True])
    monkeypatch.setattr(localstack, "healthy", lambda *a, **k: next(answers))
    monkeypatch.setattr(localstack, "docker_available", lambda: True)
    monkeypatch.setattr(localstack, "image_present", lambda image=localstack.IMAGE: False)
    monkeypatch.delenv("SOCIALOMEGA_PULL_LOCALSTACK", raising=False)
    monkeypatch.setattr(localstack, "BUILD", tmp_path)
    monkeypatch.setattr(localstack, "PID_FILE", tmp_path / "localstack.pid")
    monkeypatch.setattr(localstack, "LOG_FILE", tmp_path / "localstack.log")
    venv_python = tmp_path / "python"
    venv_python.touch()
    monkeypatch.setattr(localstack, "VENV_PYTHON", venv_python)
    commands = []
    monkeypatch.setattr(subprocess, "run", lambda cmd, **k: commands.append(cmd))
    monkeypatch.setattr(subprocess, "Popen", lambda cmd, **k: (commands.append(cmd), _Process())[1])
    assert localstack.start() == "native process 4242"
    # The launcher that keeps LocalStack's state across a restart (local/localstack_state.py).
    assert commands == [[str(venv_python), "-P", str(localstack.STATE_LAUNCHER)]]
    assert "is not present" in capsys.readouterr().err


def test_docker_with_the_image_uses_compose(monkeypatch, tmp_path):
    answers = iter([False, True])
    monkeypatch.setattr(localstack, "healthy", lambda *a, **k: next(answers))
    monkeypatch.setattr(localstack, "docker_available", lambda: True)
    monkeypatch.setattr(localstack, "image_present", lambda image=localstack.IMAGE: True)
    monkeypatch.setattr(localstack, "BUILD", tmp_path)
    commands = []
    monkeypatch.setattr(subprocess, "run", lambda cmd, **k: commands.append(cmd))
    assert localstack.start() == "docker compose"
    assert commands == [["docker", "compose", "up", "-d", "localstack"]]


def test_down_stops_native_localstack_and_the_compose_stack(monkeypatch, tmp_path):
    pid_file = tmp_path / "localstack.pid"
    pid_file.write_text("4242")
    monkeypatch.setattr(localstack, "PID_FILE", pid_file)
    monkeypatch.setattr(localstack, "docker_available", lambda: True)
    killed = []

    def killpg(pid, sig):
        killed.append((pid, sig))

    def kill(pid, sig):
        raise ProcessLookupError

    monkeypatch.setattr(localstack.os, "killpg", killpg)
    monkeypatch.setattr(localstack.os, "kill", kill)
    commands = []
    monkeypatch.setattr(subprocess, "run", lambda cmd, **k: commands.append(cmd))
    assert localstack.stop() == "stopped native LocalStack 4242; docker compose down"
    assert killed == [(4242, localstack.signal.SIGTERM)]
    assert commands == [["docker", "compose", "down", "--remove-orphans"]]
    assert not pid_file.exists()
