"""`local/localstack.py`'s restart with state kept, without a LocalStack: the processes are
stand-ins that write what the launcher (`local/localstack_state.py`) would."""

from __future__ import annotations

import json
import subprocess

import pytest

from socialomega.local import localstack


@pytest.fixture
def build(monkeypatch, tmp_path):
    monkeypatch.setattr(localstack, "BUILD", tmp_path)
    monkeypatch.setattr(localstack, "PID_FILE", tmp_path / "localstack.pid")
    monkeypatch.setattr(localstack, "LOG_FILE", tmp_path / "localstack.log")
    monkeypatch.setenv("LOCALSTACK_PORT", "4577")
    monkeypatch.delenv("LOCALSTACK_ENDPOINT", raising=False)
    monkeypatch.delenv("LOCALSTACK_HOST", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    return tmp_path


def test_an_instance_on_another_port_has_files_of_its_own(build):
    assert localstack.native_files(4566) == (
        build / "localstack.pid",
        build / "localstack.log",
        build / "localstack-data",
    )
    assert localstack.native_files(4577) == (
        build / "localstack-4577.pid",
        build / "localstack-4577.log",
        build / "localstack-data-4577",
    )
    assert localstack.state_dir(4577) == build / "localstack-data-4577" / "socialomega-state"


def test_restart_needs_a_native_instance_of_this_checkout(build):
    with pytest.raises(RuntimeError, match="started by localstack.start"):
        localstack.restart()


def test_restart_asks_for_a_save_then_starts_with_the_saved_state(build, monkeypatch):
    pid_file, _, _ = localstack.native_files(4577)
    pid_file.write_text("4242")
    state = localstack.state_dir(4577)
    calls = []

    def stop(pid_file, grace_seconds, done_after):
        requested = (state / "save-requested").exists()
        calls.append(("stop", requested))
        if requested:  # what the launcher does on SIGTERM
            (state / "save-report.json").write_text(json.dumps({"services": {"sqs": {"bytes": 10}}}))
        return "stopped native LocalStack 4242"

    def start(wait_seconds, *, restore_state):
        calls.append(("start", restore_state))
        (state / "load-report.json").write_text(json.dumps({"services": {"sqs": {"loaded": True}}}))
        return "native process 4343"

    monkeypatch.setattr(localstack, "_stop_native", stop)
    monkeypatch.setattr(localstack, "start", start)
    result = localstack.restart(keep_state=True)
    assert calls == [("stop", True), ("start", True)]
    assert result["save"] == {"services": {"sqs": {"bytes": 10}}}
    assert result["load"] == {"services": {"sqs": {"loaded": True}}}
    assert result["started"] == "native process 4343" and result["down_seconds"] >= 0


def test_restart_fails_loudly_when_localstack_stopped_without_saving(build, monkeypatch):
    localstack.native_files(4577)[0].write_text("4242")
    monkeypatch.setattr(localstack, "_stop_native", lambda *a, **k: "killed native LocalStack 4242 after 60.0")
    monkeypatch.setattr(localstack, "start", lambda *a, **k: pytest.fail("must not start"))
    with pytest.raises(RuntimeError, match="without saving its state"):
        localstack.restart(keep_state=True)


class _Process:
    pid = 4242


@pytest.mark.parametrize("restore", [False, True])
def test_start_runs_the_launcher_and_only_a_restore_keeps_the_saved_state(build, monkeypatch, restore):
    answers = iter([False, True])
    monkeypatch.setattr(localstack, "healthy", lambda *a, **k: next(answers))
    monkeypatch.setattr(localstack, "docker_available", lambda: False)
    venv_python = build / "python"
    venv_python.touch()
    monkeypatch.setattr(localstack, "VENV_PYTHON", venv_python)
    saved = localstack.state_dir(4577)
    saved.mkdir(parents=True)
    (saved / "sqs.state").write_bytes(b"x")
    launched = []
    monkeypatch.setattr(subprocess, "Popen", lambda cmd, **k: (launched.append((cmd, k["env"])), _Process())[1])
    assert localstack.start(restore_state=restore) == "native process 4242"
    ((command, env),) = launched
    assert command == [str(venv_python), "-P", str(localstack.STATE_LAUNCHER)]
    assert env["SOCIALOMEGA_STATE_DIR"] == str(saved) and env["GATEWAY_LISTEN"] == "127.0.0.1:4577"
    assert env["SOCIALOMEGA_RESTORE_STATE"] == ("1" if restore else "0")
    assert (saved / "sqs.state").exists() == restore  # a plain start begins empty
    assert localstack.native_files(4577)[0].read_text() == "4242"
