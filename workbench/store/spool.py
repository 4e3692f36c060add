"""Spool files: record a run even while another process holds the trace database.

DuckDB allows one read-write process per file and no readers beside it, so a CLI run
started while a notebook kernel has ``traces.duckdb`` open would fail at once. Instead,
``Store.open(path, spool_if_locked=True)`` (what ``workbench run`` does) opens a *spool*:
a fresh DuckDB file next to the main one, ``<db>.spool/<time>-<pid>-<rand>.duckdb``, with
the same migrations, and records the run there. The process holding the main file merges
spools into it (:func:`ingest_spools`): on every read-write open, and whenever
``store.ingest_spools()`` is called (the notebook explorer's refresh, or by hand).

Why one spool file per opening process rather than per run: the run id is only known
once the run starts, after the store is open; one ``workbench run`` invocation is one run.

Guarantees:

* A spool still being written is locked by its writer, so ingest skips it and takes it
  on a later call; a spool left by a crashed writer is replayed (its WAL) and merged.
* One spool is merged in one transaction on the main file: all of its rows or none.
* Idempotent: runs whose id the main file already has are skipped (a crash between the
  commit and moving the file cannot duplicate rows). Merged spools are moved, not deleted,
  to ``<db>.spool/ingested/``; a spool that fails to merge stays where it is and is
  reported (logged), never blocking the open of the main file.

This module imports nothing of :mod:`workbench.store.store` (which imports it): the
functions that must open a file take the opener (``Store.open``) as an argument, and the
stores they handle are typed by the :class:`SpoolStore` protocol.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import duckdb
import polars as pl

from workbench.errors import WorkbenchError
from workbench.store.errors import (  # noqa: F401  (is_lock_error: re-exported)
    describe_pid,
    is_lock_error,
    lock_holder,
)
from workbench.store.snapshot import commit_lock

log = logging.getLogger("workbench.store")
SUFFIX = ".spool"
INGESTED = "ingested"


class SpoolStore(AbstractContextManager["SpoolStore"], Protocol):
    """The part of :class:`workbench.store.store.Store` that merging uses."""

    path: str
    read_only: bool
    note: str | None

    def query(self, sql: str, params: Sequence[Any] | Mapping[str, Any] | None = None, *,
              frames: Mapping[str, pl.DataFrame] | None = None) -> pl.DataFrame: ...

    def cursor(self) -> duckdb.DuckDBPyConnection: ...

    def release(self, cur: duckdb.DuckDBPyConnection) -> None: ...


Opener = Callable[[Path], SpoolStore]
"""Opens (and migrates) a store read-write: ``Store.open``."""


@dataclass(frozen=True)
class Ingested:
    """One spool merged into the main file."""

    spool: str  # where the spool now lies (under ``ingested/``)
    runs: tuple[str, ...]  # run ids merged
    rows: int  # rows inserted over all tables
    skipped_runs: tuple[str, ...] = ()  # already in the main file (merged before)


def spool_dir(main_path: str | Path) -> Path:
    """``<db>.spool``: where spools for the database at ``main_path`` go."""
    return Path(str(main_path) + SUFFIX)


def main_path_of(store: SpoolStore) -> str | None:
    """The main database a spool store belongs to, or ``None`` for an ordinary store."""
    parent = Path(store.path).parent
    return str(parent)[: -len(SUFFIX)] if parent.name.endswith(SUFFIX) else None


def open_spool(main_path: str, reason: BaseException, open_store: Opener,
               on_note: Callable[[str], None] | None = None) -> SpoolStore:
    """A new spool store for ``main_path`` (locked by another process, see ``reason``),
    opened with ``open_store`` (``Store.open``); the user is told once: through
    ``on_note`` if given, else a log warning. ``store.note`` keeps the message."""
    folder = spool_dir(main_path)
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{uuid.uuid4().hex[:6]}.duckdb"
    store = open_store(folder / name)
    store.note = spool_notice(main_path, store.path, reason)
    (on_note or log.warning)(store.note)
    return store


def spool_notice(main_path: str, spool_path: str, reason: BaseException) -> str:
    """What to tell the user when a run goes to a spool."""
    pid = lock_holder(f"{reason} {reason.__cause__ or ''}")
    who = describe_pid(pid) if pid is not None else "another process"
    return (f"{main_path} is in use by {who}; this run is recorded in {spool_path} and "
            "will be merged into the main file when that process next opens it or calls "
            "store.ingest_spools() (or when nothing holds it, by any `workbench` command "
            "that opens it for writing).")


def pending_spools(main_path: str | Path) -> list[Path]:
    """Spools waiting to be merged, oldest first (names start with their time)."""
    folder = spool_dir(main_path)
    return sorted(folder.glob("*.duckdb")) if folder.is_dir() else []


def ingest_spools(store: SpoolStore, open_store: Opener) -> list[Ingested]:
    """Merge every finished spool of ``store``'s file into it; see the module docstring."""
    if store.read_only or main_path_of(store) is not None:
        return []
    done: list[Ingested] = []
    for spool in pending_spools(store.path):
        try:
            source = open_store(spool)  # read-write: migrates a spool made by an older version
        except WorkbenchError as exc:
            if not is_lock_error(exc):
                log.warning("Spool %s could not be opened and was left in place: %s",
                            spool, exc)
            continue  # locked: its writer is still running; merged on a later call
        try:
            with source:
                runs, rows, skipped = _merge(source, store)
        except Exception as exc:  # never let one bad spool block the main file
            log.warning("Spool %s could not be merged into %s and was left in place: %s",
                        spool, store.path, exc)
            continue
        done.append(Ingested(str(_move_aside(spool)), runs, rows, skipped))
    return done


def ingest_on_open(store: SpoolStore, open_store: Opener) -> None:
    """The hook ``Store.open`` calls: merge spools if there are any (cheap if not)."""
    if store.read_only or not pending_spools(store.path):
        return
    for item in ingest_spools(store, open_store):
        log.info("merged spool %s (%d runs, %d rows) into %s", item.spool, len(item.runs),
                 item.rows, store.path)


def try_merge(main_path: str | Path, open_store: Opener) -> int:
    """Open the main file just to merge its spools, if no other process holds it now;
    return how many spools were merged (0 when it is held: it merges them later)."""
    before = len(pending_spools(main_path))
    if not before:
        return 0
    try:
        store = open_store(Path(main_path))  # opening merges (ingest_on_open)
    except WorkbenchError as exc:
        if is_lock_error(exc):
            return 0
        raise
    with store:
        pass
    return before - len(pending_spools(main_path))


def _tables(store: SpoolStore) -> dict[str, set[str]]:
    """Trace tables (not ``_``-prefixed bookkeeping) and their columns."""
    frame = store.query("""
        SELECT c.table_name, c.column_name
        FROM duckdb_tables() t JOIN duckdb_columns() c
          USING (database_name, schema_name, table_name)
        WHERE t.database_name = current_database() AND t.schema_name = 'main'
          AND NOT t.internal AND NOT starts_with(t.table_name, '_')""")
    out: dict[str, set[str]] = {}
    for table, column in frame.iter_rows():
        out.setdefault(str(table), set()).add(str(column))
    return out


def _merge(source: SpoolStore, target: SpoolStore) -> tuple[tuple[str, ...], int, tuple[str, ...]]:
    """Copy every row of ``source`` into ``target`` in one transaction (skipping runs the
    target already has); return (runs merged, rows inserted, runs skipped)."""
    spool_runs = source.query("SELECT DISTINCT run_id FROM runs")["run_id"].to_list()
    present = set(target.query("SELECT run_id FROM runs WHERE list_contains(?, run_id)",
                               [spool_runs])["run_id"].to_list()) if spool_runs else set()
    wanted = _tables(target)
    cur = target.cursor()
    rows = 0
    lock = commit_lock(target.path)  # no reader snapshot mid-merge (store/snapshot.py)
    lock.acquire()
    try:
        cur.execute("BEGIN TRANSACTION")
        for table, columns in _tables(source).items():
            if table not in wanted:
                raise WorkbenchError(f"table {table} of the spool is unknown to "
                                     f"{target.path}; upgrade the workbench and retry.")
            skip = present and "run_id" in columns
            where = "WHERE NOT list_contains(?, run_id)" if skip else ""
            frame = source.query(f'SELECT * FROM "{table}" {where}',
                                 [sorted(present)] if where else None)
            if frame.height:
                cur.register("_spool_rows", frame)
                cur.execute(f'INSERT INTO "{table}" BY NAME SELECT * FROM _spool_rows')
                cur.unregister("_spool_rows")
                rows += frame.height
        cur.execute("COMMIT")
    except BaseException:
        cur.execute("ROLLBACK")
        raise
    finally:
        lock.release()
        target.release(cur)
    merged = tuple(r for r in spool_runs if r not in present)
    return merged, rows, tuple(sorted(present))


def _move_aside(spool: Path) -> Path:
    """Move a merged spool (and any WAL) into ``ingested/``; never delete it."""
    folder = spool.parent / INGESTED
    folder.mkdir(exist_ok=True)
    target = folder / spool.name
    os.replace(spool, target)
    wal = Path(str(spool) + ".wal")
    if wal.exists():
        os.replace(wal, Path(str(target) + ".wal"))
    return target
