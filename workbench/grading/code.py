"""Run model-written code against unit tests in a confined subprocess.

Why a subprocess and not ``exec``: model code can loop forever, eat memory, fork, delete
files or phone home, and the workbench runs it on a researcher's own machine. Each run
gets a fresh interpreter in an empty scratch directory with a wall-clock timeout, resource
limits, no network and (as root) its own throwaway uid; see ``_sandbox_child.py`` for the
layers. The parent never runs candidate code itself and is safe to call from any thread.
This is defence in depth for benchmark code, not a security boundary against a determined
attacker (use a VM or container for that).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any

from workbench.grading.humaneval_program import humaneval_program

_CHILD = str(Path(__file__).with_name("_sandbox_child.py"))
_TAIL = 2000
UID_RANGE = range(1_100_000, 1_900_000)
"""Throwaway uids for sandboxed programs (root only); no real account uses them."""


@dataclass(frozen=True)
class SandboxLimits:
    """What one candidate program may use. Defaults suit HumanEval-sized tests."""

    wall_s: float = 10.0
    cpu_s: int = 10
    memory_mb: int = 1024
    max_procs: int = 16
    file_mb: int = 16
    nofile: int = 64
    network_namespace: bool = True
    drop_privileges: bool = True  # only possible (and only needed) when running as root
    audit_guard: bool = True


@dataclass(frozen=True)
class SandboxResult:
    """The outcome of one run. ``reason``: ok | failed (raised, e.g. a failing assert) |
    timeout (wall clock or CPU limit) | crash (killed, out of memory, exited early)."""

    passed: bool
    reason: str
    error_type: str | None = None
    stderr_tail: str = ""
    stdout_tail: str = ""
    returncode: int | None = None
    wall_ms: float = 0.0
    layers: tuple[str, ...] = ()
    uid: int | None = None  # the throwaway uid the program ran as, if any


DEFAULT_LIMITS = SandboxLimits()
_PROBE_LOCK = threading.Lock()
_uid_drop_works: bool | None = None


def run_program(program: str, limits: SandboxLimits = DEFAULT_LIMITS) -> SandboxResult:
    """Run ``program`` (Python source) confined; passed only if it runs to its end."""
    if limits.drop_privileges and not _can_drop_privileges():
        limits = replace(limits, drop_privileges=False)
    return _run(program, limits)


def check_humaneval(prompt: str, completion: str, test: str, entry_point: str,
                    limits: SandboxLimits = DEFAULT_LIMITS) -> SandboxResult:
    """Grade one HumanEval completion (whole function or body only) with its tests."""
    return run_program(humaneval_program(prompt, completion, test, entry_point), limits)


def _can_drop_privileges() -> bool:
    """Once per process: can a throwaway uid still import the standard library?

    A root-owned interpreter under a private home (e.g. pyenv in /root) is only readable
    thanks to CAP_DAC_READ_SEARCH; some containers do not grant it. Probing once avoids
    failing every HumanEval item with a misleading ImportError.
    """
    global _uid_drop_works
    if os.geteuid() != 0:
        return False
    with _PROBE_LOCK:
        if _uid_drop_works is None:
            probe = "import fractions, statistics, hashlib, heapq\nassert fractions.Fraction(1, 2)\n"
            res = _run(probe, replace(DEFAULT_LIMITS, audit_guard=False))
            _uid_drop_works = res.passed
        return _uid_drop_works


def _run(program: str, limits: SandboxLimits) -> SandboxResult:
    # OS randomness: a seeded `random` in two processes must not hand out the same uid.
    uid = UID_RANGE[secrets.randbelow(len(UID_RANGE))] if limits.drop_privileges else None
    scratch = tempfile.mkdtemp(prefix="wb-sandbox-")
    try:
        if uid is not None:
            os.chown(scratch, uid, uid)
        os.chmod(scratch, 0o700)
        read_fd, write_fd = os.pipe()
        cfg = {"cwd": scratch, "uid": uid, "memory_mb": limits.memory_mb,
               "cpu_s": limits.cpu_s, "file_mb": limits.file_mb, "nofile": limits.nofile,
               "max_procs": limits.max_procs, "netns": limits.network_namespace,
               "audit": limits.audit_guard, "ctl_fd": write_fd}
        nonce = secrets.token_hex(16)
        try:
            with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
                started = time.perf_counter()
                rc, timed_out = _spawn_and_wait(cfg, {"code": program, "nonce": nonce},
                                                out, err, write_fd, uid, limits.wall_s)
                wall_ms = (time.perf_counter() - started) * 1000
                ctl = _read_available(read_fd)
                result = _classify(rc, timed_out, ctl, nonce, wall_ms, _tail(out), _tail(err))
                return replace(result, uid=uid if "uid" in result.layers else None)
        finally:
            os.close(read_fd)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _spawn_and_wait(cfg: dict[str, Any], payload: dict[str, str], out: IO[bytes],
                    err: IO[bytes], write_fd: int,
                    uid: int | None, wall_s: float) -> tuple[int | None, bool]:
    """Start the child, feed it the program, wait up to ``wall_s``, then kill leftovers."""
    env = {"PATH": "/usr/bin:/bin", "HOME": cfg["cwd"], "TMPDIR": cfg["cwd"],
           "LANG": "C.UTF-8", "PYTHONIOENCODING": "utf-8"}
    try:
        proc = subprocess.Popen(
            [sys.executable, "-I", "-B", _CHILD, json.dumps(cfg)],
            stdin=subprocess.PIPE, stdout=out, stderr=err, pass_fds=(write_fd,),
            cwd=cfg["cwd"], env=env, start_new_session=True, close_fds=True)
    finally:
        os.close(write_fd)  # the child holds its own copy; EOF must not depend on ours
    try:
        assert proc.stdin is not None
        proc.stdin.write(json.dumps(payload).encode())
        proc.stdin.close()
    except (BrokenPipeError, OSError):
        pass
    timed_out = False
    try:
        rc: int | None = proc.wait(timeout=wall_s)
    except subprocess.TimeoutExpired:
        timed_out, rc = True, None
    _kill_leftovers(proc.pid, uid)
    if rc is None:
        proc.wait()
    return rc, timed_out


def _kill_leftovers(pgid: int, uid: int | None) -> None:
    """Kill the process group, then (with a throwaway uid) every process of that uid, which
    also catches children that escaped the group with setsid."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if uid is None:
        return
    for _ in range(200):
        pids = _live_pids_of(uid)
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        time.sleep(0.005)


def _live_pids_of(uid: int) -> list[int]:
    """Pids owned by ``uid`` that are not zombies (zombies are harmless and unkillable)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status", encoding="ascii", errors="replace") as fh:
                status = fh.read()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if fields.get("Uid", "").split()[:1] == [str(uid)] and "Z" not in fields.get("State", ""):
            pids.append(int(entry))
    return pids


def _read_available(fd: int) -> str:
    """What the child wrote on the control pipe, without waiting for stray writers."""
    os.set_blocking(fd, False)
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode("utf-8", errors="replace")


def _tail(fh: IO[bytes]) -> str:
    fh.seek(0, os.SEEK_END)
    fh.seek(max(0, fh.tell() - _TAIL))
    return fh.read().decode("utf-8", errors="replace")


def _classify(rc: int | None, timed_out: bool, ctl: str, nonce: str, wall_ms: float,
              stdout: str, stderr: str) -> SandboxResult:
    """Turn exit status + control-pipe lines into a result (see SandboxResult.reason)."""
    lines = ctl.splitlines()
    layers = tuple(json.loads(lines[0])) if lines and lines[0].startswith("[") else ()
    last = lines[-1] if lines else ""

    def result(passed: bool, reason: str, error: str | None, err_text: str = stderr
               ) -> SandboxResult:
        return SandboxResult(passed, reason, error, err_text, stdout, rc, wall_ms, layers)

    if timed_out:
        return result(False, "timeout", "WallTimeout")
    if rc == 0 and last == f"ok {nonce}":
        return result(True, "ok", None)
    if last.startswith("exc "):
        error = last[4:].strip()
        return result(False, "crash" if error == "MemoryError" else "failed", error)
    if last.startswith("setup "):
        return result(False, "crash", "SandboxSetupError", last + "\n" + stderr)
    if rc == -signal.SIGXCPU:
        return result(False, "timeout", "CpuLimit")
    return result(False, "crash", f"Signal{-rc}" if rc is not None and rc < 0 else "EarlyExit")
