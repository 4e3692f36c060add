"""The DuckDB trace store: open (and migrate) a file, read it back as polars frames.

Design choices, and why:

* Connection config is locked down for every connection, including the writer's:
  ``autoinstall/autoload_known_extensions=false`` (DuckDB would otherwise download
  extensions at run time), ``enable_external_access=false`` (no file, URL or extension
  access, and no implicit scans of Python variables) and ``lock_configuration=true``.
  In DuckDB 2.0 these are per *database*, not per connection, and external access cannot
  be re-enabled once off; locking the whole in-process database is therefore what makes it
  safe to run user-typed SQL in a notebook on the same open file (:meth:`Store.sql`).
  Library code that needs a frame in SQL passes it explicitly (``query(..., frames=)``).
* One writer process per file is DuckDB's rule: a second process fails at once, so the
  failure is translated into a message naming the process that holds the lock.
* Frames keep stored text as stored (see :mod:`workbench.store.textcodec`); JSON columns
  (params, prompts, versions, meta, counts) come back as strings, :func:`decode_json`
  turns them into Python objects.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import duckdb
import polars as pl

from workbench.errors import WorkbenchError
from workbench.store import connection, spool
from workbench.store.connection import (  # noqa: F401  (re-exported: the store's API)
    BASE_CONFIG,
    MEMORY,
    TABLES,
    canonical,
    check_schema,
    connect,
    default_db_path,
    schema_version,
    table_counts,
)
from workbench.store.errors import make_parent
from workbench.store.queries import Queries
from workbench.store.sql import run_on_connection
from workbench.store.textcodec import loads_json

_log = logging.getLogger("workbench.store")


def open_store_for(path: str | Path | None) -> Store | None:
    """The Store already open on this file in this process, if any."""
    store = connection.open_store_for(path)
    return store if isinstance(store, Store) else None


class Store(Queries):
    """An open trace database. Use :meth:`open`; close it (or use ``with``) to release the
    file lock so other processes can read it."""

    def __init__(self, con: duckdb.DuckDBPyConnection, path: str, read_only: bool) -> None:
        self.con = con
        self.path = path
        self.read_only = read_only
        self.closed = False
        self._cursors: list[duckdb.DuckDBPyConnection] = []
        self._closers: list[Callable[[], None]] = []
        self._after: list[Callable[[], None]] = []
        self.snapshot_of: str | None = None  # the file this is a reader's snapshot of
        self.note: str | None = None  # what the user was told at open (spool, snapshot)

    # ---- lifecycle -------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | Path | None = None, read_only: bool = False, *,
             spool_if_locked: bool = False,
             on_note: Callable[[str], None] | None = None) -> Store:
        """Open (creating and migrating if read-write) the database at ``path``.

        ``path`` defaults to ``$WORKBENCH_DB`` or ``./traces.duckdb``; ``":memory:"`` gives a
        throw-away database (tests, demos). With ``spool_if_locked``, a file held by another
        process gives a spool store next to it instead of an error, and a read-write open
        merges waiting spools (see :mod:`workbench.store.spool`). A read-only open of a file
        another process is writing opens the snapshot that writer publishes
        (:mod:`workbench.store.snapshot`; ``store.snapshot_of`` names the file). Either
        way the user is told (``on_note``, default a log warning) and ``store.note`` keeps
        the message."""
        target = canonical(path)
        if target != MEMORY and not read_only:
            make_parent(target)
        try:
            con = connect(target, read_only)
        except WorkbenchError as exc:
            if spool_if_locked and not read_only and spool.is_lock_error(exc):
                return spool.open_spool(target, exc, cls.open, on_note)  # type: ignore[return-value]
            if read_only and spool.is_lock_error(exc):
                return cls._open_snapshot(target, exc, on_note)
            raise
        return cls._finish_open(con, target, read_only)

    @classmethod
    def _finish_open(cls, con: duckdb.DuckDBPyConnection, target: str, read_only: bool
                     ) -> Store:
        """Check/migrate the schema, register the store, merge spools, start publishing."""
        from workbench.store import snapshot, spool

        try:
            check_schema(con, target, read_only)
        except BaseException:
            con.close()
            raise
        store = cls(con, target, read_only)
        connection.register_open(store._key(), store)
        if target != MEMORY and not read_only:
            spool.ingest_on_open(store, cls.open)
            if spool.main_path_of(store) is None:  # a spool: new, and no readers to serve
                from workbench.store.liveness import mark_on_open

                mark_on_open(store)
                snapshot.start_publisher(store)
        return store

    @classmethod
    def _open_snapshot(cls, target: str, exc: WorkbenchError,
                       on_note: Callable[[str], None] | None) -> Store:
        """The writer's snapshot of ``target``, read-only (see ``open``)."""
        from workbench.store.snapshot import connect_snapshot, snapshot_path

        con, note = connect_snapshot(target, exc)
        if note is None:  # the writer closed the file meanwhile: this is the file itself
            return cls._finish_open(con, target, True)
        store = cls._finish_open(con, str(snapshot_path(target)), True)
        store.snapshot_of, store.note = target, note
        (on_note or _log.warning)(note)
        return store

    def ingest_spools(self) -> list[spool.Ingested]:
        """Merge runs that other processes spooled while this one held the file; returns
        one :class:`workbench.store.spool.Ingested` per merged spool."""
        self._check_open()
        return spool.ingest_spools(self, type(self).open)

    def _key(self) -> str:
        """Registry key: the file, or a unique name for each in-memory database."""
        return f"{MEMORY}#{id(self)}" if self.path == MEMORY else self.path

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A second connection to the same database (own transactions; closed with us)."""
        self._check_open()
        cur = self.con.cursor()
        self._cursors.append(cur)
        return cur

    def release(self, cur: duckdb.DuckDBPyConnection) -> None:
        """Close a cursor from :meth:`cursor` before the Store closes."""
        if cur in self._cursors:
            self._cursors.remove(cur)
        cur.close()

    def on_close(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` first when the Store closes (recorders commit what they hold)."""
        self._closers.append(callback)

    def after_close(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once the database is closed (release what must outlive it)."""
        self._after.append(callback)

    def remove_on_close(self, callback: Callable[[], None]) -> None:
        if callback in self._closers:
            self._closers.remove(callback)

    def close(self) -> None:
        """Let recorders commit, then close every connection (the last one checkpoints)."""
        if self.closed:
            return
        failure: BaseException | None = None
        for callback in list(self._closers):
            try:
                callback()
            except Exception as exc:  # close the file anyway, then report
                failure = failure or exc
        self._closers.clear()
        self.closed = True
        for cur in self._cursors:
            cur.close()
        self._cursors.clear()
        self.con.close()
        for callback in self._after:
            callback()
        connection.unregister_open(self._key(), self)
        if failure is not None:
            raise failure

    def __enter__(self) -> Store:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        mode = "closed" if self.closed else ("read-only" if self.read_only else "read-write")
        return f"Store({self.path!r}, {mode})"

    def _check_open(self) -> None:
        if self.closed:
            raise WorkbenchError(f"The store {self.path} is closed; open it again with "
                                 "Store.open(path).")

    # ---- queries ---------------------------------------------------------------------
    def query(self, sql: str, params: Sequence[Any] | Mapping[str, Any] | None = None, *,
              frames: Mapping[str, pl.DataFrame] | None = None) -> pl.DataFrame:
        """Run trusted (library) SQL with bound parameters; the result as a polars frame.

        ``frames`` are registered under their names for this query only (implicit scans
        of Python variables are off, see the module docstring)."""
        self._check_open()
        cur = self.con.cursor()
        try:
            for name, frame in (frames or {}).items():
                cur.register(name, frame)
            return cur.sql(sql, params=params).pl()
        except duckdb.Error as exc:
            raise WorkbenchError(f"Query failed: {exc}") from exc
        finally:
            cur.close()

    def sql(self, sql: str, params: Sequence[Any] | Mapping[str, Any] | None = None, *,
            timeout: float | None = None) -> pl.DataFrame:
        """Run user-typed SQL: one read-only statement, no file access, no writes.

        ``timeout`` (seconds; ``None`` for no limit) interrupts a runaway statement with
        :class:`workbench.store.sqlguard.SqlTimeout`; a kernel interrupt (Ctrl-C) stops it
        at once with :class:`~workbench.store.sqlguard.SqlInterrupted`."""
        self._check_open()
        cur = self.con.cursor()
        try:
            return run_on_connection(cur, sql, params, timeout)
        finally:
            cur.close()

    def runs(self, run_id: str | Sequence[str] | None = None) -> pl.DataFrame:
        """Runs with their latest status (``status``, ``status_at``, ``wall_ms``, ``error``)."""
        where, params = _where(("r.run_id", run_id))
        return self.query(f"""
            SELECT r.*, s.status, s."at" AS status_at, s.wall_ms, s.error
            FROM runs r LEFT JOIN (
                SELECT * FROM run_status
                QUALIFY row_number() OVER (PARTITION BY run_id ORDER BY "at" DESC, rowid DESC) = 1
            ) s USING (run_id)
            {where} ORDER BY r.created_at, r.run_id""", params)

    def samples(self, run_id: str | Sequence[str] | None = None, *,
                item_id: str | Sequence[str] | None = None,
                correct: bool | None = None, graded: bool = True) -> pl.DataFrame:
        """One row per scored task item. ``graded`` (default): ``answer``/``correct`` are the
        effective grade (latest regrade, then override; :mod:`workbench.store.grades`),
        with ``stored_*`` and ``grade_source`` columns; ``graded=False``: the raw table."""
        where, params = _where(("run_id", run_id), ("item_id", item_id), ("correct", correct))
        table = "graded_samples" if graded else "samples"
        return self.query(f"SELECT * FROM {table} {where} "
                          "ORDER BY created_at, run_id, item_index", params)

    def paths(self, run_id: str | Sequence[str] | None = None,
              sample_id: str | Sequence[str] | None = None, *,
              role: str | Sequence[str] | None = None, text: bool = True,
              graded: bool = True) -> pl.DataFrame:
        """One row per generation; ``text=False`` leaves out ``prompt`` and ``text``;
        ``graded`` as in :meth:`samples` (``graded=False``: the raw table)."""
        where, params = _where(("run_id", run_id), ("sample_id", sample_id), ("role", role))
        cols = "*" if text else "* EXCLUDE (prompt, text)"
        table = "graded_paths" if graded else "paths"
        return self.query(f"SELECT {cols} FROM {table} {where} "
                          "ORDER BY started_at, run_id, sample_id, idx", params)

    def votes(self, run_id: str | Sequence[str] | None = None,
              sample_id: str | Sequence[str] | None = None) -> pl.DataFrame:
        """Votes (``counts`` is JSON text: answer -> weight; see :func:`counts_long`)."""
        where, params = _where(("run_id", run_id), ("sample_id", sample_id))
        return self.query(f"SELECT * FROM votes {where} ORDER BY created_at, run_id", params)

    def rounds(self, run_id: str | Sequence[str] | None = None,
               sample_id: str | Sequence[str] | None = None) -> pl.DataFrame:
        """Refinement rounds: answer after each round, verifier verdict, correctness."""
        where, params = _where(("run_id", run_id), ("sample_id", sample_id))
        return self.query(f"SELECT * FROM rounds {where} "
                          "ORDER BY created_at, run_id, sample_id, round", params)

    def search_steps(self, run_id: str, sample_id: str | None = None) -> pl.DataFrame:
        """One row per reasoning step of a search run (beam, dvts), in generation order.

        A step is a ``paths`` row with role ``step`` (parent = the previous step, ``step``,
        ``score`` / ``scorer``, ``kept``); each scorer call is a row with role ``score``
        whose parent is the step. A tree view needs both: each step comes with its
        scorer's calls, tokens, latency and error (``score_error``: a reward model that
        failed leaves the step unscored). The tree is built by pure code
        (:mod:`workbench.analysis.search_tree`). Text stays in stored form."""
        params: list[str] = [run_id, run_id]
        sample = ""
        if sample_id is not None:
            sample, params = "AND p.sample_id = ?", [*params, sample_id]
        return self.query(_SEARCH_STEPS.replace("{sample}", sample), params)

    def counts(self) -> dict[str, int]:
        """Row count per table (cheap health check)."""
        return table_counts(self.con)


_SEARCH_STEPS = """
WITH sc AS (
    SELECT run_id, parent_id AS path_id,
           count(*) AS score_calls,
           sum(coalesce(tokens_in, 0) + coalesce(tokens_out, 0)) AS score_tokens,
           sum(coalesce(latency_ms, 0)) AS score_latency_ms,
           string_agg(error, '; ') FILTER (WHERE error IS NOT NULL) AS score_error
    FROM paths WHERE role = 'score' AND run_id = ?
    GROUP BY run_id, parent_id
)
SELECT p.run_id, p.sample_id, p.path_id, p.parent_id, p.step, p.idx, p.text, p.answer,
       p.stored_answer,
       p.answer_rule, p.correct, p.score, p.scorer, p.kept, p.finish_reason, p.truncated,
       p.tokens_in, p.tokens_out, p.error, p.started_at, p.finished_at,
       coalesce(sc.score_calls, 0) AS score_calls,
       coalesce(sc.score_tokens, 0) AS score_tokens,
       sc.score_latency_ms, sc.score_error
FROM graded_paths p LEFT JOIN sc ON sc.run_id = p.run_id AND sc.path_id = p.path_id
WHERE p.role = 'step' AND p.run_id = ? {sample}
ORDER BY p.sample_id, p.step, p.started_at, p.idx, p.path_id
"""
"""The steps of a run joined with what their scoring cost (see :meth:`Store.search_steps`)."""


def _where(*filters: tuple[str, Any]) -> tuple[str, list[Any]]:
    """A WHERE clause with bound parameters; a sequence value means ``IN (...)``."""
    parts: list[str] = []
    params: list[Any] = []
    for column, value in filters:
        if value is None:
            continue
        if isinstance(value, Sequence) and not isinstance(value, str):
            values = list(value)
            if not values:
                parts.append("false")
                continue
            parts.append(f"{column} IN ({', '.join('?' * len(values))})")
            params.extend(values)
        else:
            parts.append(f"{column} = ?")
            params.append(value)
    return ("WHERE " + " AND ".join(parts) if parts else ""), params


def decode_json(df: pl.DataFrame, column: str) -> list[Any]:
    """The Python objects held in a JSON column (e.g. ``decode_json(runs, "params")``)."""
    return [loads_json(v) for v in df[column].to_list()]


def with_json_struct(df: pl.DataFrame, *columns: str) -> pl.DataFrame:
    """Replace JSON text columns by polars structs (good for params/meta, whose keys repeat).

    The struct schema is inferred from all rows; text stays in stored form."""
    return df.with_columns([
        pl.Series(c, [json.loads(v) if v is not None else None for v in df[c].to_list()],
                  strict=False) for c in columns])


def counts_long(votes: pl.DataFrame) -> pl.DataFrame:
    """Votes unpivoted: one row per (run_id, sample_id, method, answer) with its count.

    Answers stay in stored form (see :mod:`workbench.store.textcodec`): polars cannot hold
    lone surrogates."""
    rows: list[dict[str, Any]] = []
    for run_id, sample_id, method, counts in votes.select(
            "run_id", "sample_id", "method", "counts").iter_rows():
        for answer, count in (json.loads(counts) if counts else {}).items():
            rows.append({"run_id": run_id, "sample_id": sample_id, "method": method,
                         "answer": answer, "count": float(count)})
    schema = {"run_id": pl.String, "sample_id": pl.String, "method": pl.String,
              "answer": pl.String, "count": pl.Float64}
    return pl.DataFrame(rows, schema=schema)
