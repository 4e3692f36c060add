"""Schema migrations: applied once, recorded, idempotent, and version-checked on open."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from workbench.errors import WorkbenchError
from workbench.store.migrations import MIGRATIONS, migrate
from workbench.store.store import Store

TABLES = {"runs", "run_status", "samples", "paths", "votes", "rounds", "_migrations"}


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables").fetchall()}


def test_migrate_twice_is_idempotent() -> None:
    con = duckdb.connect(":memory:")
    assert migrate(con) == len(MIGRATIONS)
    assert migrate(con) == len(MIGRATIONS)
    assert TABLES <= _tables(con)
    versions = con.execute("SELECT version FROM _migrations ORDER BY version").fetchall()
    assert versions == [(i,) for i in range(1, len(MIGRATIONS) + 1)]


def test_reopening_a_file_does_not_reapply(db_path: Path) -> None:
    with Store.open(db_path) as store:
        store.con.execute("INSERT INTO run_status (run_id, status, \"at\") VALUES ('r', 'ok', now())")
    with Store.open(db_path) as store:
        assert store.counts()["run_status"] == 1
        n = store.query("SELECT count(*) AS n FROM _migrations")["n"][0]
        assert n == len(MIGRATIONS)
    with Store.open(db_path, read_only=True) as store:
        assert store.counts()["run_status"] == 1


def test_newer_schema_is_refused(db_path: Path) -> None:
    Store.open(db_path).close()
    con = duckdb.connect(str(db_path))
    con.execute("INSERT INTO _migrations VALUES (?, now())", [len(MIGRATIONS) + 1])
    con.close()
    for read_only in (False, True):
        with pytest.raises(WorkbenchError, match="newer than this workbench"):
            Store.open(db_path, read_only=read_only)


def test_read_only_open_of_foreign_or_missing_file(tmp_path: Path) -> None:
    with pytest.raises(WorkbenchError, match="No trace database"):
        Store.open(tmp_path / "missing.duckdb", read_only=True)
    other = tmp_path / "other.duckdb"
    duckdb.connect(str(other)).close()
    with pytest.raises(WorkbenchError, match="not a workbench trace database"):
        Store.open(other, read_only=True)
    garbage = tmp_path / "garbage.duckdb"
    garbage.write_bytes(b"not a database at all" * 100)
    with pytest.raises(WorkbenchError, match="not a trace database this DuckDB can read"):
        Store.open(garbage)


def test_default_path_comes_from_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "sub" / "env.duckdb"
    monkeypatch.setenv("WORKBENCH_DB", str(target))
    with Store.open() as store:
        assert store.path == str(target.resolve())
    assert target.exists()


def test_connection_is_locked_down(mem_store: Store) -> None:
    settings = dict(mem_store.con.execute(
        "SELECT name, value FROM duckdb_settings() WHERE name IN ('enable_external_access', "
        "'lock_configuration', 'autoinstall_known_extensions', 'autoload_known_extensions')"
    ).fetchall())
    assert settings == {"enable_external_access": "false", "lock_configuration": "true",
                        "autoinstall_known_extensions": "false",
                        "autoload_known_extensions": "false"}


def test_same_process_read_only_while_open_read_write(db_path: Path) -> None:
    with Store.open(db_path) as store:
        with pytest.raises(WorkbenchError, match="already open in this process"):
            Store.open(db_path, read_only=True)
        assert store.sql("SELECT count(*) AS n FROM runs WHERE run_id = ?", ["x"])["n"][0] == 0
    with pytest.raises(WorkbenchError, match="cannot be opened read-only"):
        Store.open(":memory:", read_only=True)
    closed = Store.open(db_path)
    closed.close()
    with pytest.raises(WorkbenchError, match="is closed"):
        closed.runs()
