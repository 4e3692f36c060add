"""A fork server for the kill tests: pays litellm's import once, forks a fresh CLI per run.

Why: ``import litellm`` takes 4-8 s on a loaded 2-core machine; thirty ``workbench sweep``
processes would spend minutes importing. This process imports litellm (and nothing that
starts threads: no polars, no DuckDB), then for each line of JSON on stdin (the CLI's
arguments) forks a child that runs ``workbench.cli.main.app(args)`` exactly as
``python -m workbench.cli.main ...`` would. Each child is a real, separate process with
its own DuckDB connection and file lock, so SIGKILL hits a real writer.

Protocol (one child at a time): stdin ``["sweep", "s.toml", "--db", "x.duckdb"]`` ->
stdout ``PID <pid>``, later ``EXIT <pid> <status>`` (negative status: killed by signal).
The child's own output goes to ``<log dir>/<pid>.log`` (the first argument).
"""

from __future__ import annotations

import json
import os
import sys


def _child(args: list[str], log_dir: str) -> None:
    fd = os.open(os.path.join(log_dir, f"{os.getpid()}.log"),
                 os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    code = 0
    try:
        from workbench.cli.main import app

        app(args, prog_name="workbench")
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # a crash in the child must still end the child
        import traceback

        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def main() -> None:
    log_dir = sys.argv[1]
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    from workbench.backends.litellm_adapter import _lib

    _lib()  # the expensive import, shared by every child through fork
    print("READY", flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        args = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _child(args, log_dir)
        print(f"PID {pid}", flush=True)
        _, status = os.waitpid(pid, 0)
        code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        print(f"EXIT {pid} {code}", flush=True)


if __name__ == "__main__":
    main()
