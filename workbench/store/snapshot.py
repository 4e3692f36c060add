"""Snapshots for readers: query a trace file while another process is writing it.

DuckDB lets one process open a file read-write and nobody else open it at all, so while a
``workbench run`` or ``sweep`` records, ``workbench sql``, ``analyze`` and a notebook's
read-only ``Store.open`` used to fail. The design (see docs/concurrency.md):

* **Readers ask, the writer publishes.** A reader that meets the lock touches
  ``<db>.snapshot-wanted``. Every read-write Store on a file runs a small publisher thread
  that looks at that file every :data:`POLL_S` seconds (one ``stat``; nothing else happens
  while nobody reads) and then publishes ``<db>.snapshot``.
* **The writer keeps its lock.** DuckDB's lock is a POSIX record lock, which a process
  loses when it closes *any* descriptor of the file; the publisher therefore reads the
  file through one descriptor kept open until DuckDB has closed the file.
* **Consistent by construction.** Publishing copies the database file and its WAL while
  holding the file's :func:`commit_lock`, which every commit of the workbench (the
  Recorder's writer thread, spool merges) also holds, so the copy holds exactly the
  committed transactions, and the Recorder commits whole samples, so no sample is seen
  without its paths. DuckDB only writes the database file while checkpointing, which
  happens inside a commit, so the pair is stable while the lock is held. The copy is then
  opened by its own DuckDB instance (replaying the WAL, which also validates it),
  checkpointed into one file, stamped with the time of the copy (its mtime) and renamed
  over ``<db>.snapshot`` atomically: a reader sees the old snapshot or the new one, never
  a half-written file, and readers that have the old one open keep reading it.
* **Cheap for the writer.** The lock is held only for the byte copy; WAL replay and the
  checkpoint happen after it is released, on the publisher thread. Publishing is
  throttled to at most one copy every ``max(MIN_INTERVAL_S, RATIO x last cost)``, so it
  never takes more than ~1/RATIO of the wall time, and if nothing was written since the
  last snapshot (same size and mtime of file and WAL) it is only re-stamped.
* **Honest age.** The reader opens the newest snapshot read-only and is told how old it
  is; it waits up to :data:`WAIT_S` for one taken after its request, and uses an older one
  (saying how old) if the writer is throttled. The snapshot is removed when the writer
  closes the file (then readers open the file itself).
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import duckdb

from workbench.errors import WorkbenchError

if TYPE_CHECKING:
    from collections.abc import Callable


class Publishing(Protocol):
    """What the publisher needs of a read-write :class:`workbench.store.store.Store`."""

    path: str
    read_only: bool

    def on_close(self, callback: Callable[[], None]) -> None: ...

    def after_close(self, callback: Callable[[], None]) -> None: ...

log = logging.getLogger("workbench.store")
SUFFIX = ".snapshot"
WANTED = ".snapshot-wanted"
POLL_S = 0.2
MIN_INTERVAL_S = 1.0
RATIO = 20.0
FRESH_S = 1.0
"""A reader uses a snapshot this young without waiting for a newer one."""
WAIT_S = 5.0

_LOCKS: dict[str, threading.RLock] = {}
_LOCKS_GUARD = threading.Lock()


def snapshot_path(main: str | Path) -> Path:
    return Path(str(main) + SUFFIX)


def commit_lock(path: str) -> threading.RLock:
    """The lock every commit to ``path`` in this process holds (and the publisher's copy)."""
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(path, threading.RLock())


def _signature(path: str) -> tuple[int, ...]:
    """Sizes and mtimes of the file and its WAL: unchanged means nothing was committed."""
    out: list[int] = []
    for p in (path, path + ".wal"):
        try:
            st = os.stat(p)
            out += [st.st_size, st.st_mtime_ns]
        except FileNotFoundError:
            out += [-1, -1]
    return tuple(out)


class Publisher:
    """The thread that publishes ``<db>.snapshot`` for a read-write Store on request."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd = os.open(path, os.O_RDONLY)  # see close(): kept open, never reopened
        self.published = 0
        self.restamped = 0
        self.copy_s = 0.0  # total time the commit lock was held for copies
        self.total_s = 0.0  # total time spent publishing
        self._served = 0.0  # wall time of the last request served
        self._next = 0.0  # monotonic time before which no new copy is made
        self._sig: tuple[int, ...] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="workbench-snapshot",
                                        daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(POLL_S):
            try:
                wanted = os.stat(self.path + WANTED).st_mtime
            except OSError:
                continue
            if wanted <= self._served or time.monotonic() < self._next:
                continue
            try:
                self.publish()
                self._served = wanted
            except Exception as exc:  # a failed snapshot must never disturb the writer
                log.warning("could not publish a snapshot of %s: %s", self.path, exc)
                self._next = time.monotonic() + MIN_INTERVAL_S

    def publish(self) -> None:
        """Copy, validate, stamp and rename: see the module docstring."""
        start = time.monotonic()
        target = snapshot_path(self.path)
        with commit_lock(self.path):
            unchanged, now = _signature(self.path) == self._sig, time.time()
        if unchanged and target.exists():
            os.utime(target, (now, now))
            self.restamped += 1
            return
        tmp = Path(f"{self.path}{SUFFIX}.tmp-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        try:
            copy = tmp / "snapshot.duckdb"
            with commit_lock(self.path):
                taken = time.time()
                sig = _signature(self.path)
                _copy_from_fd(self._fd, copy)
                if os.path.exists(self.path + ".wal"):  # DuckDB does not lock the WAL
                    shutil.copyfile(self.path + ".wal", str(copy) + ".wal")
            held = time.monotonic() - start
            con = duckdb.connect(str(copy), config={"autoinstall_known_extensions": False,
                                                    "autoload_known_extensions": False})
            con.execute("CHECKPOINT")
            con.close()
            os.utime(copy, (taken, taken))
            os.replace(copy, target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        cost = time.monotonic() - start
        self._sig = sig
        self.published += 1
        self.copy_s += held
        self.total_s += cost
        self._next = time.monotonic() + max(MIN_INTERVAL_S, RATIO * cost)

    def stop(self) -> None:
        """Stop publishing (the Store is closing; its last commits follow)."""
        self._stop.set()
        self._thread.join()

    def close(self) -> None:
        """Close the descriptor, only after DuckDB has closed the file, and remove the
        snapshot (readers open the file itself from now on).

        Why one descriptor for the publisher's whole life: DuckDB's file lock is a POSIX
        record lock, and POSIX drops all of a process's locks on a file when the process
        closes *any* descriptor of it. Copying with ``open()``/``close()`` would silently
        unlock the writer's file, letting other processes open it mid-write."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        for p in (snapshot_path(self.path), Path(self.path + WANTED)):
            p.unlink(missing_ok=True)  # the file itself is readable now


def _copy_from_fd(fd: int, target: Path) -> None:
    """Copy the whole file behind ``fd`` into ``target`` by offset (no reopen, no seek)."""
    size = os.fstat(fd).st_size
    with open(target, "wb") as out:
        done = 0
        while done < size:
            try:
                n = os.copy_file_range(fd, out.fileno(), size - done, done, done)
            except OSError:  # filesystems without copy_file_range
                chunk = os.pread(fd, min(1 << 22, size - done), done)
                n = out.write(chunk)
            if n <= 0:
                break
            done += n


def start_publisher(store: Publishing) -> Publisher | None:
    """Publish snapshots of ``store``'s file while it is open (the caller skips spools)."""
    if store.read_only or store.path == ":memory:":
        return None
    publisher = Publisher(store.path)
    store.on_close(publisher.stop)
    store.after_close(publisher.close)
    return publisher


def request(path: str) -> float:
    """Ask the writer of ``path`` for a snapshot; returns the time of the request."""
    now = time.time()
    try:
        Path(path + WANTED).touch()
        os.utime(path + WANTED, (now, now))
    except OSError:  # a read-only folder: use whatever snapshot there is
        pass
    return now


def connect_snapshot(path: str, lock_error: WorkbenchError
                     ) -> tuple[duckdb.DuckDBPyConnection, str | None]:
    """A read-only connection to the snapshot of ``path`` and a note saying how old it is.

    Waits up to :data:`WAIT_S` for a snapshot taken after this request (an older one is
    used if none comes). If the writer closes the file meanwhile, the connection is to
    the file itself and the note is ``None``. Raises ``lock_error`` (with advice) if the
    writer publishes nothing."""
    from workbench.store.connection import connect
    from workbench.store.errors import is_lock_error

    target = snapshot_path(path)
    asked = request(path)
    deadline = time.monotonic() + WAIT_S
    while True:
        taken = _mtime(target)
        late = time.monotonic() >= deadline
        if taken is not None and (late or taken >= asked or time.time() - taken <= FRESH_S):
            try:
                return connect(str(target), read_only=True), _note(path, lock_error, taken)
            except WorkbenchError:  # replaced or removed between stat and open: look again
                pass
        try:
            return connect(path, read_only=True), None
        except WorkbenchError as exc:
            if not is_lock_error(exc):
                raise
        if late:
            raise WorkbenchError(
                f"{lock_error} It publishes no snapshot for readers (it may be an older "
                "workbench version, or busy starting): try again, or wait until it "
                "finishes.") from lock_error
        time.sleep(0.05)


def _mtime(target: Path) -> float | None:
    try:
        return target.stat().st_mtime
    except FileNotFoundError:
        return None


def _note(path: str, lock_error: WorkbenchError, taken: float) -> str:
    from workbench.store.errors import describe_pid, lock_holder

    pid = lock_holder(str(lock_error.__cause__ or lock_error))
    who = describe_pid(pid) if pid is not None else "another process"
    age = max(0.0, time.time() - taken)
    return (f"{path} is being written by {who}; reading its snapshot of {age:.1f} s ago "
            f"({snapshot_path(path)}): everything committed up to then, nothing after.")
