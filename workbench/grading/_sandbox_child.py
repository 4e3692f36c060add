"""Child side of the code sandbox: confine this process, then run the candidate program.

Run as ``python -I -B _sandbox_child.py CONFIG_JSON`` by :mod:`workbench.grading.code`, with
the program and a nonce as JSON on stdin. Standard library only, because it runs before
anything else is trusted. The layers, each applied when the machine allows it:

1. a new, empty network namespace (no interfaces but a down loopback),
2. resource limits (address space, CPU seconds, file size, open files, processes, no core),
3. a fresh unprivileged uid when started as root (so RLIMIT_NPROC applies and nothing
   outside the scratch directory is writable); it keeps only CAP_DAC_READ_SEARCH so the
   interpreter's own files under a private home stay importable, plus no_new_privs,
4. an audit hook, which cannot be removed once installed, that refuses sockets, process
   creation, signals, ctypes and any write outside the scratch directory.

Status goes to the control fd: line 1 the layers applied, then ``ok NONCE`` when the
program ran to the end, or ``exc TYPE`` when it raised. Exiting early (``os._exit``) leaves
no ``ok`` line, so it cannot pass for success.
"""

import ctypes
import json
import os
import resource
import sys
import traceback

CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
PR_SET_KEEPCAPS = 8
PR_SET_NO_NEW_PRIVS = 38
CAP_DAC_READ_SEARCH = 2
_LIBC = ctypes.CDLL(None, use_errno=True)

_BLOCKED = frozenset({
    "socket.__new__", "socket.bind", "socket.connect", "socket.getaddrinfo",
    "socket.sendto", "socket.sendmsg", "os.system", "os.exec", "os.posix_spawn",
    "os.spawn", "os.fork", "os.forkpty", "subprocess.Popen", "os.kill", "os.killpg",
    "pty.spawn", "ctypes.dlopen", "ctypes.dlsym", "ctypes.call_function", "ctypes.cdata",
    "ctypes.addressof", "ctypes.string_at", "ctypes.wstring_at",
})
_PATH_EVENTS = frozenset({
    "os.remove", "os.rmdir", "os.mkdir", "os.chmod", "os.chown", "os.truncate",
    "os.utime", "os.mkfifo", "os.mknod", "os.chflags", "os.setxattr", "os.removexattr",
})
_TWO_PATH_EVENTS = frozenset({"os.rename", "os.link", "os.symlink"})
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


def _unshare_network() -> str | None:
    if _LIBC.unshare(CLONE_NEWNET) == 0:
        return "netns"
    if os.geteuid() != 0 and _LIBC.unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0:
        return "userns+netns"
    return None


def _count_own_processes() -> int:
    uid, n = os.getuid(), 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                n += os.stat(f"/proc/{entry}").st_uid == uid
            except OSError:
                pass
    return n


def _set_limits(cfg: dict) -> None:
    mem = cfg["memory_mb"] * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
    resource.setrlimit(resource.RLIMIT_CPU, (cfg["cpu_s"], cfg["cpu_s"] + 1))
    fsize = cfg["file_mb"] * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    resource.setrlimit(resource.RLIMIT_NOFILE, (cfg["nofile"], cfg["nofile"]))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    nproc = cfg["max_procs"]
    if cfg["uid"] is None and os.geteuid() != 0:
        nproc += _count_own_processes()
    resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def _drop_privileges(uid: int) -> None:
    """setresuid to ``uid``, keeping only CAP_DAC_READ_SEARCH (read/search anywhere)."""
    if _LIBC.prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_KEEPCAPS)")
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    header = _CapHeader(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3
    data = (_CapData * 2)()
    data[0].effective = data[0].permitted = 1 << CAP_DAC_READ_SEARCH
    if _LIBC.capset(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capset")
    _LIBC.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)


def _install_guard(root: str) -> None:
    """An audit hook: Python offers no way to remove it once added."""
    prefix = root + os.sep
    realpath, fsdecode = os.path.realpath, os.fsdecode

    def inside(path: object) -> bool:
        if isinstance(path, int):
            return True
        try:
            p = realpath(fsdecode(path))  # type: ignore[arg-type]
        except Exception:
            return False
        return p == root or p.startswith(prefix)

    def hook(event: str, args: tuple) -> None:
        if event == "open":
            path, mode, flags = args
            writing = (mode is not None and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & _WRITE_FLAGS)
            if writing and not inside(path):
                raise PermissionError(f"sandbox: writing outside the scratch dir: {path}")
        elif event in _BLOCKED:
            raise PermissionError(f"sandbox: {event} is not allowed")
        elif event in _PATH_EVENTS and args and not inside(args[0]):
            raise PermissionError(f"sandbox: {event} outside the scratch dir")
        elif event in _TWO_PATH_EVENTS and not (inside(args[0]) and inside(args[1])):
            raise PermissionError(f"sandbox: {event} outside the scratch dir")

    sys.addaudithook(hook)


def _confine(cfg: dict) -> list[str]:
    layers: list[str] = []
    if cfg["netns"] and (net := _unshare_network()):
        layers.append(net)
    _set_limits(cfg)
    layers.append("rlimits")
    if cfg["uid"] is not None:
        _drop_privileges(cfg["uid"])
        layers.append("uid")
    os.chdir(cfg["cwd"])
    if cfg["audit"]:
        _install_guard(os.path.realpath(cfg["cwd"]))
        layers.append("audit")
    return layers


def main() -> None:
    cfg = json.loads(sys.argv[1])
    payload = json.loads(sys.stdin.read())
    sys.stdin.close()
    sys.stdin = open(os.devnull)  # noqa: SIM115 - the candidate may call input()
    ctl = cfg["ctl_fd"]
    try:
        layers = _confine(cfg)
    except Exception as exc:  # refuse to run unconfined when a requested layer failed
        os.write(ctl, f"setup {type(exc).__name__}: {exc}\n".encode())
        os._exit(3)
    os.write(ctl, (json.dumps(layers) + "\n").encode())
    nonce = payload.pop("nonce")
    try:
        code = compile(payload.pop("code"), "<candidate>", "exec")
        exec(code, {"__name__": "__main__", "__builtins__": __builtins__})
    except BaseException as exc:  # noqa: BLE001 - every failure of the candidate is a result
        os.write(ctl, f"exc {type(exc).__name__}\n".encode())
        try:
            traceback.print_exc()
            sys.stderr.flush()
        except BaseException:  # noqa: BLE001
            pass
        os._exit(1)
    os.write(ctl, f"ok {nonce}\n".encode())
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:  # noqa: BLE001
        pass
    os._exit(0)


if __name__ == "__main__":
    main()
