"""What runs inside each bubblewrap sandbox of the code grader (standard library only).

The parent passes this file's text with ``python -I -S -B -c`` and a JSON config on stdin.
Before anything untrusted runs, it sets the resource limits and (when the sandbox was
started by root) drops to the throwaway uid it was given, then plays one of three roles:

- ``candidate``: load the model's code and answer calls to its function over two pipes
  (requests in, results out). Everything it sends is treated as untrusted data.
- ``checker``: load the benchmark's prompt and tests, hand ``check`` a stand-in for the
  candidate function that forwards each call over the pipes, and write the verdict to a
  pipe only this process holds. It runs in a different sandbox (own pid, mount, ipc and
  network namespaces, own uid as root), so the candidate can neither see nor touch it.
- ``program``: run one program and report whether it finished (``run_program``): that
  report comes from the program's own process, so it isolates but cannot grade.

Wire format: 4-byte big-endian length, then JSON. Values are tagged so that only plain
built-in data crosses (see ``encode``/``decode``): an object with a doctored ``__eq__``
cannot, and the checker compares what it receives with its own, untouched built-ins.
"""

import builtins
import json
import os
import resource
import sys

MAX_FRAME = 32 * 1024 * 1024
_ERR_CHARS = 500


def _set_limits(cfg):
    mem = cfg["memory_mb"] * 1024 * 1024
    fsize = cfg["file_mb"] * 1024 * 1024
    for res, value in ((resource.RLIMIT_AS, mem), (resource.RLIMIT_FSIZE, fsize),
                       (resource.RLIMIT_NOFILE, cfg["nofile"]), (resource.RLIMIT_CORE, 0),
                       (resource.RLIMIT_NPROC, cfg["nproc"])):
        resource.setrlimit(res, (value, value))
    resource.setrlimit(resource.RLIMIT_CPU, (cfg["cpu_s"], cfg["cpu_s"] + 1))


def _drop_uid(uid):
    """setres[ug]id to a throwaway id; the kernel then clears every capability."""
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    with open("/proc/self/status") as fh:
        status = fh.read()
    cap_eff = status.split("CapEff:")[1].split()[0]
    if os.getresuid() != (uid, uid, uid) or int(cap_eff, 16) != 0:
        raise OSError("the uid drop left privileges behind")


def _write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def send(fd, obj):
    data = json.dumps(obj, separators=(",", ":")).encode()
    _write_all(fd, len(data).to_bytes(4, "big") + data)


def _read_exact(fd, n):
    chunks, left = [], n
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise EOFError("the other side closed the channel")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def recv(fd):
    size = int.from_bytes(_read_exact(fd, 4), "big")
    if size > MAX_FRAME:
        raise ValueError(f"frame of {size} bytes is over the limit")
    return json.loads(_read_exact(fd, size))


def encode(value):
    """Plain built-in data as tagged JSON; anything else is refused (TypeError)."""
    if value is None or isinstance(value, bool):
        return ["v", value]
    if isinstance(value, int):
        return ["i", hex(int(value))]  # hex: no limit on the number of digits
    if isinstance(value, float):
        return ["f", repr(float(value))]
    if isinstance(value, complex):
        return ["c", repr(value.real), repr(value.imag)]
    if isinstance(value, str):
        return ["s", str.__str__(value)]
    if isinstance(value, (bytes, bytearray)):
        return ["y", bytes(value).hex()]
    for kind, tag in ((tuple, "t"), (list, "l"), (frozenset, "F"), (set, "S")):
        if isinstance(value, kind):
            return [tag, [encode(v) for v in value]]
    if isinstance(value, dict):
        return ["d", [[encode(k), encode(v)] for k, v in value.items()]]
    if isinstance(value, range):
        return ["r", hex(value.start), hex(value.stop), hex(value.step)]
    if hasattr(type(value), "__next__"):  # a generator or map object: its items, as an
        return ["it", [encode(v) for v in value]]  # iterator again on the other side
    raise TypeError(f"a {type(value).__name__} cannot cross the sandbox boundary "
                    "(only None, bool, int, float, complex, str, bytes, tuple, list, "
                    "set, frozenset, dict, range and iterators of these)")


_SEQUENCES = {"t": tuple, "l": list, "F": frozenset, "S": set}
_SCALARS = {"i": lambda text: int(text, 16), "f": float, "s": str, "y": bytes.fromhex}


def decode(node):
    """Inverse of ``encode``, strict: only built-in types come out, bad input raises."""
    tag = node[0]
    if tag == "v" and (node[1] is None or type(node[1]) is bool):
        return node[1]
    if tag in _SCALARS and type(node[1]) is str:
        return _SCALARS[tag](node[1])
    if tag == "c" and type(node[1]) is str and type(node[2]) is str:
        return complex(float(node[1]), float(node[2]))
    if tag in _SEQUENCES and type(node[1]) is list:
        return _SEQUENCES[tag](decode(v) for v in node[1])
    if tag == "d" and type(node[1]) is list:
        return {decode(k): decode(v) for k, v in node[1]}
    if tag == "r" and len(node) == 4 and all(type(v) is str for v in node[1:]):
        return range(*(int(v, 16) for v in node[1:]))
    if tag == "it" and type(node[1]) is list:
        return iter([decode(v) for v in node[1]])
    raise ValueError(f"malformed value from the sandbox: tag {tag!r}")


def _describe(exc):
    return [type(exc).__name__, str(exc)[:_ERR_CHARS]]


def _flush():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:  # noqa: BLE001 - the candidate may have replaced or closed it
            pass


def _print_traceback():
    _flush()
    try:
        import traceback  # only on the error path: it costs start-up time otherwise

        traceback.print_exc(limit=20)
        sys.stderr.flush()
    except BaseException:  # noqa: BLE001 - a broken stderr must not change the outcome
        pass


def run_candidate(cfg, job):
    """Load the candidate's module, then answer calls until the checker hangs up."""
    req, resp = cfg["req_fd"], cfg["resp_fd"]
    namespace = {"__name__": "__candidate__", "__builtins__": builtins}
    try:
        exec(compile(job["source"], "<candidate>", "exec"), namespace)
        function = namespace[job["entry_point"]]
        if not callable(function):
            raise TypeError(f"{job['entry_point']} is not a function")
    except BaseException as exc:  # noqa: BLE001 - reported to the checker as a failure
        _print_traceback()
        send(resp, ["load_error", *_describe(exc)])
        os._exit(1)
    send(resp, ["ready"])
    while True:
        try:
            call = recv(req)
        except EOFError:
            _flush()
            os._exit(0)
        try:
            args, kwargs = decode(call[0]), decode(call[1])
            reply = ["ok", encode(function(*args, **kwargs))]
        except BaseException as exc:  # noqa: BLE001 - every failure is the candidate's
            _print_traceback()
            reply = ["raised", *_describe(exc)]
        send(resp, reply)


class CandidateGone(BaseException):
    """The candidate's channel broke (it exited, crashed or sent garbage). A BaseException
    so that a test's ``except Exception`` cannot swallow it; the verdict is failed anyway."""


def _exception_for(name, message):
    """The built-in exception the candidate raised, or RuntimeError. Never StopIteration
    (it would end a loop over ``map(candidate, ...)`` early and skip its checks) and never
    a BaseException-only class such as SystemExit."""
    cls = getattr(builtins, name, None)
    if (isinstance(cls, type) and issubclass(cls, Exception)
            and not issubclass(cls, (StopIteration, StopAsyncIteration))):
        return cls(message)
    return RuntimeError(f"candidate raised {name}: {message}")


class RemoteCandidate:
    """Stands in for the candidate function inside the checker: each call is forwarded."""

    def __init__(self, name, req, resp):
        self.__name__ = name
        self._req, self._resp = req, resp
        self.broken = None

    def __call__(self, *args, **kwargs):
        if self.broken:
            raise CandidateGone(self.broken)
        payload = [encode(list(args)), encode(dict(kwargs))]  # TypeError: harness limit
        try:
            send(self._req, payload)
            reply = recv(self._resp)
            if reply[0] == "ok":
                return decode(reply[1])
            if reply[0] == "raised":
                error = _exception_for(str(reply[1]), str(reply[2]))
            else:
                raise ValueError(f"unexpected reply {str(reply[0])[:40]!r}")
        except (OSError, EOFError, ValueError, TypeError, IndexError, KeyError,
                RecursionError, MemoryError, OverflowError) as exc:
            self.broken = f"{type(exc).__name__}: {str(exc)[:_ERR_CHARS]}"
            raise CandidateGone(self.broken) from None
        raise error


def _handshake(resp):
    """The candidate's first message: ``ready`` or why its module failed to load."""
    try:
        hello = recv(resp)
    except (OSError, EOFError, ValueError) as exc:
        return {"verdict": "fail", "error": "CandidateGone", "gone": True,
                "detail": f"no handshake: {exc}"}
    if hello == ["ready"]:
        return None
    if isinstance(hello, list) and len(hello) == 3 and hello[0] == "load_error":
        return {"verdict": "fail", "error": str(hello[1])[:80], "gone": False,
                "detail": str(hello[2])[:_ERR_CHARS]}
    return {"verdict": "fail", "error": "CandidateGone", "gone": True,
            "detail": "malformed handshake"}


def run_checker(cfg, job):
    """Run the benchmark's ``check`` against the remote candidate; write the verdict."""
    namespace = {"__name__": "__checker__", "__builtins__": builtins}
    try:
        exec(compile(job["source"], "<tests>", "exec"), namespace)  # trusted benchmark code
        check = namespace["check"]
    except BaseException as exc:  # noqa: BLE001 - a broken test file fails every candidate
        _print_traceback()
        send(cfg["verdict_fd"], {"verdict": "fail", "error": "TestSetupError",
                                 "detail": ": ".join(_describe(exc))})
        return
    remote = RemoteCandidate(job["entry_point"], cfg["req_fd"], cfg["resp_fd"])
    namespace[job["entry_point"]] = remote  # tests may call it by name (HumanEval/33)
    verdict = _handshake(cfg["resp_fd"])
    if verdict is None:
        try:
            check(remote)
            if remote.broken:
                raise CandidateGone(remote.broken)
            verdict = {"verdict": "pass"}
        except BaseException as exc:  # noqa: BLE001 - every way out but the end is a fail
            _print_traceback()
            verdict = {"verdict": "fail", "error": type(exc).__name__,
                       "gone": isinstance(exc, CandidateGone),
                       "detail": str(exc)[:_ERR_CHARS]}
    send(cfg["verdict_fd"], verdict)


def run_program(cfg, job):
    """Run a whole program; the status line is the program's own claim (see module doc)."""
    try:
        exec(compile(job["source"], "<program>", "exec"),
             {"__name__": "__main__", "__builtins__": builtins})
    except BaseException as exc:  # noqa: BLE001
        _print_traceback()
        send(cfg["verdict_fd"], {"verdict": "fail", "error": type(exc).__name__})
        os._exit(1)
    send(cfg["verdict_fd"], {"verdict": "pass"})


def main():
    cfg = json.loads(sys.stdin.read())
    job = cfg.pop("job")
    sys.stdin.close()
    sys.stdin = open(os.devnull)  # noqa: SIM115 - the candidate may call input()
    try:
        _set_limits(cfg)
        if cfg.get("uid") is not None:
            _drop_uid(cfg["uid"])
    except BaseException as exc:  # noqa: BLE001 - refuse to run anything unconfined
        sys.stderr.write(f"sandbox setup failed: {type(exc).__name__}: {exc}\n")
        os._exit(3)
    role = {"candidate": run_candidate, "checker": run_checker, "program": run_program}
    role[cfg["role"]](cfg, job)
    _flush()
    os._exit(0)


if __name__ == "__main__":
    main()
