"""Read-only SQL typed by a user (``workbench sql``, the notebook's SQL box).

What makes it safe, in layers (each tested in tests/store/test_sql.py):

1. Exactly one statement, and its parsed type must be SELECT or EXPLAIN (DESCRIBE, SHOW,
   SUMMARIZE, VALUES and FROM-first queries parse as SELECT). INSERT/DELETE/DROP, COPY,
   ATTACH, INSTALL/LOAD, SET, PRAGMA, CALL and transactions are refused before running.
2. It runs inside ``BEGIN TRANSACTION READ ONLY`` and is rolled back, so a write hidden in
   a SELECT (``WITH d AS (DELETE ... RETURNING *) SELECT ...``, ``EXPLAIN ANALYZE DELETE``)
   fails in DuckDB itself.
3. The database has ``enable_external_access=false`` and ``lock_configuration=true``:
   ``read_csv('/etc/passwd')``, ``COPY ... TO``, extension loading and ``SET`` are refused
   by DuckDB even if layer 1 had a hole.

Where it runs: if this process already has the file open (a notebook holding a Store), a
second DuckDB instance on the same file is impossible in-process, so the SQL runs on a
fresh cursor of that Store (same lockdown, it is per database). Otherwise a separate
read-only connection is opened; while another process writes the file, DuckDB refuses
it, and the statement runs on the snapshot that writer publishes
(:mod:`workbench.store.snapshot`), with a note saying how old it is.

Runaway statements: every user statement has an optional time limit and stops on Ctrl-C
(:mod:`workbench.store.sqlguard`); results can be consumed as a stream of record batches
(:func:`stream_readonly_sql`, :func:`batches`) so that a large CSV/Parquet export does not
materialise the whole result.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import polars as pl
import pyarrow as pa

from workbench.errors import WorkbenchError
from workbench.store.connection import canonical, connect, open_store_for
from workbench.store.sqlguard import guarded

ALLOWED = frozenset({"SELECT", "EXPLAIN"})
Params = Sequence[Any] | Mapping[str, Any] | None
T = TypeVar("T")
BATCH_ROWS = 50_000
"""Rows per streamed record batch (a few MB for typical trace rows)."""
log = logging.getLogger("workbench.store")


def check_readonly_sql(sql: str) -> None:
    """Refuse anything but one SELECT/EXPLAIN statement, with a message saying why."""
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise WorkbenchError(f"SQL error: {exc}") from exc
    if not statements:
        raise WorkbenchError("No SQL statement given.")
    if len(statements) > 1:
        raise WorkbenchError(f"Only one statement at a time is allowed; got "
                             f"{len(statements)}. Run them one by one.")
    kind = str(statements[0].type).rsplit(".", 1)[-1]
    if kind not in ALLOWED:
        raise WorkbenchError(f"Only read-only queries (SELECT, DESCRIBE, SHOW, EXPLAIN) are "
                             f"allowed here; this is a {kind} statement. The trace store is "
                             "written only by the recorder.")


def run_on_connection(con: duckdb.DuckDBPyConnection, sql: str, params: Params = None,
                      timeout: float | None = None) -> pl.DataFrame:
    """Run checked user SQL on ``con`` in a read-only transaction that is rolled back;
    interrupted after ``timeout`` seconds or on Ctrl-C (see :mod:`workbench.store.sqlguard`)."""
    return stream_on_connection(con, sql, lambda rel: rel.pl(), params, timeout)


def stream_on_connection(con: duckdb.DuckDBPyConnection, sql: str,
                         consume: Callable[[duckdb.DuckDBPyRelation], T],
                         params: Params = None, timeout: float | None = None) -> T:
    """Like :func:`run_on_connection`, but ``consume`` gets the query's relation and reads
    it however it likes (``batches(rel)`` streams record batches in bounded memory); the
    time limit covers the whole consumption."""
    check_readonly_sql(sql)
    con.execute("BEGIN TRANSACTION READ ONLY")
    try:
        return guarded(con, lambda: consume(con.sql(sql, params=params)), timeout)
    except duckdb.Error as exc:
        raise WorkbenchError(f"SQL error: {_first_lines(exc)}") from exc
    finally:
        _rollback(con)


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    """End the read-only transaction; a result left open by a consumer that stopped
    early (a broken pipe) is dropped first. Nothing was written, so nothing is lost."""
    try:
        con.execute("ROLLBACK")
    except duckdb.Error:
        import gc

        gc.collect()  # frees an abandoned Arrow stream still holding the result
        try:
            con.execute("ROLLBACK")
        except duckdb.Error as exc:
            log.debug("rollback of a read-only statement failed: %s", exc)


Relation = duckdb.DuckDBPyRelation
"""The result a ``stream_readonly_sql`` consumer receives (named here so that callers
outside the store need not import duckdb)."""


def batches(rel: duckdb.DuckDBPyRelation, rows: int = BATCH_ROWS) -> pa.RecordBatchReader:
    """The relation's result as a stream of Arrow record batches (DuckDB streams them:
    memory stays bounded by a few batches whatever the result size)."""
    reader = getattr(rel, "to_arrow_reader", None) or rel.fetch_arrow_reader
    return reader(rows)


def run_readonly_sql(db_path: str | Path | None, sql: str, params: Params = None,
                     timeout: float | None = None,
                     on_note: Callable[[str], None] | None = None) -> pl.DataFrame:
    """Run one read-only statement against the trace database at ``db_path`` (see
    :func:`stream_readonly_sql` for ``timeout`` and ``on_note``)."""
    return stream_readonly_sql(db_path, sql, lambda rel: rel.pl(), params, timeout, on_note)


def stream_readonly_sql(db_path: str | Path | None, sql: str,
                        consume: Callable[[duckdb.DuckDBPyRelation], T],
                        params: Params = None, timeout: float | None = None,
                        on_note: Callable[[str], None] | None = None) -> T:
    """Run one read-only statement on the file at ``db_path`` and hand its relation to
    ``consume``. If another process is writing the file, the statement runs on the
    writer's latest published snapshot (see :mod:`workbench.store.snapshot`) and
    ``on_note`` (default: a log warning) is told how old that snapshot is."""
    check_readonly_sql(sql)
    store = open_store_for(db_path)
    if store is not None:
        cur = store.cursor()
        try:
            return stream_on_connection(cur, sql, consume, params, timeout)
        finally:
            store.release(cur)
    path = canonical(db_path)
    if path == ":memory:":
        raise WorkbenchError("A ':memory:' database exists only inside its Store; use "
                             "store.sql(...) on it.")
    con = _connect_for_reading(path, on_note)
    try:
        return stream_on_connection(con, sql, consume, params, timeout)
    finally:
        con.close()


def _connect_for_reading(path: str, on_note: Callable[[str], None] | None
                         ) -> duckdb.DuckDBPyConnection:
    """A read-only connection to ``path``, or to its snapshot while a writer holds it."""
    from workbench.store.errors import is_lock_error

    try:
        return connect(path, read_only=True)
    except WorkbenchError as exc:
        if not is_lock_error(exc):
            raise
        from workbench.store.snapshot import connect_snapshot

        con, note = connect_snapshot(path, exc)
    if note is not None:
        (on_note or log.warning)(note)
    return con


def _first_lines(exc: Exception, n: int = 6) -> str:
    """DuckDB's message without the long tail (it can quote whole queries)."""
    return "\n".join(str(exc).splitlines()[:n])
