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
it and the error names that process.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from workbench.errors import WorkbenchError
from workbench.store.connection import canonical, connect, open_store_for

ALLOWED = frozenset({"SELECT", "EXPLAIN"})
Params = Sequence[Any] | Mapping[str, Any] | None


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


def run_on_connection(con: duckdb.DuckDBPyConnection, sql: str, params: Params = None
                      ) -> pl.DataFrame:
    """Run checked user SQL on ``con`` in a read-only transaction that is rolled back."""
    check_readonly_sql(sql)
    con.execute("BEGIN TRANSACTION READ ONLY")
    try:
        return con.sql(sql, params=params).pl()
    except duckdb.Error as exc:
        raise WorkbenchError(f"SQL error: {_first_lines(exc)}") from exc
    finally:
        con.execute("ROLLBACK")


def run_readonly_sql(db_path: str | Path | None, sql: str, params: Params = None
                     ) -> pl.DataFrame:
    """Run one read-only statement against the trace database at ``db_path``."""
    check_readonly_sql(sql)
    store = open_store_for(db_path)
    if store is not None:
        return store.sql(sql, params)
    path = canonical(db_path)
    if path == ":memory:":
        raise WorkbenchError("A ':memory:' database exists only inside its Store; use "
                             "store.sql(...) on it.")
    con = connect(path, read_only=True)
    try:
        return run_on_connection(con, sql, params)
    finally:
        con.close()


def _first_lines(exc: Exception, n: int = 6) -> str:
    """DuckDB's message without the long tail (it can quote whole queries)."""
    return "\n".join(str(exc).splitlines()[:n])
