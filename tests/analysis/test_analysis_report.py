"""From a real DuckDB file with the project schema to an offline report folder."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest

from workbench.analysis import Frames, from_store, write_report
from workbench.store.migrations import migrate


def _store(path: Path, frames: Frames) -> None:
    con = duckdb.connect(str(path), config={"autoinstall_known_extensions": "false"})
    migrate(con)
    for table in ("runs", "samples", "paths", "rounds", "run_status"):
        con.register("_f", getattr(frames, table).to_arrow())
        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _f")
        con.unregister("_f")
    con.close()


class QueryStore:
    """The store protocol analysis relies on: ``query(sql) -> pl.DataFrame``."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    def query(self, sql: str) -> pl.DataFrame:
        return self.con.sql(sql).pl()


@pytest.fixture
def db(tmp_path: Path, frames: Frames) -> Path:
    path = tmp_path / "traces.duckdb"
    _store(path, frames)
    return path


def test_from_store_reads_every_table(db: Path, frames: Frames) -> None:
    con = duckdb.connect(str(db), read_only=True)
    try:
        via_con = from_store(con)
        via_query = from_store(QueryStore(con), run_ids=["r-sc"])
    finally:
        con.close()
    assert via_con.paths.height == frames.paths.height
    assert "text" not in via_con.paths.columns and "answer" in via_con.paths.columns
    assert via_con.rounds.height == frames.rounds.height and via_con.votes.height == 0
    assert set(via_query.paths["run_id"]) == {"r-sc"} and via_query.runs.height == 1


def test_write_report_offline(db: Path, tmp_path: Path) -> None:
    con = duckdb.connect(str(db), read_only=True)
    try:
        rep = write_report(con, tmp_path / "report", b=100, png=False)
    finally:
        con.close()
    out = tmp_path / "report"
    for name in ("summary", "seed_table", "curves", "curve_fits", "adaptive", "pareto_cost",
                 "difficulty", "refinement_flips"):
        assert (out / f"{name}.csv").exists(), name
    html = sorted(p.name for p in out.glob("*.html"))
    assert html == ["maj_pass.html", "pareto_cost.html", "pareto_latency.html",
                    "refinement_flips.html", "scaling.html", "vote_margin.html"]
    assert (out / "plotly.min.js").stat().st_size > 1_000_000
    page = (out / "scaling.html").read_text()
    assert 'src="plotly.min.js"' in page and "cdn.plot.ly" not in page
    md = (out / "report.md").read_text()
    assert "## seed_table" in md and "[scaling](scaling.html)" in md
    assert rep.png == "PNG not requested" and all(p.exists() for p in rep.files)
    diff = pl.read_csv(out / "difficulty.csv")
    assert set(diff["difficulty"].cast(pl.String)) == {"1", "2", "3"}
    adaptive = pl.read_csv(out / "adaptive.csv")
    assert set(adaptive["rule"]) == {"decided", "beta>=0.95"}
