"""Turn DuckDB's open-time failures into messages that say what to do.

Why a module of its own: the store, the read-only SQL command and recovery all open the
same files and meet the same three walls (another process holds the lock, the WAL cannot
be replayed, the file is not a DuckDB database of our version).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from workbench.errors import WorkbenchError

_PID = re.compile(r"\(PID (\d+)\)")


def describe_pid(pid: int) -> str:
    """``PID n: command line`` when psutil can see the process, else ``PID n``."""
    try:
        import psutil

        cmd = " ".join(psutil.Process(pid).cmdline()).strip()
    except Exception:  # psutil missing, process gone, or access denied
        cmd = ""
    if len(cmd) > 200:
        cmd = cmd[:197] + "..."
    return f"PID {pid}: {cmd}" if cmd else f"PID {pid}"


def lock_holder(message: str) -> int | None:
    """The PID DuckDB names in a lock-conflict message, if any."""
    m = _PID.search(message)
    return int(m.group(1)) if m else None


def translate_open_error(path: str, exc: Exception, read_only: bool) -> WorkbenchError:
    """A :class:`WorkbenchError` for a failure of ``duckdb.connect(path)``."""
    msg = str(exc)
    if "Could not set lock" in msg:
        pid = lock_holder(msg)
        who = describe_pid(pid) if pid is not None else "another process"
        return WorkbenchError(
            f"The trace database {path} is in use by another process ({who}). DuckDB allows "
            "one writer per file and no readers while it writes. Stop that process (e.g. shut "
            "down the notebook kernel or CLI run that has it open), or use another file with "
            "--db / WORKBENCH_DB, or open it read-only once that process has finished.")
    if "different configuration" in msg:
        mode = "read-only" if read_only else "read-write"
        return WorkbenchError(
            f"The trace database {path} is already open in this process with other settings, "
            f"so it cannot also be opened {mode}. Use the Store that is already open "
            "(store.query() / store.sql()), or close it first.")
    if "replaying WAL" in msg or "Corrupt WAL" in msg:
        return WorkbenchError(
            f"The write-ahead log of {path} cannot be replayed ({msg.splitlines()[0]}). "
            f"Run `workbench recover --db {path}` (or workbench.store.recover.recover(path)): "
            "it moves the WAL aside without deleting it and opens what was checkpointed.")
    if "database does not exist" in msg:
        return WorkbenchError(
            f"No trace database at {path}. Run an experiment first, or pass the right file "
            "with --db / WORKBENCH_DB.")
    if "not a valid DuckDB database" in msg or "version number" in msg:
        return WorkbenchError(
            f"{path} is not a trace database this DuckDB can read ({msg.splitlines()[0]}). "
            "Check the path; a file written by another DuckDB major version needs that version.")
    return WorkbenchError(f"Could not open the trace database {path}: {msg}")


def make_parent(target: str) -> None:
    """Create the folder of a new database file, or say clearly why it cannot be."""
    parent = Path(target).parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise WorkbenchError(f"Cannot create the trace database {target}: {parent} (or a "
                             "folder above it) is a file, not a folder. Choose another "
                             "path with --db / WORKBENCH_DB.") from None
    except OSError as exc:
        raise WorkbenchError(f"Cannot create the trace database {target}: creating the "
                             f"folder {parent} failed ({exc.strerror or exc}). Choose a "
                             "path you can write with --db / WORKBENCH_DB.") from None
    if not os.access(parent, os.W_OK | os.X_OK) and not os.path.exists(target):
        raise WorkbenchError(f"Cannot create the trace database {target}: the folder "
                             f"{parent} is not writable by this user. Choose a path you "
                             "can write with --db / WORKBENCH_DB.")


def held_by_readers(path: str) -> bool:
    """True when the lock on ``path`` that another process holds is a shared (reader) lock.

    DuckDB locks its file with POSIX record locks: readers take a shared lock, the writer
    an exclusive one, so ``F_GETLK`` tells a short-lived reader (``workbench sql``, a
    snapshot-less poll) from a writer. Only called when the lock error names another
    process: opening and closing a second descriptor would drop this process's own POSIX
    locks on the file."""
    import fcntl
    import struct

    layout = "hh4xqqi4x"  # struct flock on Linux x86-64 / aarch64
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        probe = struct.pack(layout, fcntl.F_WRLCK, os.SEEK_SET, 0, 0, 0)
        kind = struct.unpack(layout, fcntl.fcntl(fd, fcntl.F_GETLK, probe))[0]
    except (OSError, struct.error):
        return False
    finally:
        os.close(fd)
    return bool(kind == fcntl.F_RDLCK)


def is_lock_error(exc: BaseException) -> bool:
    """True when opening failed because another process holds the file."""
    text = f"{exc} {exc.__cause__ or ''}"
    return "Could not set lock" in text or "in use by another process" in text
