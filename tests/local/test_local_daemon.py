"""The shared daemon: start/status/stop, reuse by ensure_local_server, stale state files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from workbench.errors import WorkbenchError
from workbench.local.config import LocalConfig
from workbench.local.daemon import daemon_status, local_status, start_daemon, stop_daemon
from workbench.local.server import ensure_local_server, stop_local_server
from workbench.local.state import (
    live_daemon,
    pid_alive,
    probe_health,
    read_state,
    state_path,
    write_state,
)


def test_exited_child_is_not_alive() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 10
    while pid_alive(proc.pid):  # must reap our own zombie, not report it alive forever
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_stale_state_file_is_cleared(tmp_cache: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    write_state({"pid": proc.pid, "api_base": "http://127.0.0.1:9/v1"})
    assert live_daemon() is None
    assert read_state() is None
    assert daemon_status()["running"] is False


def test_a_reused_pid_is_never_signalled(tmp_cache: Path) -> None:
    """A state file naming some other live program must not get that program killed."""
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        write_state({"pid": bystander.pid, "api_base": "http://127.0.0.1:9/v1"})
        assert daemon_status()["running"] is False
        assert stop_daemon()["was_running"] is False
        time.sleep(0.2)
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()


def test_daemon_start_failure_shows_the_log(tmp_cache: Path, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    bogus = tmp_path / "broken.gguf"
    bogus.write_bytes(b"not a model")
    monkeypatch.setenv("WORKBENCH_LOCAL_GGUF", str(bogus))
    with pytest.raises(WorkbenchError, match="exited during start-up") as info:
        start_daemon(timeout_s=60)
    assert "as a GGUF model file" in str(info.value)
    assert read_state() is None


def test_status_survives_a_broken_config(tmp_cache: Path, tmp_path: Path) -> None:
    (tmp_path / "workbench.toml").write_text("[local]\nbogus = 1\n")
    status = local_status()
    assert "Unknown key" in status["config_error"]
    assert status["daemon"]["running"] is False


@pytest.mark.local_model
def test_daemon_start_status_reuse_stop(tmp_cache: Path, real_gguf: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKBENCH_LOCAL_GGUF", str(real_gguf))  # no re-assembly in tmp cache
    (Path.cwd() / "workbench.toml").write_text("[local]\nn_parallel = 2\nn_ctx = 2048\n")
    try:
        started = start_daemon(timeout_s=120)
        assert started["running"] and started["healthy"] and not started["already_running"]
        pid, api_base = started["pid"], started["api_base"]
        assert json.loads(state_path().read_text())["pid"] == pid != os.getpid()
        assert started["n_parallel"] == 2 and started["params_count"] == 494_032_768

        again = start_daemon()
        assert again["already_running"] and again["pid"] == pid

        endpoint = ensure_local_server(LocalConfig(gguf=real_gguf))
        assert endpoint.source == "daemon" and endpoint.api_base == api_base
        assert local_status()["daemon"]["healthy"]
    finally:
        stop_local_server()
        stopped = stop_daemon()
    assert stopped["stopped"] and stopped["pid"] == pid
    assert not pid_alive(pid)
    assert not probe_health(api_base, timeout=1.0)
    assert read_state() is None and daemon_status()["running"] is False
    assert "stopped" in Path(daemon_status()["log_file"]).read_text()
