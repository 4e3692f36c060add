"""Recover a trace database whose write-ahead log (WAL) cannot be replayed.

When DuckDB finds a corrupt WAL (a disk filled up, a file copied mid-write, a DuckDB bug),
it refuses to open the database at all. Everything that was checkpointed into the main
file is still there; only commits since the last checkpoint live in the WAL. Recovery
therefore moves the WAL aside under a timestamped name (never deleting it: it can be sent
with a bug report or replayed by a fixed DuckDB), opens the main file read-only, and says
what is there and which runs may have lost rows.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from workbench.errors import WorkbenchError
from workbench.store.connection import (
    canonical,
    connect,
    open_store_for,
    schema_version,
    table_counts,
)


def recover(db_path: str | Path | None) -> dict[str, Any]:
    """Move an unreplayable WAL aside, open what was checkpointed, report what is left.

    Returns ``db``, ``wal_moved_to`` (``None`` if there was no WAL), ``wal_bytes`` (the
    size of the commits that could not be replayed), ``schema_version``, row ``counts``
    per table, and ``runs_without_end``: runs whose last recorded status is ``running``
    (the ones that may have lost rows)."""
    path = canonical(db_path)
    if path == ":memory:" or not os.path.exists(path):
        raise WorkbenchError(f"No database file at {path} to recover.")
    if open_store_for(path) is not None:
        raise WorkbenchError(f"{path} is open in this process; close that Store first.")
    wal = Path(path + ".wal")
    moved: Path | None = None
    wal_bytes = 0
    if wal.exists():
        wal_bytes = wal.stat().st_size
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        moved = wal.with_name(f"{wal.name}.unreplayable-{stamp}")
        os.replace(wal, moved)  # same directory: atomic rename, nothing is copied or lost
    try:
        report = _inspect(path)
    except WorkbenchError as exc:
        if moved is not None and not wal.exists():
            os.replace(moved, wal)  # put things back as they were
        raise WorkbenchError(f"{path} cannot be opened even without its WAL ({exc}); the "
                             "main file itself is damaged. Nothing was changed.") from exc
    return {"db": path, "wal_moved_to": str(moved) if moved else None,
            "wal_bytes": wal_bytes, **report}


def _inspect(path: str) -> dict[str, Any]:
    """Counts and unfinished runs of the checkpointed database, opened read-only."""
    con = connect(path, read_only=True)
    try:
        version = schema_version(con)
        if version is None:
            return {"schema_version": None, "counts": {}, "runs_without_end": []}
        rows = con.execute("""
            SELECT run_id FROM run_status
            QUALIFY row_number() OVER (PARTITION BY run_id ORDER BY "at" DESC, rowid DESC) = 1
                AND status = 'running'
            ORDER BY run_id""").fetchall()
        return {"schema_version": version, "counts": table_counts(con),
                "runs_without_end": [r[0] for r in rows]}
    finally:
        con.close()
