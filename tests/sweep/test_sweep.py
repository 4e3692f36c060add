"""Sweeps: grid expansion, resume after an interruption, and path reuse from the store."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from workbench.backends.base import GenRequest
from workbench.backends.scripted import ScriptedBackend
from workbench.errors import WorkbenchError
from workbench.store.store import Store
from workbench.sweep import load_sweep, run_sweep, sweep_plan
from workbench.sweep.spec import expand

SWEEP = """
name = "t"
tasks = ["arithmetic"]
limit = 5
[[techniques]]
technique = "cot"
budget = [32, 64]
[[techniques]]
technique = "sc"
n = 4
budget = 64
"""


def answer_script(req: GenRequest, choice: int) -> str:
    return f"thinking about it The answer is {req.sample_index + choice}"


def write(tmp_path: Path, text: str = SWEEP) -> Path:
    p = tmp_path / "s.toml"
    p.write_text(text)
    return p


def test_grid_expands_lists(tmp_path):
    sweep = load_sweep(write(tmp_path))
    assert [(r.technique, r.budget) for r in sweep.runs] == [("cot", 32), ("cot", 64),
                                                           ("sc", 64)]
    assert all(r.limit == 5 and r.sweep_id == "t" for r in sweep.runs)
    with pytest.raises(WorkbenchError, match="Unknown key"):
        expand({"techniques": [{"technique": "cot", "budgett": 3}]})
    with pytest.raises(WorkbenchError, match="not found"):
        load_sweep(tmp_path / "missing.toml")


async def test_resume_runs_only_missing_items(tmp_path):
    sweep = load_sweep(write(tmp_path))
    db = tmp_path / "t.duckdb"
    slow = ScriptedBackend(answer_script, delay_s=0.01)
    with Store.open(db) as store:
        job = asyncio.ensure_future(run_sweep(sweep, store, slow, reuse_paths=False))
        while store.query("select count(*) n from samples")["n"][0] < 4:
            await asyncio.sleep(0.01)
        job.cancel()
        with pytest.raises(asyncio.CancelledError):
            await job
        partial = sweep_plan(sweep, store)
    assert 0 < partial["done"].sum() < 15
    backend = ScriptedBackend(answer_script)
    with Store.open(db) as store:
        await run_sweep(sweep, store, backend, reuse_paths=False)
        plan = sweep_plan(sweep, store)
        dup = store.query("select sample_id, count(*) c from samples group by 1 having c > 1")
        runs = store.query("select count(*) n from runs")["n"][0]
    assert plan["missing"].sum() == 0 and plan["done"].sum() == 15
    assert dup.height == 0 and runs == 3
    assert len(backend.calls) == 15 - partial["done"].sum()  # one request per missing item


async def test_sweep_reuses_stored_samples_by_index(tmp_path):
    db = tmp_path / "t.duckdb"
    small = expand({"name": "a", "limit": 3, "techniques": [
        {"technique": "sc", "n": 4, "budget": 64}]})
    big = expand({"name": "b", "limit": 3, "techniques": [
        {"technique": "sc", "n": 8, "budget": 64}]})
    first, second = ScriptedBackend(answer_script), ScriptedBackend(answer_script)
    with Store.open(db) as store:
        await run_sweep(small, store, first)
        await run_sweep(big, store, second)
        cached = store.query("select cached, count(*) n from path_requests pr "
                             "join runs r using (run_id) where r.sweep_id = 'b' group by 1")
        answers = store.query("select idx, answer from paths p join runs r using (run_id) "
                              "where r.sweep_id = 'b' order by sample_id, idx")
    generated = sum(c.request.n for c in second.calls)
    assert generated == 3 * 4  # samples 4..7 of each item; 0..3 came from the store
    assert dict(zip(cached["cached"], cached["n"], strict=True)) == {True: 12, False: 12}
    assert answers["answer"].to_list() == [str(i) for i in range(8)] * 3  # never collapsed
