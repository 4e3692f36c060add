"""Connections to trace files, shared by the store, the read-only SQL path, spools and
recovery: the locked-down connection config, canonical paths, the schema check, and the
registry of stores open in this process.

Why a module of its own: ``store``, ``sql``, ``spool`` and ``recover`` all need these
pieces. Living in ``store.py`` they made ``store -> sql -> store`` and ``store -> spool ->
store`` import cycles (hidden by function-local imports); here they depend on nothing
above them, and the import contracts in ``pyproject.toml`` keep it that way.
"""

from __future__ import annotations

import atexit
import os
import time
import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import duckdb
import polars as pl

from workbench.errors import WorkbenchError
from workbench.store.errors import held_by_readers, lock_holder, translate_open_error
from workbench.store.migrations import MIGRATIONS, check_not_newer, migrate


class OpenStore(Protocol):
    """What the in-process registry knows of an open store (``Store`` satisfies it)."""

    closed: bool

    def close(self) -> None: ...

    def sql(self, sql: str, params: Sequence[Any] | Mapping[str, Any] | None = None, *,
            timeout: float | None = None) -> pl.DataFrame: ...

    def cursor(self) -> duckdb.DuckDBPyConnection: ...

    def release(self, cur: duckdb.DuckDBPyConnection) -> None: ...


MEMORY = ":memory:"
BASE_CONFIG: dict[str, Any] = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "enable_external_access": False,
    "lock_configuration": True,
}
READER_WAIT_S = 10.0
"""How long a read-write open waits for other processes that only read the file (each
holds it for one query) before it reports the lock (or spools)."""
TABLES = ("runs", "run_status", "samples", "paths", "votes", "rounds", "path_requests")

_OPEN: dict[str, weakref.WeakSet[OpenStore]] = {}
"""Stores open in this process by canonical path (for in-process read-only SQL)."""


@atexit.register
def _close_all() -> None:
    """At interpreter exit, close stores left open so their recorders commit what they
    hold (a script that forgot ``close()`` should not lose its last samples)."""
    for stores in list(_OPEN.values()):
        for store in list(stores):
            try:
                store.close()
            except Exception:  # exiting anyway; nothing more useful to do
                pass


def default_db_path() -> str:
    """``$WORKBENCH_DB`` if set, else ``./traces.duckdb``."""
    return os.environ.get("WORKBENCH_DB") or "traces.duckdb"


def canonical(path: str | Path | None) -> str:
    """The absolute, symlink-free path used as the identity of a database file."""
    p = str(path) if path is not None else default_db_path()
    return p if p == MEMORY else os.path.realpath(os.path.expanduser(p))


def open_store_for(path: str | Path | None) -> OpenStore | None:
    """The store already open on this file in this process, if any."""
    for store in list(_OPEN.get(canonical(path), ())):
        if not store.closed:
            return store
    return None


def register_open(key: str, store: OpenStore) -> None:
    """Note ``store`` as open on ``key`` (its canonical path, or a unique memory name)."""
    _OPEN.setdefault(key, weakref.WeakSet()).add(store)


def unregister_open(key: str, store: OpenStore) -> None:
    _OPEN.get(key, weakref.WeakSet()).discard(store)


def connect(path: str, read_only: bool) -> duckdb.DuckDBPyConnection:
    """A locked-down DuckDB connection; open-time failures become WorkbenchErrors.

    A read-write open waits up to :data:`READER_WAIT_S` for processes that only read the
    file (each holds it for one query) before it reports the lock."""
    if read_only and path == MEMORY:
        raise WorkbenchError("An in-memory database cannot be opened read-only.")
    waited_until = time.monotonic() + READER_WAIT_S
    while True:
        try:
            return duckdb.connect(path, read_only=read_only, config=dict(BASE_CONFIG))
        except duckdb.Error as exc:
            if read_only or time.monotonic() > waited_until or not _readers_only(path, exc):
                raise translate_open_error(path, exc, read_only) from exc
        time.sleep(0.05)  # readers hold the file for one query: the writer waits them out


def _readers_only(path: str, exc: duckdb.Error) -> bool:
    pid = lock_holder(str(exc))
    return pid is not None and pid != os.getpid() and held_by_readers(path)


def schema_version(con: duckdb.DuckDBPyConnection) -> int | None:
    """The applied migration version, or ``None`` if this is not a workbench database."""
    found = con.execute("SELECT count(*) FROM information_schema.tables "
                        "WHERE table_name = '_migrations'").fetchone()
    if not found or not found[0]:
        return None
    row = con.execute("SELECT coalesce(max(version), 0) FROM _migrations").fetchone()
    return int(row[0]) if row else 0


def table_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Row count of every trace table."""
    out: dict[str, int] = {}
    for table in TABLES:
        row = con.execute(f"SELECT count(*) FROM {table}").fetchone()
        out[table] = int(row[0]) if row else 0
    return out


def check_schema(con: duckdb.DuckDBPyConnection, path: str, read_only: bool) -> None:
    """Migrate (read-write) or verify (read-only) the schema version."""
    version = schema_version(con)
    latest = len(MIGRATIONS)
    check_not_newer(version, path)
    if read_only:
        if version is None:
            raise WorkbenchError(f"{path} is not a workbench trace database (no _migrations "
                                 "table).")
        if version < latest:
            raise WorkbenchError(f"{path} has schema version {version}; open it read-write "
                                 f"once (Store.open(path)) to migrate it to {latest}.")
        return
    try:
        migrate(con)
    except duckdb.Error as exc:
        raise WorkbenchError(f"Migrating {path} failed: {exc}. Nothing was changed by the "
                             "failed migration (it ran in a transaction).") from exc


