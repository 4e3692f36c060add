"""Grade model-written code with unit tests, in a way the code cannot influence.

Two rules shape this module. First, confinement comes from the kernel, outside the
interpreter: every program runs in a bubblewrap sandbox (``_bwrap.py``) with a read-only
view of just the interpreter and its standard library, a private size-limited tmpfs, no
network, no view of the parent's files, environment or processes, limits on CPU time,
memory, file size and processes, and a pid namespace whose teardown kills every process
the program started (``setsid`` and double forks included). A sandbox that cannot be
built is an error (``SandboxUnavailable``, naming the package to install), never a
silent fallback to something weaker.

Second, the verdict is not the candidate's to give. Anything inside the candidate's
process can be forged (a success token, an exit status, a patched ``AssertionError``,
``__eq__`` or test harness), so the tests do not run there. ``check_program`` starts two
sandboxes: the *candidate* sandbox loads the model's code and only answers calls to its
function; the *checker* sandbox loads the benchmark's prompt and tests and runs
``check`` with a stand-in that forwards each call over a pipe and gets back plain data
(tagged JSON that decodes only to built-in types, see ``_sandbox_runner.py``). The
comparisons happen in the checker, with built-ins the candidate never touched, and the
checker writes its verdict on a pipe only it holds. The two sandboxes share no
namespace, file or uid, so the candidate cannot see, signal or trace the checker. It can
only send data: it passes by returning the right values, like a correct solution.

``run_program`` runs one program in one sandbox; its ``passed`` is the program's own
claim that it ran to its end, so use it to run code, and ``check_program`` /
``check_humaneval`` to grade it. The parent never executes candidate code and is safe to
call from any thread.
"""

from __future__ import annotations

import json
import os
import secrets
import tempfile
import threading
import time
from dataclasses import dataclass
from typing import IO, Any

from workbench.grading._bwrap import (
    BWRAP_PACKAGE,
    SECCOMP_FILTER,
    Sandbox,
    SandboxUnavailable,
    destroy,
    python_view,
    start,
)
from workbench.grading.humaneval_program import candidate_source, tests_source

__all__ = ["BWRAP_PACKAGE", "DEFAULT_LIMITS", "UID_RANGE", "SandboxLimits", "SandboxResult",
           "SandboxUnavailable", "check_humaneval", "check_program", "run_program"]

_TAIL = 2000
_SIGXCPU, _SIGKILL = 24, 9
UID_RANGE = range(1_100_000, 1_900_000)
"""Throwaway uids for sandboxed programs (when the grader runs as root); no account uses them."""


@dataclass(frozen=True)
class SandboxLimits:
    """What one sandboxed program may use. Defaults suit HumanEval-sized tests.

    ``wall_s`` bounds the whole grade; the other limits apply to each sandbox process
    (``max_procs`` counts processes and threads of the sandbox, ``tmpfs_mb`` its /tmp).
    """

    wall_s: float = 10.0
    cpu_s: int = 10
    memory_mb: int = 1024
    max_procs: int = 16
    file_mb: int = 16
    nofile: int = 64
    tmpfs_mb: int = 64


@dataclass(frozen=True)
class SandboxResult:
    """The outcome of one run. ``reason``: ok | failed (a test failed, or the code raised
    or did not load) | timeout (wall clock or CPU limit) | crash (killed, out of memory,
    exited or broke the channel mid-test)."""

    passed: bool
    reason: str
    error_type: str | None = None
    stderr_tail: str = ""
    stdout_tail: str = ""
    returncode: int | None = None
    wall_ms: float = 0.0
    layers: tuple[str, ...] = ()
    uid: int | None = None  # the throwaway uid the candidate ran as, if any


DEFAULT_LIMITS = SandboxLimits()
_PROBE_LOCK = threading.Lock()
_probed = False


def check_humaneval(prompt: str, completion: str, test: str, entry_point: str,
                    limits: SandboxLimits = DEFAULT_LIMITS) -> SandboxResult:
    """Grade one HumanEval completion (whole function or body only) with its tests."""
    return check_program(candidate_source(prompt, completion, entry_point),
                         tests_source(prompt, test), entry_point, limits)


def check_program(source: str, tests: str, entry_point: str,
                  limits: SandboxLimits = DEFAULT_LIMITS) -> SandboxResult:
    """Run ``check(entry_point)`` from ``tests`` against the function ``source`` defines.

    ``source`` is untrusted; ``tests`` is trusted benchmark code defining ``check``. The
    function's arguments and results must be plain built-in data (as in HumanEval/MBPP).
    """
    _ensure_sandbox_works()
    privileged = os.geteuid() == 0
    uid_c, uid_k = _throwaway_uids(2) if privileged else (None, None)
    req_r, req_w = os.pipe()
    resp_r, resp_w = os.pipe()
    verdict_r, verdict_w = os.pipe()
    cand_cfg = {"role": "candidate", "uid": uid_c, "req_fd": req_r, "resp_fd": resp_w,
                "job": {"source": source, "entry_point": entry_point}}
    chk_cfg = {"role": "checker", "uid": uid_k, "req_fd": req_w, "resp_fd": resp_r,
               "verdict_fd": verdict_w, "job": {"source": tests, "entry_point": entry_point}}
    with _Files(4) as (c_out, c_err, k_out, k_err):
        started = time.perf_counter()
        boxes: list[Sandbox] = []
        try:
            boxes.append(_start(cand_cfg, limits, privileged, c_out, c_err, (req_r, resp_w)))
            boxes.append(_start(chk_cfg, limits, privileged, k_out, k_err,
                                (req_w, resp_r, verdict_w)))
        except BaseException:
            for box in boxes:  # the candidate must not outlive a checker that never started
                destroy(box)
            os.close(verdict_r)
            raise
        finally:
            for fd in (req_r, req_w, resp_r, resp_w, verdict_w):
                os.close(fd)  # the sandboxes hold their own copies; EOF must reach them
        try:
            timed_out = _wait(boxes[1], limits.wall_s)
            cand_exited = not _wait(boxes[0], 0 if timed_out else 0.5)
            wall_ms = (time.perf_counter() - started) * 1000
        finally:
            rcs = [destroy(box) for box in boxes]
            verdict = _read_verdict(verdict_r)
        cand_rc = rcs[0] if cand_exited else None
        k_err_text = _tail(k_err)
        if verdict is None and not timed_out and k_err_text.startswith("bwrap:"):
            raise SandboxUnavailable(f"the checker sandbox did not start: {k_err_text}")
        stderr = _tail(c_err) + (f"\n[tests] {k_err_text}" if k_err_text.strip() else "")
        reason, error = _classify_check(timed_out, verdict, rcs[1], cand_rc)
        return SandboxResult(reason == "ok", reason, error, stderr[-_TAIL:], _tail(c_out),
                             cand_rc, wall_ms, _layers(privileged, split=True), uid_c)


def run_program(program: str, limits: SandboxLimits = DEFAULT_LIMITS) -> SandboxResult:
    """Run ``program`` (Python source) in one sandbox; ``passed`` if it ran to its end.

    The isolation holds as in ``check_program``, but the "ran to its end" signal comes
    from the program's own process, which can forge it: never use this to grade.
    """
    _ensure_sandbox_works()
    return _run_single(program, limits)


def _run_single(program: str, limits: SandboxLimits) -> SandboxResult:
    privileged = os.geteuid() == 0
    uid = _throwaway_uids(1)[0] if privileged else None
    verdict_r, verdict_w = os.pipe()
    cfg = {"role": "program", "uid": uid, "verdict_fd": verdict_w, "job": {"source": program}}
    with _Files(2) as (out, err):
        started = time.perf_counter()
        try:
            box = _start(cfg, limits, privileged, out, err, (verdict_w,))
        except BaseException:
            os.close(verdict_r)
            raise
        finally:
            os.close(verdict_w)
        try:
            timed_out = _wait(box, limits.wall_s)
            wall_ms = (time.perf_counter() - started) * 1000
        finally:
            rc = destroy(box)
            verdict = _read_verdict(verdict_r)
        err_text = _tail(err)
        reason, error = _classify_single(timed_out, verdict, rc)
        return SandboxResult(reason == "ok", reason, error, err_text, _tail(out), rc,
                             wall_ms, _layers(privileged, split=False), uid)


def _ensure_sandbox_works() -> None:
    """Once per process: start one sandbox, so a machine where bubblewrap cannot work
    (missing, user namespaces disabled, no /proc) fails loudly with its own message."""
    global _probed
    with _PROBE_LOCK:
        if _probed:
            return
        probe = _run_single("import fractions, hashlib, json\nassert fractions.Fraction(1, 2)\n",
                            SandboxLimits(wall_s=30))
        if not probe.passed:
            raise SandboxUnavailable(
                f"the `{BWRAP_PACKAGE}` sandbox does not work here ({probe.reason}, "
                f"{probe.error_type}): {probe.stderr_tail.strip()[-600:]}")
        _probed = True


def _throwaway_uids(n: int) -> list[int]:
    """Distinct random uids (OS randomness: two graders must not pick the same one)."""
    picked: set[int] = set()
    while len(picked) < n:
        picked.add(UID_RANGE[secrets.randbelow(len(UID_RANGE))])
    return sorted(picked)


def _start(cfg: dict[str, Any], limits: SandboxLimits, privileged: bool, out: IO[bytes],
           err: IO[bytes], fds: tuple[int, ...]) -> Sandbox:
    config = {**cfg, "memory_mb": limits.memory_mb, "cpu_s": limits.cpu_s,
              "file_mb": limits.file_mb, "nofile": limits.nofile,
              "nproc": limits.max_procs + 1}  # + the namespace's init (user-namespace mode)
    with tempfile.TemporaryFile() as stdin:
        stdin.write(json.dumps(config).encode())
        stdin.seek(0)
        return start(python_view(), privileged=privileged, tmpfs_mb=limits.tmpfs_mb,
                     stdin=stdin, stdout=out, stderr=err, fds=fds)


def _wait(box: Sandbox, timeout: float) -> bool:
    """Wait up to ``timeout`` s for the sandbox to exit; True if it is still running."""
    try:
        box.proc.wait(timeout=max(timeout, 0.0))
    except Exception:  # noqa: BLE001 - subprocess.TimeoutExpired
        return True
    return False


class _Files:
    """``n`` anonymous temporary files for the sandboxes' stdout and stderr."""

    def __init__(self, n: int) -> None:
        self._files: list[IO[bytes]] = [tempfile.TemporaryFile() for _ in range(n)]

    def __enter__(self) -> list[IO[bytes]]:
        return self._files

    def __exit__(self, *exc: object) -> None:
        for fh in self._files:
            fh.close()


def _read_verdict(fd: int) -> dict[str, Any] | None:
    """The verdict frame, if its writer (already dead by now) sent a whole one."""
    os.set_blocking(fd, False)
    chunks: list[bytes] = []
    try:
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
    except BlockingIOError:
        pass
    finally:
        os.close(fd)
    data = b"".join(chunks)
    size = int.from_bytes(data[:4], "big")
    try:
        verdict = json.loads(data[4:4 + size]) if len(data) >= 4 + size > 4 else None
    except ValueError:
        return None
    return verdict if isinstance(verdict, dict) else None


def _tail(fh: IO[bytes]) -> str:
    fh.seek(0, os.SEEK_END)
    fh.seek(max(0, fh.tell() - _TAIL))
    return fh.read().decode("utf-8", errors="replace")


def _layers(privileged: bool, split: bool) -> tuple[str, ...]:
    base = ["bwrap", "mountns", "pidns", "netns", "ipcns", "rlimits",
            "uid" if privileged else "userns"] + (["seccomp"] if SECCOMP_FILTER else [])
    return tuple(base + (["split-verdict"] if split else []))


def _died_of(rc: int | None) -> tuple[str, str]:
    """Reason and error for a sandbox that ended on its own with status ``rc``."""
    if rc == 128 + _SIGXCPU:
        return "timeout", "CpuLimit"
    if rc is not None and rc > 128:
        return "crash", f"Signal{rc - 128}"
    return "crash", "EarlyExit" if rc is not None else "ProtocolError"


def _classify_check(timed_out: bool, verdict: dict[str, Any] | None, checker_rc: int | None,
                    cand_rc: int | None) -> tuple[str, str | None]:
    """Reason and error type of a ``check_program`` run: only the checker's verdict can
    say "ok"; the candidate's exit status only explains a failure."""
    if timed_out:
        return "timeout", "WallTimeout"
    if verdict is None:
        reason, error = _died_of(checker_rc)
        return reason, "Checker" + error
    if verdict.get("verdict") == "pass" and checker_rc == 0:
        return "ok", None
    error = str(verdict.get("error") or "Failed")[:80]
    if verdict.get("gone"):
        return _died_of(cand_rc)
    return ("crash" if error == "MemoryError" else "failed"), error


def _classify_single(timed_out: bool, verdict: dict[str, Any] | None,
                     rc: int | None) -> tuple[str, str | None]:
    if timed_out:
        return "timeout", "WallTimeout"
    if verdict is None:
        return _died_of(rc)
    if verdict.get("verdict") == "pass" and rc == 0:
        return "ok", None
    error = str(verdict.get("error") or "Failed")[:80]
    return ("crash" if error == "MemoryError" else "failed"), error

