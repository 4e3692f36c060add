"""Commits recorded rows on a background thread, in whole samples, grouping under load.

Why a thread: a DuckDB commit waits for the disk (fsync). Measured on this project's
machines it takes 10-15 ms per commit; at API speeds (dozens of samples per second) a
commit per sample on the event loop would stall streaming and cap a run at ~70 samples/s.
DuckDB releases the GIL while it commits, so a writer thread lets the loop go on, and
batches that arrive while a commit is running are committed together in the next one
(group commit): throughput grows with load instead of collapsing. Commits are also spaced
at least :data:`COMMIT_INTERVAL_S` apart: each costs ~1 ms of CPU per table touched, which
at 300 samples/s was a third of the client's CPU (``bench/orchestration.py``), while a
sample that waits 0.2 s longer to be durable costs nothing (a kill loses at most that much,
and ``resume`` re-runs it).

Guarantees: rows are handed over only as whole samples, and each transaction holds whole
samples, so a crash never leaves half a sample; a scored sample is durable one commit
after ``SampleScored`` (at most ~``COMMIT_INTERVAL_S`` plus the commit); :meth:`Writer.wait`
is a barrier that commits at once (used at run start, run end and close). A failed commit
is sticky: its rows stay in memory, later calls raise.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from workbench.errors import WorkbenchError
from workbench.store.snapshot import commit_lock
from workbench.store.store import Store

Row = tuple[Any, ...]

COMMIT_INTERVAL_S = 0.2
"""Least time between two commits unless someone waits for one (see the module docstring)."""


@dataclass
class Batch:
    """Rows waiting for one commit, per table (tables in ``columns`` order)."""

    columns: dict[str, tuple[str, ...]]
    rows: dict[str, list[Row]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for table in self.columns:
            self.rows.setdefault(table, [])

    def extend(self, other: Batch) -> None:
        for table, rows in other.rows.items():
            self.rows[table].extend(rows)

    def size(self) -> int:
        return sum(len(r) for r in self.rows.values())


class Writer:
    """One background thread with its own DuckDB connection (a cursor of the store)."""

    def __init__(self, store: Store, columns: dict[str, tuple[str, ...]]) -> None:
        self.store = store
        self.columns = columns
        self.commits = 0
        self._cur = store.cursor()
        self._appenders: dict[str, Any] = {}
        self._cond = threading.Condition()
        self._queue: list[Batch] = []
        self._busy = False
        self._stopping = False
        self._waiters = 0  # threads in wait(): commit now, do not gather
        self._last_commit = 0.0
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._loop, name="workbench-recorder",
                                         daemon=True)
        self._thread.start()

    def submit(self, batch: Batch) -> None:
        """Queue rows for the next commit (returns at once)."""
        if not batch.size():
            return
        with self._cond:
            self._raise_if_failed()
            self._queue.append(batch)
            self._cond.notify_all()

    def wait(self) -> None:
        """Block until everything submitted so far is committed (or raise why not)."""
        with self._cond:
            self._waiters += 1
            self._cond.notify_all()
            try:
                while (self._queue or self._busy) and self._error is None:
                    self._cond.wait()
            finally:
                self._waiters -= 1
            self._raise_if_failed()

    def close(self) -> None:
        """Commit what is queued, stop the thread, release the connection."""
        try:
            self.wait()
        finally:
            with self._cond:
                self._stopping = True
                self._cond.notify_all()
            self._thread.join()
            self.store.release(self._cur)

    def pending_rows(self) -> int:
        """Rows submitted but not committed (kept in memory after a failure)."""
        with self._cond:
            return sum(b.size() for b in self._queue)

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise WorkbenchError(
                f"Recording to {self.store.path} failed: {self._error}. The uncommitted rows "
                "are kept in memory (recorder.pending_rows()); nothing more is written by "
                "this recorder. Check disk space and the file, then start a new run.")

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._stopping:
                    self._cond.wait()
                self._gather()
                if not self._queue or self._error is not None:
                    return  # stopping with nothing to do, or failed earlier
                batches, self._queue = self._queue, []
                self._busy = True
            merged = Batch(self.columns)
            for batch in batches:
                merged.extend(batch)
            try:
                self._write(merged)
            except Exception as exc:  # conversion errors are not all duckdb.Error
                with self._cond:
                    self._error, self._busy = exc, False
                    self._queue.insert(0, merged)
                    self._cond.notify_all()
                return
            with self._cond:
                self._busy = False
                self.commits += 1
                self._last_commit = time.monotonic()
                self._cond.notify_all()

    def _gather(self) -> None:
        """Let more samples join this commit until :data:`COMMIT_INTERVAL_S` has passed
        since the last one (called holding the lock; a waiter or a stop cuts it short)."""
        until = self._last_commit + COMMIT_INTERVAL_S
        while not self._stopping and not self._waiters:
            left = until - time.monotonic()
            if left <= 0:
                return
            self._cond.wait(left)

    def _write(self, batch: Batch) -> None:
        """One transaction, one appender flush per non-empty table."""
        cur = self._cur
        with commit_lock(self.store.path):  # no snapshot copy mid-commit (store/snapshot.py)
            cur.execute("BEGIN TRANSACTION")
            try:
                for table, rows in batch.rows.items():
                    if rows:
                        appender = self._appender(table)
                        appender.append_rows(rows)
                        appender.flush()
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                for appender in self._appenders.values():
                    appender.clear()
                raise

    def _appender(self, table: str) -> Any:
        found = self._appenders.get(table)
        if found is None:
            found = self._appenders[table] = self._cur.appender(
                table, columns=list(self.columns[table]))
        return found
