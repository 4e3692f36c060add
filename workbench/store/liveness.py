"""Tell a live run from a killed one, and mark the killed ones ``interrupted``.

Why: a process killed mid-run (kill -9, OOM, a closed laptop, a crashed kernel) never
writes its final status, so its run would say ``running`` forever and nothing would offer
to finish it. Every ``run_status`` row records the process that wrote it (``pid``,
``host``, ``proc_started``: migration 3). When a writer opens the file, each run whose
latest status is ``running`` is checked:

* written by this very process (same pid and start time): alive, e.g. a second Store on the
  same file in one notebook kernel while a run is in flight;
* written on this host: alive only if a process with that pid exists, is not a zombie, and
  started at the recorded time (pids are reused: the start time tells them apart);
* written on another host: left alone (we cannot see its processes);
* written before migration 3 (no pid): interrupted. A writer holds DuckDB's exclusive file
  lock, so no other process can still be writing this file; such a row can only be left
  by a process that is gone.

Marking appends an ``interrupted`` row (the log stays append-only) naming the process that
died and how to resume; ``workbench run --resume RUN_ID`` then runs the missing items.
"""

from __future__ import annotations

import functools
import logging
import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import duckdb

if TYPE_CHECKING:
    from workbench.store.spool import SpoolStore as Store  # the Store's cursor/release/path

log = logging.getLogger("workbench.store")
START_TOLERANCE_S = 0.05
"""psutil derives start times from boot time + clock ticks (10 ms steps): same process,
same value; a reused pid starts seconds or more later."""


@dataclass(frozen=True)
class Owner:
    """The process that wrote a status row."""

    pid: int | None
    host: str | None
    started: float | None

    def cells(self) -> tuple[int | None, str | None, float | None]:
        return (self.pid, self.host, self.started)

    def describe(self) -> str:
        if self.pid is None:
            return "a process of an older workbench release (no pid recorded)"
        return f"PID {self.pid} on {self.host}"


@functools.cache
def _host() -> str:
    return socket.gethostname()


def this_process() -> Owner:
    """This process (pid, host, start time); a forked child gets its own."""
    return _owner(os.getpid())


@functools.cache
def _owner(pid: int) -> Owner:
    return Owner(pid, _host(), _start_time(pid))


def _start_time(pid: int) -> float | None:
    try:
        import psutil

        return float(psutil.Process(pid).create_time())
    except Exception:  # psutil missing, or no such process
        return None


def alive(owner: Owner) -> bool | None:
    """Is ``owner`` still running? ``None`` when we cannot tell (another host)."""
    if owner.pid is None:
        return False
    if owner.host != _host():
        return None
    if owner.pid == os.getpid():
        started = _start_time(owner.pid)
        return owner.started is None or started is None or _same(owner.started, started)
    try:
        import psutil

        proc = psutil.Process(owner.pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        return owner.started is None or _same(owner.started, proc.create_time())
    except ImportError:
        return None
    except Exception as exc:  # NoSuchProcess is death; AccessDenied means it exists
        return type(exc).__name__ == "AccessDenied"


def _same(a: float, b: float) -> bool:
    return abs(a - b) <= START_TOLERANCE_S


@dataclass(frozen=True)
class Stale:
    """A run left ``running`` by a process that is gone."""

    run_id: str
    owner: Owner

    def reason(self) -> str:
        return (f"the process that ran it ({self.owner.describe()}) is gone; finish it with "
                f"`workbench run --resume {self.run_id}`")


_RUNNING = """
    SELECT run_id, pid, host, proc_started FROM run_status
    QUALIFY row_number() OVER (PARTITION BY run_id ORDER BY "at" DESC, rowid DESC) = 1
        AND status = 'running'
"""


def stale_runs(con: duckdb.DuckDBPyConnection) -> list[Stale]:
    """Runs whose latest status is ``running`` and whose process is gone."""
    rows: list[Any] = con.execute(_RUNNING).fetchall()
    out = []
    for run_id, pid, host, started in rows:
        owner = Owner(pid, host, started)
        if alive(owner) is False:
            out.append(Stale(str(run_id), owner))
    return out


def mark_interrupted(store: Store) -> list[Stale]:
    """Append an ``interrupted`` status for every stale run (one transaction)."""
    cur = store.cursor()
    try:
        stale = stale_runs(cur)
        if not stale:
            return []
        me = this_process()
        now = datetime.now(UTC).replace(tzinfo=None)  # naive UTC, like every stored time
        cur.execute("BEGIN TRANSACTION")
        try:
            cur.executemany(
                'INSERT INTO run_status (run_id, status, "at", wall_ms, error, pid, host, '
                "proc_started) VALUES (?, 'interrupted', ?, NULL, ?, ?, ?, ?)",
                [[s.run_id, now, s.reason(), *me.cells()] for s in stale])
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise
    finally:
        store.release(cur)
    for s in stale:
        log.warning("run %s marked interrupted: %s", s.run_id, s.reason())
    return stale


def mark_on_open(store: Store) -> None:
    """The hook ``Store.open`` calls for a writer; never blocks opening the file."""
    try:
        mark_interrupted(store)
    except duckdb.Error as exc:
        log.warning("could not check %s for interrupted runs: %s", store.path, exc)
