"""Bubblewrap sandboxes for the code grader: the command line, and a teardown that leaves
no process of the candidate alive.

Why bubblewrap: confinement must come from the kernel, outside the interpreter that runs
the candidate; an audit hook or any other check inside that interpreter can be undone by
the code it watches. bubblewrap (Debian package ``bubblewrap``) is small, well kept, and
works both for root and for an unprivileged user.

Each sandbox sees a read-only view of just the interpreter, its standard library and the
shared libraries they load (site-packages hidden), a private size-limited tmpfs as /tmp, a
fresh /proc for its own pid namespace, a minimal /dev, and no network (a new network
namespace with only ``lo``). The environment is cleared. Root starts bubblewrap in its
privileged mode and the runner drops to a throwaway uid before any untrusted code runs (so
the per-uid process limit counts only that sandbox); anyone else gets a user namespace
with further user namespaces disabled.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from workbench.errors import WorkbenchError
from workbench.grading._seccomp import filter_program

BWRAP_PACKAGE = "bubblewrap"
BWRAP_SEARCH_PATH = "/usr/bin:/bin:/usr/local/bin"  # also searched when PATH is bare
RUNNER_SOURCE = Path(__file__).with_name("_sandbox_runner.py").read_text(encoding="utf-8")
SECCOMP_FILTER = filter_program()
_LIB_DIRS = ("/lib", "/lib64", "/lib32", "/usr/lib", "/usr/lib64", "/usr/lib32")
# Extension modules that are useless without a terminal, display or the CPython test
# suite: their libraries (X11, Tk, curses) are not worth a bind mount in every sandbox.
_SKIP_MODULES = re.compile(r"(_tkinter|_curses|_curses_panel|readline|_test|_xx|xx|"
                           r"ossaudiodev|nis|_ctypes_test)")
_ENV = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "TMPDIR": "/tmp", "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8", "PYTHONIOENCODING": "utf-8"}


class SandboxUnavailable(WorkbenchError):
    """The OS sandbox cannot be used here; code is never run without it (fail closed)."""


@dataclass(frozen=True)
class PythonView:
    """What of the host's Python the sandbox sees, all read-only at the same paths."""

    executable: str
    binds: tuple[str, ...]
    masks: tuple[str, ...]  # directories inside a bind hidden under an empty tmpfs


_VIEW_LOCK = threading.Lock()
_view: PythonView | None = None


def bwrap_path() -> str:
    """The bwrap executable, or a clear error naming the package to install."""
    search = os.pathsep.join(p for p in (os.environ.get("PATH", ""), BWRAP_SEARCH_PATH) if p)
    found = shutil.which("bwrap", path=search)
    if found is None:
        raise SandboxUnavailable(
            "grading code needs bubblewrap (the `bwrap` command), which is not installed: "
            f"install the `{BWRAP_PACKAGE}` package (Debian/Ubuntu: "
            f"`apt-get install {BWRAP_PACKAGE}`). Code is never run without the sandbox.")
    return found


def python_view() -> PythonView:
    """Computed once per process: the base interpreter, stdlib and their libraries."""
    global _view
    with _VIEW_LOCK:
        if _view is None:
            _view = _compute_view()
        return _view


def _inside(path: str, parent: str) -> bool:
    return path == parent or path.startswith(parent.rstrip("/") + "/")


def _compute_view() -> PythonView:
    exe = os.path.realpath(getattr(sys, "_base_executable", "") or sys.executable)
    base = {"base": sys.base_prefix, "platbase": sys.base_exec_prefix,
            "installed_base": sys.base_prefix, "installed_platbase": sys.base_exec_prefix}
    paths = sysconfig.get_paths(vars=base)  # the base interpreter's, not a venv's
    dirs = {os.path.realpath(paths[k]) for k in ("stdlib", "platstdlib")}
    dynload = sysconfig.get_config_var("DESTSHARED")
    if dynload and os.path.isdir(dynload):
        dirs.add(os.path.realpath(dynload))
    dirs = {d for d in dirs if not any(d != o and _inside(d, o) for o in dirs)}
    modules = sorted(str(p) for p in Path(dynload).glob("*.so")
                     if not _SKIP_MODULES.match(p.name)) if dynload else []
    libs = _shared_libraries([exe, *modules])
    extra = [p for p in ("/etc/ld.so.cache",) if os.path.exists(p)]
    binds = tuple(dict.fromkeys([exe, *sorted(dirs), *libs, *extra]))
    site_dirs = {os.path.realpath(paths[k]) for k in ("purelib", "platlib")}
    masks = tuple(sorted(s for s in site_dirs if os.path.isdir(s)
                         and any(_inside(s, d) for d in dirs)))
    return PythonView(exe, binds, masks)


def _shared_libraries(files: list[str]) -> list[str]:
    """Every shared library ``files`` load (ldd), or the system library dirs without ldd."""
    ldd = shutil.which("ldd")
    out = ""
    if ldd:
        try:
            out = subprocess.run([ldd, *files], capture_output=True, text=True,
                                 timeout=60, env={"PATH": "/usr/bin:/bin"}).stdout
        except (OSError, subprocess.TimeoutExpired):
            out = ""
    libs = re.findall(r"(?:=>\s*|^\s+)(/\S+)\s+\(0x", out, re.MULTILINE)
    if not libs:
        return [d for d in _LIB_DIRS if os.path.isdir(d) and not os.path.islink(d)]
    return sorted({lib for lib in libs if os.path.exists(lib)})


def bwrap_argv(view: PythonView, *, privileged: bool, tmpfs_mb: int, info_fd: int,
               seccomp_fd: int | None = None) -> list[str]:
    """The full command line of one sandbox running the runner under ``view``'s Python."""
    if privileged:  # root: no user namespace; the runner drops to a throwaway uid
        ns = ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
              "--unshare-cgroup-try", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    else:
        ns = ["--unshare-all", "--unshare-user", "--disable-userns"]
    argv = [bwrap_path(), *ns, "--die-with-parent", "--new-session", "--hostname", "sandbox",
            "--clearenv"]
    for key, value in _ENV.items():
        argv += ["--setenv", key, value]
    argv += ["--proc", "/proc", "--dev", "/dev"]
    for scratch in ("/tmp", "/dev/shm"):  # /dev/shm: multiprocessing's semaphores
        argv += ["--size", str(tmpfs_mb * 1024 * 1024), "--tmpfs", scratch,
                 "--chmod", "1777", scratch]
    for parent in _parents(view.binds):  # else bwrap copies /root's 0700 to the sandbox
        argv += ["--perms", "0755", "--dir", parent]
    for path in view.binds:
        argv += ["--ro-bind", path, path]
    for path in view.masks:
        argv += ["--tmpfs", path, "--remount-ro", path]
    if seccomp_fd is not None:
        argv += ["--seccomp", str(seccomp_fd)]
    argv += ["--remount-ro", "/", "--chdir", "/tmp", "--info-fd", str(info_fd), "--",
             view.executable, "-I", "-S", "-B", "-X", "utf8", "-c", RUNNER_SOURCE]
    return argv


def _parents(paths: tuple[str, ...]) -> list[str]:
    """Every directory above ``paths`` that is not itself bound, shallowest first."""
    parents = {str(p) for path in paths for p in Path(path).parents if str(p) != "/"}
    bound = set(paths)
    return sorted((p for p in parents if p not in bound), key=lambda p: (p.count("/"), p))


@dataclass
class Sandbox:
    """One running sandbox: the outer bwrap process and the pipe it reports its pid on."""

    proc: subprocess.Popen[bytes]
    info_r: int

    def ns_init_pid(self) -> int | None:
        """The host pid of the sandbox's pid-namespace init (from bwrap's --info-fd)."""
        os.set_blocking(self.info_r, False)
        try:
            data = os.read(self.info_r, 4096)
        except (BlockingIOError, OSError):
            return None
        match = re.search(rb'"child-pid"\s*:\s*(\d+)', data)
        return int(match.group(1)) if match else None


def start(view: PythonView, *, privileged: bool, tmpfs_mb: int, stdin: IO[bytes],
          stdout: IO[bytes], stderr: IO[bytes], fds: tuple[int, ...]) -> Sandbox:
    """Start one sandbox; ``fds`` are inherited at the same numbers."""
    info_r, info_w = os.pipe()
    own = [info_w]
    seccomp_fd = None
    if SECCOMP_FILTER is not None:  # ~400 bytes: fits in a pipe without a reader
        seccomp_fd, seccomp_w = os.pipe()
        os.write(seccomp_w, SECCOMP_FILTER)
        os.close(seccomp_w)
        own.append(seccomp_fd)
    try:
        argv = bwrap_argv(view, privileged=privileged, tmpfs_mb=tmpfs_mb, info_fd=info_w,
                          seccomp_fd=seccomp_fd)
        proc = subprocess.Popen(argv, stdin=stdin, stdout=stdout, stderr=stderr,
                                pass_fds=(*fds, *own), env=dict(_ENV), cwd="/",
                                start_new_session=True, close_fds=True)
    except BaseException as exc:
        os.close(info_r)
        if isinstance(exc, OSError):
            raise SandboxUnavailable(f"cannot start bubblewrap: {exc}") from exc
        raise
    finally:
        for fd in own:
            os.close(fd)
    return Sandbox(proc, info_r)


def destroy(box: Sandbox) -> int | None:
    """Kill the sandbox and wait until every process in it is gone; its exit status.

    Killing a pid namespace's init makes the kernel kill every other process in it, and
    the init only turns into a zombie after they are all dead: so once the init is gone or
    a zombie, nothing the candidate started (setsid, double fork) survives.
    """
    init = box.ns_init_pid()
    if box.proc.poll() is None:  # not reaped yet, so its pid (and group) are still ours
        if init is not None and _parent_of(init) == box.proc.pid:
            _kill(init)
        try:
            os.killpg(box.proc.pid, signal.SIGKILL)
        except OSError:
            pass
    rc = box.proc.wait()
    os.close(box.info_r)
    if init is not None:
        deadline = time.monotonic() + 5
        while _alive(init) and time.monotonic() < deadline:
            time.sleep(0.002)
    return rc


def _kill(pid: int) -> None:
    """SIGKILL, ignoring a process that is already gone."""
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    return text.rsplit(")", 1)[-1].split()


def _parent_of(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return int(fields[1]) if fields and len(fields) > 1 else None


def _alive(pid: int) -> bool:
    """Still running (a zombie has finished: its namespace is already empty)."""
    fields = _stat_fields(pid)
    return fields is not None and bool(fields) and fields[0] not in ("Z", "X")
