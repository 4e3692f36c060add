"""Upgrades keep old files readable: frozen files of release 0.1.0 open, migrate, and read
back unchanged, row for row and event for event.

The fixtures (``tests/store/fixtures``, made by ``make_release_fixture.py`` with the
release's code) are a trace file covering cot with budget forcing, sc, adaptive-sc,
refine, direct, an errored sample and Unicode text (lone surrogate included), and the
shipped ``data/scaling/scaling.duckdb`` as it was. Each test works on a copy in
``tmp_path``; the committed files are never opened.

Later migrations may add columns and tables, and events may gain optional fields: the
comparison is over the *golden* (old) columns and event fields, and everything else the
new code adds is allowed.
"""

from __future__ import annotations

import gzip
import hashlib
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest

from workbench.errors import WorkbenchError
from workbench.store.migrations import MIGRATIONS
from workbench.store.store import Store

FIXTURES = Path(__file__).resolve().parent / "fixtures"
sys.path.insert(0, str(FIXTURES))
from golden import read_golden, replayed, table_rows  # noqa: E402

NAMES = ["release-0.1.0", "scaling-0.1.0", "schema-7"]
"""Frozen files: release 0.1.0, the shipped scaling study, and a file at schema version 7
(the last before migration 8's search-step columns; ``make_schema7_fixture.py``)."""


def _copy(name: str, tmp_path: Path) -> Path:
    target = tmp_path / f"{name}.duckdb"
    target.write_bytes(gzip.decompress((FIXTURES / f"{name}.duckdb.gz").read_bytes()))
    return target


def _digest(name: str) -> str:
    return hashlib.sha256((FIXTURES / f"{name}.duckdb.gz").read_bytes()).hexdigest()


@pytest.mark.parametrize("name", NAMES)
def test_old_file_migrates_with_every_row_and_event_unchanged(name: str,
                                                              tmp_path: Path) -> None:
    _upgrade_and_compare(name, tmp_path)


def _m_later(con: duckdb.DuckDBPyConnection) -> None:
    """What a colleague's later migration may look like: new columns and a new table."""
    con.execute("ALTER TABLE paths ADD COLUMN extraction_rule VARCHAR")
    con.execute("ALTER TABLE samples ADD COLUMN grade_override BOOLEAN")
    con.execute("CREATE TABLE search_steps (run_id VARCHAR, step INTEGER)")


def test_the_comparison_survives_later_migrations(tmp_path: Path) -> None:
    """Migrations 4 and 5 will add columns and tables: old rows must still compare."""
    MIGRATIONS.append(_m_later)
    try:
        _upgrade_and_compare("release-0.1.0", tmp_path)
    finally:
        MIGRATIONS.remove(_m_later)


def _upgrade_and_compare(name: str, tmp_path: Path) -> None:
    before = _digest(name)
    golden = read_golden(FIXTURES / f"{name}.golden.json.gz")
    db = _copy(name, tmp_path)
    if golden["schema_version"] < len(MIGRATIONS):  # readers ask for one writer's open
        with pytest.raises(WorkbenchError, match="open it read-write once"):
            Store.open(db, read_only=True)
    Store.open(db).close()  # migrates (a writer's open)
    Store.open(db).close()  # a second open changes nothing more
    con = duckdb.connect(str(db), read_only=True)
    try:
        version = con.execute("SELECT max(version) FROM _migrations").fetchone()
        assert version is not None and version[0] == len(MIGRATIONS)
        for table, rows in golden["tables"].items():
            _check_table(con, table, rows)
    finally:
        con.close()
    _check_replay(golden["replay"], replayed(db))
    assert _digest(name) == before  # the committed fixture itself is untouched


def _check_table(con: duckdb.DuckDBPyConnection, table: str,
                 rows: list[dict[str, Any]]) -> None:
    columns = [r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ?",
        [table]).fetchall()]
    assert rows, f"golden table {table} is empty: the fixture would prove nothing"
    old = list(rows[0])
    missing = set(old) - set(columns)
    assert not missing, f"{table}: columns {missing} of release 0.1.0 are gone"
    now = table_rows(con, table, old)
    assert len(now) == len(rows), f"{table}: {len(rows)} rows before, {len(now)} after"
    for i, (a, b) in enumerate(zip(rows, now, strict=True)):
        assert a == b, f"{table} row {i} changed:\n  was {a}\n  now {b}"


def _check_replay(golden: dict[str, list[dict[str, Any]]],
                  now: dict[str, list[dict[str, Any]]]) -> None:
    assert set(now) == set(golden)
    for run_id, events in golden.items():
        got = now[run_id]
        assert len(got) == len(events), f"run {run_id}: {len(events)} events, now {len(got)}"
        for i, (old, new) in enumerate(zip(events, got, strict=True)):
            changed = {k: (v, new.get(k, "<missing>")) for k, v in old.items()
                       if new.get(k, "<missing>") != v}
            assert not changed, f"run {run_id} event {i} ({old['kind']}) changed: {changed}"


def test_golden_dumps_cover_what_they_claim() -> None:
    """The release fixture holds what the upgrade test is meant to protect."""
    golden = read_golden(FIXTURES / "release-0.1.0.golden.json.gz")
    tables = golden["tables"]
    techniques = {r["technique"] for r in tables["runs"]}
    assert {"cot", "sc", "adaptive-sc", "refine"} <= techniques
    assert any(r["role"] == "forced_answer" for r in tables["paths"])  # budget forcing
    assert any(r["error"] for r in tables["samples"])  # an errored sample
    assert any(not r["question"].isascii() for r in tables["samples"])
    assert any("\U0010ffff" in (r["text"] or "") for r in tables["paths"])  # lone surrogate
    assert tables["rounds"] and tables["votes"] and tables["path_requests"]
    scaling = read_golden(FIXTURES / "scaling-0.1.0.golden.json.gz")
    assert len(scaling["tables"]["samples"]) == 144


def test_newer_file_gives_a_clear_message(tmp_path: Path) -> None:
    """An old release meeting a file written by a newer one: a message naming both
    versions and what to do, never a crash or a silent write (for every way in)."""
    db = _copy("release-0.1.0", tmp_path)
    Store.open(db).close()
    newer = len(MIGRATIONS) + 3
    con = duckdb.connect(str(db))
    con.execute("INSERT INTO _migrations VALUES (?, now())", [newer])
    con.close()
    size = db.stat().st_size
    pattern = (rf"schema version {newer}.*newer.*knows versions up to {len(MIGRATIONS)}"
               r".*[Uu]pgrade")
    for read_only in (False, True):
        with pytest.raises(WorkbenchError, match=pattern):
            Store.open(db, read_only=read_only)
    from workbench.store.migrations import migrate

    con = duckdb.connect(str(db))
    try:
        with pytest.raises(WorkbenchError, match=pattern):
            migrate(con)
    finally:
        con.close()
    assert db.stat().st_size == size


def _m_rewrites(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("UPDATE samples SET answer = 'x' WHERE item_index = 2")


def test_a_migration_that_rewrites_old_rows_is_caught(tmp_path: Path) -> None:
    """The comparison can fail: a migration touching old data does not slip through."""
    MIGRATIONS.append(_m_rewrites)
    try:
        with pytest.raises(AssertionError, match="samples row"):
            _upgrade_and_compare("release-0.1.0", tmp_path)
    finally:
        MIGRATIONS.remove(_m_rewrites)
