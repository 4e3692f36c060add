"""Where a running local daemon is recorded, and how to tell whether it is really alive.

The CLI and a notebook share one model server through a small JSON state file in the
cache directory. A state file can outlive its process (kill -9, reboot), and a pid can
be reused, so "running" always means: the pid is alive AND the recorded address answers
``/health``.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from workbench.local.weights import cache_root

STATE_FILE = "local-daemon.json"
LOG_FILE = "local-daemon.log"


def state_path() -> Path:
    """The daemon's state file: {pid, api_base, gguf, model_name, params_count, started_at}."""
    return cache_root() / STATE_FILE


def log_path() -> Path:
    """Where the detached daemon's stdout/stderr go (llama.cpp errors land here)."""
    return cache_root() / LOG_FILE


def read_state() -> dict[str, Any] | None:
    """The recorded state, or None if there is none or it is unreadable."""
    try:
        data = json.loads(state_path().read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("pid"), int) else None


def write_state(state: dict[str, Any]) -> None:
    """Write atomically so a reader never sees half a file."""
    path = state_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(state, indent=2))
    os.replace(tmp, path)


def remove_state(pid: int | None = None) -> None:
    """Remove the state file (only if it belongs to ``pid``, when given)."""
    state = read_state()
    if pid is not None and state is not None and state.get("pid") != pid:
        return
    state_path().unlink(missing_ok=True)


def pid_alive(pid: int) -> bool:
    """True if ``pid`` runs. Reaps it first if it is our own exited child (a zombie
    would otherwise look alive to ``kill(pid, 0)`` forever)."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    except ChildProcessError:
        pass  # not our child: fall through to the signal probe
    except OSError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def is_daemon_process(pid: int) -> bool:
    """True if ``pid`` is a workbench daemon, so a stale state file whose pid was reused
    by another program never gets that program signalled."""
    try:
        import psutil

        cmdline = psutil.Process(pid).cmdline()
    except Exception:  # psutil missing, process gone or not ours to inspect
        return pid_alive(pid)
    return any("workbench.local.daemon" in part for part in cmdline)


def root_of(api_base: str) -> str:
    """``http://host:port/v1`` -> ``http://host:port`` (health lives at the root)."""
    return api_base[: -len("/v1")] if api_base.endswith("/v1") else api_base.rstrip("/")


def probe_health(api_base: str, timeout: float = 2.0) -> bool:
    """True if llama.cpp's ``/health`` answers 200 (model loaded and serving)."""
    try:
        with urllib.request.urlopen(root_of(api_base) + "/health", timeout=timeout) as resp:
            return bool(resp.status == 200)
    except (urllib.error.URLError, OSError, ValueError):
        return False


def live_daemon() -> dict[str, Any] | None:
    """The state of a daemon that is alive and healthy, else None (stale files are removed)."""
    state = read_state()
    if state is None:
        return None
    if not pid_alive(state["pid"]) or not is_daemon_process(state["pid"]):
        remove_state(state["pid"])
        return None
    api_base = state.get("api_base")
    if not isinstance(api_base, str) or not probe_health(api_base):
        return None
    return state
