"""Sharded sweeps (``--shard i/n``) and ``workbench merge``: three shard processes merged
equal one unsharded sweep, re-merging adds nothing, and a conflicting duplicate is reported."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest
from fakes.fake_openai import FakeOpenAI

from workbench.errors import WorkbenchError
from workbench.store.merge import merge_files
from workbench.sweep.spec import parse_shard, shard_items

REPO = Path(__file__).resolve().parents[2]

SWEEP = """
name = "sharded"
models = ["fake"]
tasks = ["arithmetic"]
limit = 7
[[techniques]]
technique = "cot"
budget = 64
[[techniques]]
technique = "sc"
n = 3
budget = 64
"""

CONTENT = {
    "runs": "run_id, technique, model, task, budget_tokens, n_samples, n_items, params::VARCHAR",
    "samples": "run_id, sample_id, item_id, item_index, answer, correct, tokens_in, tokens_out,"
               " error",
    "paths": "run_id, sample_id, role, idx, round, text, answer, correct, tokens_out",
    "votes": "run_id, sample_id, method, counts::VARCHAR, winner, n_paths",
}


def test_parse_shard_and_slices_partition_the_items() -> None:
    assert parse_shard("2/3") == (2, 3)
    for bad in ("0/3", "4/3", "3", "a/b", "1/0"):
        with pytest.raises(WorkbenchError, match="--shard"):
            parse_shard(bad)
    items = [9, 3, 5, 0, 1, 7, 2]
    slices = [shard_items(items, (i, 3)) for i in (1, 2, 3)]
    assert sorted(x for s in slices for x in s) == sorted(items)
    assert [len(s) for s in slices] == [3, 2, 2]
    assert shard_items(list(reversed(items)), (2, 3)) == slices[1]  # order does not matter


def _script(body: dict[str, Any], attempt: int, choice: int) -> str:
    prompt = str(body["messages"][-1]["content"])
    return f"Working it out step {choice}. The answer is {(len(prompt) + choice) % 7}"


def _sweep(spec: Path, db: Path, config: Path, *extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "LITELLM_LOCAL_MODEL_COST_MAP": "True",
           "WORKBENCH_CONFIG": str(config), "COLUMNS": "200"}
    return subprocess.Popen([sys.executable, "-m", "workbench.cli.main", "sweep", str(spec),
                             "--db", str(db), *extra], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _rows(db: Path) -> dict[str, pl.DataFrame]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {t: con.sql(f"SELECT {cols} FROM {t} ORDER BY ALL").pl()
                for t, cols in CONTENT.items()}


@pytest.mark.slow
def test_three_shard_processes_merge_to_the_unsharded_sweep(tmp_path: Path) -> None:
    spec = tmp_path / "sweep.toml"
    spec.write_text(SWEEP)
    with FakeOpenAI(texts=_script) as server:
        config = tmp_path / "workbench.toml"
        config.write_text(f'[models.fake]\nmodel = "openai/fake"\n'
                          f'api_base = "{server.base_url}"\n')
        shards = [tmp_path / f"shard{i}.duckdb" for i in (1, 2, 3)]
        procs = [_sweep(spec, db, config, "--shard", f"{i}/3")
                 for i, db in enumerate(shards, start=1)]
        procs.append(_sweep(spec, tmp_path / "single.duckdb", config))
        for proc in procs:
            out, err = proc.communicate(timeout=240)
            assert proc.returncode == 0, out + err
    merged = tmp_path / "all.duckdb"
    report = merge_files(shards, merged)
    assert report.conflicts == 0 and report.added > 0
    per_shard = [_rows(db)["samples"].height for db in shards]
    assert per_shard == [6, 4, 4]  # 7 items x 2 runs, sliced 3/2/2 per run
    single, together = _rows(tmp_path / "single.duckdb"), _rows(merged)
    for table in CONTENT:
        assert together[table].equals(single[table]), table
    again = merge_files(shards, merged)
    assert again.added == 0 and again.conflicts == 0  # idempotent


def test_merge_reports_a_conflicting_duplicate_and_keeps_the_target(tmp_path: Path) -> None:
    from workbench.store.store import Store

    a = tmp_path / "a.duckdb"
    with Store.open(a) as store:
        store.con.execute("INSERT INTO samples (run_id, sample_id, item_id, answer, correct) "
                          "VALUES ('r', 'r-1', 'i1', '5', true), ('r', 'r-2', 'i2', '6', false)")
    b = tmp_path / "b.duckdb"
    with Store.open(b) as store:
        store.con.execute("INSERT INTO samples (run_id, sample_id, item_id, answer, correct, "
                          "created_at) VALUES ('r', 'r-1', 'i1', '7', false, now()), "
                          "('r', 'r-3', 'i3', '8', true, now())")
    into = tmp_path / "into.duckdb"
    merge_files([a], into)
    report = merge_files([b], into)
    samples = next(t for t in report.sources[str(b)] if t.table == "samples")
    assert (samples.added, samples.conflicts, samples.conflict_keys) == (1, 1, [("r", "r-1")])
    with duckdb.connect(str(into), read_only=True) as con:
        rows = con.execute("SELECT sample_id, answer FROM samples ORDER BY 1").fetchall()
    assert rows == [("r-1", "5"), ("r-2", "6"), ("r-3", "8")]
    with pytest.raises(WorkbenchError, match="merge target itself"):
        merge_files([into], into)
    with pytest.raises(WorkbenchError, match="no such trace file"):
        merge_files([tmp_path / "missing.duckdb"], into)
