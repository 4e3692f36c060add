"""Beam and DVTS with a PRM scorer on a fake reward server, recorded into a real Store:
the step rows, the score rows (faults kept as unscored steps), compute, the tree."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from search_kit import backend

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fakes"))
from fake_reward import FakeReward  # noqa: E402

from workbench.analysis.compute import per_item_usage, run_summary  # noqa: E402
from workbench.analysis.frames import from_store  # noqa: E402
from workbench.analysis.search_tree import build_tree, build_trees, tree_frame  # noqa: E402
from workbench.backends.model_config import ModelConfig  # noqa: E402
from workbench.backends.retry import RetryPolicy  # noqa: E402
from workbench.backends.reward import RewardClient, WithReward  # noqa: E402
from workbench.events import Event  # noqa: E402
from workbench.runner import RunSpec, run  # noqa: E402
from workbench.store.recorder import Recorder  # noqa: E402
from workbench.store.store import Store  # noqa: E402
from workbench.techniques import beam, dvts  # noqa: E402


def score_by_index(step: str) -> float:
    """s<k> ... scores 1 / (1 + k % 7): deterministic and varied."""
    k = int(step.split()[0][1:]) if step.startswith("s") else 0
    return 1.0 / (1 + k % 7)


@pytest.fixture
def prm():
    with FakeReward(score_by_index) as fake:
        yield fake


def with_prm(prm: FakeReward) -> WithReward:
    cfg = ModelConfig(litellm_model="Qwen/Qwen2.5-Math-PRM-7B", api_base=prm.base_url,
                      reward_api="pooling", retry=RetryPolicy(deadline_s=0.5))
    return WithReward(backend(), RewardClient({"prm": cfg}))


@pytest.fixture(autouse=True)
def _task(toy_task):
    global TOY
    TOY = toy_task


TOY = None


async def _record(store: Store, technique, name: str, b, limit: int = 2) -> str:
    events: list[Event] = []
    spec = RunSpec(task="toy", technique=name, limit=limit, verifier="prm", scorer="prm")
    result = await run(spec, b, [Recorder(store), events.append], technique=technique,
                       task=TOY)
    store.con.execute("CHECKPOINT")
    return result.run_id


@pytest.mark.parametrize("name", ["beam", "dvts"])
async def test_steps_and_scores_land_in_the_store(tmp_path, prm, name):
    prm.set_faults(None, "500", None, "timeout", None, "garbage")  # three faulty steps
    make = beam if name == "beam" else dvts
    with Store.open(tmp_path / "t.duckdb") as store:
        run_id = await _record(store, make(width=2, expansions=2, max_steps=3, scorer="prm"),
                               name, with_prm(prm), limit=1)
        steps = store.search_steps(run_id)
        assert steps.height > 0 and set(steps["scorer"]) == {"prm:prm"}
        assert steps["step"].min() == 0 and steps["kept"].null_count() == 0
        unscored = steps.filter(pl_col_is_null("score"))
        assert unscored.height == 3  # the faults: unscored, the search went on
        errors = " | ".join(unscored["score_error"].to_list())
        assert "HTTP 500" in errors and "timed out" in errors and "malformed" in errors
        assert (steps["score_calls"] == 1).all() and (steps["score_tokens"] >= 0).all()
        paths = store.paths(run_id)
        score_rows = paths.filter(paths["role"] == "score")
        assert score_rows.height == steps.height
        assert set(score_rows["parent_id"]) == set(steps["path_id"])
        sample = store.samples(run_id).row(0, named=True)
        assert sample["tokens_in"] == paths["tokens_in"].sum()  # PRM prompt tokens counted
        usage = per_item_usage(from_store(store, [run_id]))
        row = usage.row(0, named=True)
        assert row["tokens_scorer"] == score_rows["tokens_in"].sum() > 0
        assert row["tokens_policy"] + row["tokens_scorer"] == row["compute_tokens"]
        summary = run_summary(from_store(store, [run_id]), b=50)
        assert {"tokens_policy", "tokens_scorer", "tokens_per_item"} <= set(summary.columns)


def pl_col_is_null(name: str):
    import polars as pl
    return pl.col(name).is_null()


@pytest.mark.parametrize("name", ["beam", "dvts"])
async def test_tree_final_path_is_the_answer(tmp_path, prm, name):
    make = beam if name == "beam" else dvts
    with Store.open(tmp_path / "t.duckdb") as store:
        run_id = await _record(store, make(width=2, expansions=3, max_steps=3, scorer="prm",
                                           aggregate="min"), name, with_prm(prm))
        trees = build_trees(store.search_steps(run_id), how="min")
        samples = {r["sample_id"]: r for r in store.samples(run_id).iter_rows(named=True)}
        assert set(trees) == set(samples)
        for sid, tree in trees.items():
            final = tree.final_path()
            assert final and final[0].parent is None and final[-1].id == tree.final_leaf
            assert final[-1].answer == samples[sid]["answer"]
            assert [n.step for n in final] == list(range(len(final)))
            assert all(n.kept for n in final)
            expected_roots = 2 * 3 if name == "beam" else 2 * 3  # both: 6 first steps
            assert len(tree.roots) == expected_roots
            frame = tree_frame(tree)
            assert frame["on_final_path"].sum() == len(final)
            assert set(frame["status"]) <= {"kept", "pruned"}


def test_tree_of_nothing_and_unjudged():
    import polars as pl
    assert build_trees(pl.DataFrame()) == {}
    rows = pl.DataFrame({"sample_id": ["s"] * 2, "path_id": ["a", "b"], "parent_id": [None, "a"],
                         "step": [0, 1], "idx": [0, 1], "text": ["x", "y"],
                         "answer": [None, "3"], "stored_answer": [None, "3"],
                         "score": [0.5, None], "scorer": ["t", "t"], "kept": [True, None]})
    tree = build_tree(rows)
    # a search cut short (cancelled) mid-step: no final answer path is claimed
    assert tree.nodes["b"].status == "unjudged" and tree.final_leaf is None


async def test_a_backend_that_cannot_score_leaves_steps_unscored(tmp_path):
    with Store.open(tmp_path / "t.duckdb") as store:
        run_id = await _record(store, beam(width=1, expansions=2, max_steps=2, scorer="prm"),
                               "beam", backend(), limit=1)
        steps = store.search_steps(run_id)
        assert steps["score"].null_count() == steps.height
        assert "cannot score" in steps["score_error"][0]
        assert store.samples(run_id)["answer"][0] is not None  # the search still answered
