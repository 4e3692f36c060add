"""Time limits and Ctrl-C for user SQL: DuckDB's ``interrupt()`` driven from a waiting thread.

Why a worker thread: while DuckDB runs a statement the calling thread is inside C++ code
with the GIL released, so a Python signal handler (Ctrl-C, a Jupyter kernel interrupt)
cannot run until the statement ends, which for ``count(*) FROM range(1e15)`` is never.
:func:`guarded` therefore runs the statement (and the consumption of its result) on a
worker thread and keeps the calling thread waiting in short, interruptible waits: when the
deadline passes or a ``KeyboardInterrupt`` arrives it calls ``con.interrupt()``, which
cancels the running query at its next check (milliseconds), and reports why.

``interrupt()`` is repeated until the worker has finished: an interrupt that lands
between two statements of the worker (before the query starts) would otherwise be lost.

The counters in :data:`STATS` are for the CI fault table (statements that ran past their
limit and were interrupted, and how long past the limit they took to stop).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import duckdb

from workbench.errors import WorkbenchError

T = TypeVar("T")
POLL_S = 0.05
"""How often the waiting thread wakes (bounds the reaction time to Ctrl-C and deadlines)."""


class SqlTimeout(WorkbenchError):
    """A user statement ran past its time limit and was interrupted (nothing was changed)."""


class SqlInterrupted(WorkbenchError):
    """A user statement was interrupted by Ctrl-C / a kernel interrupt (nothing changed)."""


@dataclass
class GuardStats:
    """What happened to guarded statements in this process (read by the fault table)."""

    statements: int = 0
    timed_out: int = 0
    interrupted: int = 0
    worst_overshoot_s: float = 0.0  # longest time from deadline to the worker stopping


STATS = GuardStats()


def guarded(con: duckdb.DuckDBPyConnection, work: Callable[[], T],
            timeout: float | None) -> T:
    """Run ``work()`` (which uses ``con``) with a time limit and Ctrl-C support.

    ``timeout`` is in seconds; ``None`` or ``0`` means no limit (Ctrl-C still works).
    Raises :class:`SqlTimeout` or :class:`SqlInterrupted`; other exceptions from ``work``
    propagate unchanged."""
    if timeout is not None and timeout < 0:
        raise WorkbenchError(f"SQL timeout must be a positive number of seconds (or 0 for "
                             f"none); got {timeout}.")
    box: dict[str, Any] = {}
    done = threading.Event()

    def target() -> None:
        try:
            box["value"] = work()
        except BaseException as exc:  # handed to the waiting thread
            box["error"] = exc
        finally:
            done.set()

    STATS.statements += 1
    start = time.monotonic()
    deadline = start + timeout if timeout else None
    worker = threading.Thread(target=target, name="workbench-user-sql", daemon=True)
    worker.start()
    reason = _wait(done, deadline)
    if reason is not None:
        _stop(con, done)
        box.clear()  # drop the worker's frames (and the DuckDB result they hold) now:
        # the exception raised below keeps this frame alive, and the connection stays
        # busy while a result of it is referenced
        return _raise_stopped(reason, start, deadline, timeout)
    if "error" in box:
        raise box["error"]
    return box["value"]  # type: ignore[no-any-return]


def _wait(done: threading.Event, deadline: float | None) -> str | None:
    """Wait for the worker; return "timeout" / "interrupt" if it has to be stopped.

    (An Event, not ``Thread.join``: a join cut short by Ctrl-C can report a live thread
    as finished.)"""
    try:
        while not done.is_set():
            if deadline is not None and time.monotonic() >= deadline:
                return "timeout"
            done.wait(POLL_S)
    except KeyboardInterrupt:
        return "interrupt"
    return None


def _stop(con: duckdb.DuckDBPyConnection, done: threading.Event) -> None:
    """Interrupt until the worker has finished (a second Ctrl-C does not abandon it:
    closing a connection while a query still runs on it fails)."""
    while not done.is_set():
        try:
            con.interrupt()
            done.wait(POLL_S)
        except KeyboardInterrupt:
            continue


def _raise_stopped(reason: str, start: float, deadline: float | None,
                   timeout: float | None) -> Any:
    now = time.monotonic()
    ran = now - start
    if reason == "timeout" and deadline is not None:
        STATS.timed_out += 1
        STATS.worst_overshoot_s = max(STATS.worst_overshoot_s, now - deadline)
        raise SqlTimeout(
            f"The query ran longer than its time limit of {timeout:g} s and was interrupted "
            f"(stopped after {ran:.1f} s; nothing was changed). Narrow it (WHERE, LIMIT, "
            "fewer joins), or allow more time: --timeout SECONDS on the command line, "
            "timeout= in Python (0 / None for no limit).")
    STATS.interrupted += 1
    raise SqlInterrupted(f"interrupted: the query was stopped after {ran:.1f} s "
                         "(Ctrl-C); nothing was changed.")
