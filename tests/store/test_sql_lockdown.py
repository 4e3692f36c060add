"""User SQL can read the traces and nothing else: no files, no extensions, no writes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from workbench.errors import WorkbenchError
from workbench.store.recorder import record_all
from workbench.store.sql import run_readonly_sql
from workbench.store.store import Store
from workbench.store.synthetic import synthetic_run


@pytest.fixture(scope="module", params=["separate_connection", "in_process_store"])
def sql_target(request: pytest.FixtureRequest,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A recorded database, queried either from a fresh read-only connection (the CLI) or
    while this process holds it open read-write (a notebook). Shared by the module: every
    test checks that it left the data unchanged."""
    db_path = tmp_path_factory.mktemp("sql") / "traces.duckdb"
    with Store.open(db_path) as store:
        record_all(store, synthetic_run("r", n_items=2, n_paths=2))
    if request.param == "separate_connection":
        yield db_path
        return
    with Store.open(db_path) as store:
        yield db_path
        assert store.counts()["samples"] == 2  # still intact and usable


def _counts(db_path: Path) -> dict[str, int]:
    df = run_readonly_sql(db_path, "SELECT (SELECT count(*) FROM runs) AS runs, "
                                   "(SELECT count(*) FROM samples) AS samples, "
                                   "(SELECT count(*) FROM paths) AS paths")
    return df.row(0, named=True)


REFUSED = [
    ("SELECT count(*) FROM read_csv('/etc/passwd')", "disabled by configuration"),
    ("SELECT * FROM read_text('/etc/passwd')", "disabled by configuration"),
    ("SELECT * FROM glob('/etc/*')", "disabled by configuration"),
    ("SELECT * FROM '/etc/passwd'", "does not exist"),
    ("COPY runs TO '{tmp}/out.csv'", "COPY statement"),
    ("INSTALL httpfs", "LOAD statement"),
    ("LOAD httpfs", "LOAD statement"),
    ("ATTACH ':memory:' AS m", "ATTACH statement"),
    ("ATTACH '{tmp}/other.duckdb' AS o", "ATTACH statement"),
    ("INSERT INTO runs (run_id) VALUES ('x')", "INSERT statement"),
    ("DELETE FROM samples", "DELETE statement"),
    ("DROP TABLE paths", "DROP statement"),
    ("UPDATE samples SET correct = false", "UPDATE statement"),
    ("CREATE TABLE x AS SELECT 1", "CREATE statement"),
    ("WITH d AS (DELETE FROM samples RETURNING *) SELECT count(*) FROM d", "read-only"),
    ("EXPLAIN ANALYZE DELETE FROM samples", "read-only"),
    ("SELECT * FROM query('DELETE FROM samples')", "single SELECT"),
    ("SELECT 1; DROP TABLE paths", "one statement at a time"),
    ("SET enable_external_access = true", "SET statement"),
    ("PRAGMA enable_profiling", "PRAGMA statement"),
    ("CHECKPOINT", "CALL statement"),
    ("BEGIN TRANSACTION", "TRANSACTION statement"),
]


@pytest.mark.parametrize(("sql", "message"), REFUSED)
def test_refused(sql_target: Path, tmp_path: Path, sql: str, message: str) -> None:
    before = _counts(sql_target)
    with pytest.raises(WorkbenchError, match=message):
        run_readonly_sql(sql_target, sql.format(tmp=tmp_path))
    assert _counts(sql_target) == before
    assert not (tmp_path / "out.csv").exists() and not (tmp_path / "other.duckdb").exists()


def test_reads_work(sql_target: Path) -> None:
    df = run_readonly_sql(sql_target, "SELECT technique, count(*) AS n FROM samples "
                                      "JOIN runs USING (run_id) WHERE run_id = ? GROUP BY 1",
                          ["r"])
    assert df.rows() == [("sc", 2)]
    assert "column_name" in run_readonly_sql(sql_target, "DESCRIBE paths").columns
    assert run_readonly_sql(sql_target, "SHOW TABLES").height >= 6
    assert run_readonly_sql(sql_target, "FROM votes").height == 2
    assert run_readonly_sql(sql_target, "EXPLAIN SELECT 1").height >= 1


def test_sql_errors_carry_duckdb_message(sql_target: Path) -> None:
    with pytest.raises(WorkbenchError, match="SQL error: .*syntax error"):
        run_readonly_sql(sql_target, "SELEC 1")
    with pytest.raises(WorkbenchError, match="SQL error: .*no_such_column"):
        run_readonly_sql(sql_target, "SELECT no_such_column FROM runs")
    with pytest.raises(WorkbenchError, match="No SQL statement"):
        run_readonly_sql(sql_target, "  ")


def test_engine_refuses_files_even_to_library_code(mem_store: Store, tmp_path: Path) -> None:
    """Layer 3 on its own: the database itself has external access off."""
    with pytest.raises(WorkbenchError, match="disabled by configuration"):
        mem_store.query("SELECT * FROM read_csv('/etc/passwd')")
    with pytest.raises(WorkbenchError, match="disabled by configuration"):
        mem_store.query(f"COPY runs TO '{tmp_path}/x.csv'")
    with pytest.raises(WorkbenchError, match="locked"):
        mem_store.query("SET enable_external_access = true")
    assert not (tmp_path / "x.csv").exists()


def test_missing_database(tmp_path: Path) -> None:
    with pytest.raises(WorkbenchError, match="No trace database"):
        run_readonly_sql(tmp_path / "none.duckdb", "SELECT 1")


def test_two_stores_on_one_file_in_one_process(db_path: Path) -> None:
    first = Store.open(db_path)
    second = Store.open(db_path)  # same DuckDB instance, shared
    try:
        second.close()
        assert run_readonly_sql(db_path, "SELECT count(*) AS n FROM runs")["n"][0] == 0
    finally:
        first.close()
    assert run_readonly_sql(db_path, "SELECT count(*) AS n FROM runs")["n"][0] == 0
