"""Beam and DVTS end to end on the embedded model (tiny budgets, one item; the judge is
the same local model): every step stored with its score, the tree rebuilt from the store."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.analysis.search_tree import build_trees
from workbench.api import run_experiment_async
from workbench.runner import RunSpec
from workbench.store.store import Store

pytestmark = pytest.mark.local_model


@pytest.mark.parametrize("technique", ["beam", "dvts"])
async def test_search_on_the_local_model(tmp_path: Path, technique: str) -> None:
    db = tmp_path / "search.duckdb"
    spec = RunSpec(task="arithmetic", technique=technique, model="local", limit=1,
                   width=2, expansions=2, max_steps=3, budget=48, scorer="judge",
                   aggregate="last", seed=1)
    result = await run_experiment_async(spec, db=db)
    assert result.status == "ok", result.error
    with Store.open(db, read_only=True) as store:
        steps = store.search_steps(result.run_id)
        paths = store.paths(result.run_id)
        sample = store.samples(result.run_id).row(0, named=True)
    assert steps.height >= 4  # at least one round: 2 x 2 steps
    assert steps["kept"].null_count() == 0 and steps["kept"].any()
    assert set(steps["scorer"]) == {"judge:local"}
    assert steps["score"].drop_nulls().len() > 0  # the judge gave numbers
    judge = paths.filter(paths["role"] == "score")
    assert judge.height == steps.filter(steps["text"].str.strip_chars() != "").height
    assert sample["tokens_out"] == paths["tokens_out"].sum()  # judge tokens counted
    (tree,) = build_trees(steps, "last").values()
    final = tree.final_path()
    assert final and final[0].parent is None
    print(f"\n{technique}: {steps.height} steps, answer {sample['answer']!r} "
          f"(gold {sample['gold']!r}), tokens {sample['tokens_in']}+{sample['tokens_out']}")
    for n in final:
        print(f"  step {n.step} score={n.score} {n.text[:70]!r}")
