"""A detached process holding one local model server, shared by CLI runs and notebooks.

Loading the model takes seconds and holds ~0.6 GB; several notebooks and CLI runs on a
2-core machine should share one server rather than each start their own (they would
also fight over the same cores). ``start`` spawns ``python -m workbench.local.daemon
run`` in its own session, waits until it records its address and answers ``/health``,
and returns. ``stop`` sends SIGTERM and waits. ``status`` never trusts the state file
alone.

    python -m workbench.local.daemon start|stop|status
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from workbench.errors import WorkbenchError
from workbench.local.config import load_config
from workbench.local.server import LocalServer, in_process_endpoint
from workbench.local.state import (
    is_daemon_process,
    live_daemon,
    log_path,
    pid_alive,
    probe_health,
    read_state,
    remove_state,
    state_path,
    write_state,
)
from workbench.local.weights import DEFAULT_WEIGHTS, file_lock, weights_available

START_TIMEOUT_S = 180.0
STOP_TIMEOUT_S = 30.0


def start_daemon(timeout_s: float = START_TIMEOUT_S) -> dict[str, Any]:
    """Start the daemon unless a healthy one runs; return its status once it serves."""
    with file_lock(state_path().with_name(".local-daemon.lock")):  # one daemon, not two
        running = live_daemon()
        if running is not None:
            return {**daemon_status(), "already_running": True}
        state = read_state()
        if state is not None and _ours_and_alive(state["pid"]):
            raise WorkbenchError(
                f"A local daemon (pid {state['pid']}) is running but not answering /health. "
                "Run `workbench local stop` and start it again.")
        remove_state()
        log_file = log_path()
        log_file.parent.mkdir(parents=True, exist_ok=True)
        with log_file.open("ab") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "workbench.local.daemon", "run"],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True, cwd=os.getcwd())
        _wait_for_daemon(proc, timeout_s)
    return {**daemon_status(), "already_running": False}


def _wait_for_daemon(proc: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise WorkbenchError(
                f"The local daemon exited during start-up (code {proc.returncode}). "
                f"Last lines of {log_path()}:\n{_log_tail()}")
        state = read_state()
        if state is not None and state["pid"] == proc.pid and probe_health(state["api_base"]):
            return
        time.sleep(0.2)
    proc.kill()
    proc.wait()
    raise WorkbenchError(
        f"The local daemon did not start serving within {timeout_s:.0f} s; it was killed. "
        f"See {log_path()}:\n{_log_tail()}")


def stop_daemon(timeout_s: float = STOP_TIMEOUT_S) -> dict[str, Any]:
    """SIGTERM the daemon and wait for it to exit (SIGKILL after ``timeout_s``)."""
    state = read_state()
    if state is None or not _ours_and_alive(state["pid"]):
        remove_state()
        return {"stopped": False, "was_running": False}
    pid = state["pid"]
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while pid_alive(pid):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            time.sleep(0.2)
            break
        time.sleep(0.1)
    remove_state(pid)
    return {"stopped": True, "was_running": True, "pid": pid}


def daemon_status() -> dict[str, Any]:
    """The daemon as seen from outside: recorded state, pid liveness and /health."""
    state = read_state()
    alive = state is not None and _ours_and_alive(state["pid"])
    if state is not None and not alive:
        remove_state(state["pid"])
        state = None
    healthy = bool(state and probe_health(state["api_base"]))
    status: dict[str, Any] = {"running": alive, "healthy": healthy,
                              "state_file": str(state_path()), "log_file": str(log_path())}
    if state is not None:
        status.update({k: state.get(k) for k in
                       ("pid", "api_base", "gguf", "model_name", "params_count",
                        "n_parallel", "started_at")})
        status["uptime_s"] = round(time.time() - float(state.get("started_at", time.time())), 1)
    return status


def local_status() -> dict[str, Any]:
    """Everything ``workbench local status`` shows: daemon, this process's server, config."""
    endpoint = in_process_endpoint()
    status: dict[str, Any] = {
        "daemon": daemon_status(),
        "in_process": None if endpoint is None else {
            "api_base": endpoint.api_base, "model_name": endpoint.model_name,
            "gguf": str(endpoint.gguf_path)},
        "bundled_weights_ready": weights_available(DEFAULT_WEIGHTS),
    }
    try:
        status["config"] = load_config().as_dict()
    except WorkbenchError as exc:  # a broken config file must not hide the daemon's state
        status["config_error"] = str(exc)
    return status


def run_daemon() -> int:
    """The daemon's body: serve until SIGTERM/SIGINT, then free the model and the state."""
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    server = LocalServer(load_config()).start()
    endpoint = server.endpoint()
    write_state({"pid": os.getpid(), "api_base": endpoint.api_base,
                 "gguf": str(endpoint.gguf_path), "model_name": endpoint.model_name,
                 "params_count": endpoint.params_count, "n_parallel": endpoint.n_parallel,
                 "started_at": time.time()})
    print(f"local daemon pid {os.getpid()} serving {endpoint.model_name} at "
          f"{endpoint.api_base}", flush=True)
    try:
        while not stop.wait(1.0):
            pass
    finally:
        server.stop()
        remove_state(os.getpid())
    print(f"local daemon pid {os.getpid()} stopped", flush=True)
    return 0


def _ours_and_alive(pid: int) -> bool:
    return pid_alive(pid) and is_daemon_process(pid)


def _log_tail(lines: int = 20) -> str:
    try:
        return "\n".join(Path(log_path()).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def main(argv: list[str] | None = None) -> int:
    """``python -m workbench.local.daemon start|stop|status|run``; prints JSON."""
    args = sys.argv[1:] if argv is None else argv
    command = args[0] if args else "status"
    try:
        if command == "run":
            return run_daemon()
        actions = {"start": start_daemon, "stop": stop_daemon, "status": daemon_status}
        if command not in actions:
            print("usage: python -m workbench.local.daemon start|stop|status", file=sys.stderr)
            return 2
        print(json.dumps(actions[command](), indent=2))
    except WorkbenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
