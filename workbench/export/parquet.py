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
    """(table, has a run_id column) for every exported table: :meth:`Store.trace_tables`."""
    return store.trace_tables()


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
        for table, _ in store.trace_tables():
            target = out / f"{table}.parquet"
            store.table_rows(table, run_ids).write_parquet(target)
            written[table] = target
    return written
