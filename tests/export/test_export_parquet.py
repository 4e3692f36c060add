"""export_parquet: one Parquet file per trace table, optionally filtered to some runs."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from workbench.errors import WorkbenchError
from workbench.export import export_parquet
from workbench.export.parquet import trace_tables
from workbench.store.store import Store


def test_every_table_round_trips(recorded: Store, tmp_path: Path) -> None:
    written = export_parquet(recorded, tmp_path / "all")
    tables = {name for name, _ in trace_tables(recorded)}
    assert set(written) == tables
    assert {"runs", "run_status", "samples", "paths", "votes", "rounds"} <= tables
    assert not any(name.startswith("_") for name in tables)
    for name, path in written.items():
        assert path == tmp_path / "all" / f"{name}.parquet"
        stored = recorded.query(f'SELECT * FROM "{name}"')
        back = pl.read_parquet(path)
        assert back.columns == stored.columns
        assert back.sort(back.columns[:3]).equals(stored.sort(stored.columns[:3])), name


def test_run_filter_keeps_only_those_runs(recorded: Store, tmp_path: Path) -> None:
    written = export_parquet(recorded, tmp_path / "one", run_ids=["hostile-run"])
    paths = pl.read_parquet(written["paths"])
    assert set(paths["run_id"]) == {"hostile-run"}
    assert paths.height == recorded.paths("hostile-run").height == 4
    assert pl.read_parquet(written["rounds"]).height == 0  # kept, empty, with its schema
    assert "critique" in pl.read_parquet(written["rounds"]).columns
    votes = pl.read_parquet(written["votes"])
    assert json.loads(votes["counts"][0]) == {"4": 2}  # JSON columns stay JSON text
    samples = pl.read_parquet(export_parquet(recorded, tmp_path / "str",
                                             run_ids="refine-run")["samples"])
    assert set(samples["run_id"]) == {"refine-run"} and samples.height == 3


def test_from_a_closed_database_file(recorded: Store, tmp_path: Path) -> None:
    db = recorded.path
    recorded.close()
    written = export_parquet(db, tmp_path / "f")
    assert pl.read_parquet(written["runs"]).height == 2


def test_unknown_run_is_a_clear_error(recorded: Store, tmp_path: Path) -> None:
    with pytest.raises(WorkbenchError, match="No run.*ghost.*workbench runs"):
        export_parquet(recorded, tmp_path / "x", run_ids=["refine-run", "ghost"])
    assert not list((tmp_path / "x").glob("*.parquet"))
