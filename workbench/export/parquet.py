"""Export trace tables to Parquet: one file per table, optionally only some runs.

Why Parquet: it is what pandas, polars, DuckDB, Spark and R all read, with types intact,
so a trace can leave the workbench for any analysis stack. Why through polars and not
DuckDB's ``COPY ... TO``: the store's database is opened with external access disabled
(so user SQL cannot touch files), which also blocks ``COPY TO``; polars writes the frames
instead. Text columns are written as stored (see :mod:`workbench.store.textcodec`: only
lone surrogates and U+10FFFF are escaped); JSON columns stay JSON text.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from workbench.errors import WorkbenchError
from workbench.export._source import store_for

if TYPE_CHECKING:
    from workbench.store.store import Store


def trace_tables(store: Store) -> list[tuple[str, bool]]:
    """(table, has a run_id column) for every table of the store except bookkeeping ones
    (names starting with ``_``), so tables added by later migrations are exported too."""
    frame = store.query("""
        SELECT t.table_name,
               bool_or(c.column_name = 'run_id') AS has_run_id
        FROM duckdb_tables() t JOIN duckdb_columns() c
          ON c.table_name = t.table_name AND c.schema_name = t.schema_name
        WHERE t.schema_name = 'main' AND NOT starts_with(t.table_name, '_')
        GROUP BY t.table_name ORDER BY t.table_name""")
    return [(str(name), bool(has)) for name, has in frame.iter_rows()]


def _check_runs(store: Store, run_ids: Sequence[str]) -> None:
    known = set(store.runs(list(run_ids))["run_id"].to_list())
    missing = [r for r in run_ids if r not in known]
    if missing:
        raise WorkbenchError(f"No run(s) {', '.join(missing)} in {store.path}; list the runs "
                             "with `workbench runs`.")


def export_parquet(source: Store | str | Path, out_dir: str | Path,
                   run_ids: Sequence[str] | None = None) -> dict[str, Path]:
    """Write ``<out_dir>/<table>.parquet`` for every trace table; return table -> file.

    ``source`` is a trace database path or an open ``Store``. ``run_ids`` limits tables
    that have a ``run_id`` column to those runs (unknown ids raise WorkbenchError); a
    table is written even when it has no rows, so readers always find every file.
    """
    if isinstance(run_ids, str):
        run_ids = [run_ids]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    with store_for(source) as store:
        if run_ids is not None:
            _check_runs(store, run_ids)
        for table, has_run_id in trace_tables(store):
            sql, params = f'SELECT * FROM "{table}"', None
            if run_ids is not None and has_run_id:
                marks = ", ".join("?" * len(run_ids))
                sql, params = f"{sql} WHERE run_id IN ({marks})", list(run_ids)
            target = out / f"{table}.parquet"
            store.query(sql, params).write_parquet(target)
            written[table] = target
    return written
