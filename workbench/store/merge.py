"""Merge trace files (e.g. the shards of a sweep run on many machines) into one, idempotently.

Every table is append-only, so a merge is a union: a row is copied unless the target already
has a row with the same key. Re-merging a file therefore adds nothing. Two files that hold
the same key with different *content* (not just other timestamps) are a conflict: the
target's row is kept, and the conflict is counted and reported, never silently resolved.

Sources are only read. One whose schema is older than this workbench's is migrated in a
temporary copy first, so the user's file is left as it was.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from workbench.errors import WorkbenchError
from workbench.store.migrations import MIGRATIONS
from workbench.store.store import Store, connect, schema_version

KEYS: dict[str, tuple[str, ...]] = {
    "runs": ("run_id",),
    "samples": ("run_id", "sample_id"),
    "paths": ("run_id", "path_id"),
    "rounds": ("run_id", "sample_id", "round"),
    "path_requests": ("run_id", "path_id"),
    "grade_overrides": ("override_id",),
    "regrades": ("regrade_id", "run_id", "sample_id", "path_id"),
}
"""A row's identity per table; tables not listed (status logs, ...) are keyed by the whole row."""

VOLATILE = {"created_at", "at", "started_at", "finished_at", "applied_at", "versions"}
"""Columns that differ between two honest copies of one row (when and where it was written)."""

BATCH_ROWS = 100_000


@dataclass
class TableMerge:
    """What merging one table of one source did."""

    table: str
    added: int = 0
    already_there: int = 0
    conflicts: int = 0
    conflict_keys: list[tuple[object, ...]] = field(default_factory=list)


@dataclass
class MergeReport:
    """Per source file, per table: rows added, rows already present, conflicts."""

    into: str
    sources: dict[str, list[TableMerge]] = field(default_factory=dict)

    @property
    def added(self) -> int:
        return sum(t.added for tables in self.sources.values() for t in tables)

    @property
    def conflicts(self) -> int:
        return sum(t.conflicts for tables in self.sources.values() for t in tables)


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    rows = con.execute("SELECT column_name FROM information_schema.columns "
                       "WHERE table_name = ? ORDER BY ordinal_position", [table]).fetchall()
    return [r[0] for r in rows]


def _tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute("SELECT table_name FROM information_schema.tables WHERE table_name "
                       "<> '_migrations' AND table_type = 'BASE TABLE' ORDER BY table_name").fetchall()
    return [r[0] for r in rows]


@contextmanager
def _readable(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to ``path`` at the current schema (a migrated temp copy if older)."""
    if not path.is_file():
        raise WorkbenchError(f"{path}: no such trace file.")
    con = connect(str(path), read_only=True)
    version = schema_version(con)
    if version is None:
        con.close()
        raise WorkbenchError(f"{path} is not a workbench trace database (no _migrations table).")
    if version >= len(MIGRATIONS):
        try:
            yield con
        finally:
            con.close()
        return
    con.close()
    with tempfile.TemporaryDirectory(prefix="wb-merge-") as tmp:
        copy = Path(tmp) / path.name
        shutil.copyfile(path, copy)
        Store.open(copy).close()  # migrates the copy only
        con = connect(str(copy), read_only=True)
        try:
            yield con
        finally:
            con.close()


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _merge_table(src: duckdb.DuckDBPyConnection, dst: duckdb.DuckDBPyConnection,
                 table: str) -> TableMerge:
    cols = _columns(src, table)
    missing = set(cols) - set(_columns(dst, table))
    if missing:
        raise WorkbenchError(f"table {table}: columns {sorted(missing)} of the source are not "
                             "in the target; upgrade the workbench that made the target.")
    key = KEYS.get(table, tuple(cols))
    content = [c for c in cols if c not in VOLATILE]
    on = " AND ".join(f"t.{_quote(k)} IS NOT DISTINCT FROM i.{_quote(k)}" for k in key)
    same = " AND ".join(f"t.{_quote(c)} IS NOT DISTINCT FROM i.{_quote(c)}" for c in content)
    col_list = ", ".join(_quote(c) for c in cols)
    result = TableMerge(table)
    reader = src.sql(f"SELECT {col_list} FROM {_quote(table)}").to_arrow_reader(BATCH_ROWS)
    for batch in reader:
        dst.register("incoming", batch)
        try:
            known = dst.execute(f"SELECT count(*) FROM incoming i WHERE EXISTS "
                                f"(SELECT 1 FROM {_quote(table)} t WHERE {on})").fetchone()
            clash = dst.execute(
                f"SELECT {', '.join('i.' + _quote(k) for k in key)} FROM incoming i "
                f"WHERE EXISTS (SELECT 1 FROM {_quote(table)} t WHERE {on}) AND NOT EXISTS "
                f"(SELECT 1 FROM {_quote(table)} t WHERE {on} AND {same})").fetchall()
            added = dst.execute(
                f"INSERT INTO {_quote(table)} ({col_list}) SELECT {col_list} FROM incoming i "
                f"WHERE NOT EXISTS (SELECT 1 FROM {_quote(table)} t WHERE {on})").fetchone()
        finally:
            dst.unregister("incoming")
        result.added += int(added[0]) if added else 0
        result.already_there += int(known[0]) - len(clash) if known else 0
        result.conflicts += len(clash)
        result.conflict_keys.extend(tuple(r) for r in clash[:20 - len(result.conflict_keys)])
    return result


def merge_files(sources: Sequence[str | Path], into: str | Path) -> MergeReport:
    """Merge every table of every source into ``into`` (created if missing), one
    transaction per source: a failure leaves the target as it was before that source."""
    target = Path(into).resolve()
    report = MergeReport(str(target))
    with Store.open(target) as store:
        for source in sources:
            path = Path(source).resolve()
            if path == target:
                raise WorkbenchError(f"{source} is the merge target itself.")
            with _readable(path) as src:
                store.con.execute("BEGIN TRANSACTION")
                try:
                    tables = [_merge_table(src, store.con, t) for t in _tables(src)]
                    store.con.execute("COMMIT")
                except BaseException:
                    store.con.execute("ROLLBACK")
                    raise
            report.sources[str(source)] = tables
    return report
