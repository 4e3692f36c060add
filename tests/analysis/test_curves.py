"""Frame-level curves, bootstrap interval coverage, and the adaptive-stopping replay."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from workbench.analysis import (
    Frames,
    beta_confidence,
    bootstrap_mean_ci,
    curves,
    decided,
    item_curves,
    item_tallies,
    maj_at_k_curve,
    margin,
    pass_at_k_curve,
    simulate_adaptive,
)
from workbench.errors import WorkbenchError


def test_item_curves_equal_the_per_item_estimators(frames: Frames) -> None:
    sc = frames.paths.filter(pl.col("run_id") == "r-sc")
    ic = item_curves(sc)
    assert ic.height == 40 * 16
    for sid in ("r-sc-0", "r-sc-7"):
        p = sc.filter(pl.col("sample_id") == sid).sort("idx")
        answers = p["answer"].to_list()
        got = ic.filter(pl.col("sample_id") == sid).sort("k")
        assert np.allclose(got["maj"].to_numpy(), maj_at_k_curve(answers, "gold"))
        assert np.allclose(got["pass"].to_numpy(),
                           pass_at_k_curve(16, int(p["correct"].sum())))


def test_curves_average_items_with_ordered_intervals(frames: Frames) -> None:
    c = curves(frames.paths, b=300, seed=1)
    assert set(c["run_id"]) == {"r-cot", "r-sc", "r-refine"}  # not r-direct: role 'direct'
    sc = c.filter(pl.col("run_id") == "r-sc").sort("k")
    assert sc["k"].to_list() == list(range(1, 17)) and set(sc["n_items"]) == {40}
    assert (sc["maj_lo"] <= sc["maj"]).all() and (sc["maj"] <= sc["maj_hi"]).all()
    assert (sc["pass"] >= sc["maj"] - 1e-12).all()  # coverage bounds voting
    assert sc["maj"][0] == pytest.approx(sc["pass"][0])  # k=1: both are mean accuracy
    assert sc["pass"].diff().drop_nulls().min() >= -1e-12  # type: ignore[operator]
    again = curves(frames.paths, b=300, seed=1)
    assert again.equals(c)  # seeded


def test_gold_fills_missing_correctness() -> None:
    p = pl.DataFrame({"run_id": "r", "sample_id": ["s"] * 4, "idx": [0, 1, 2, 3],
                      "answer": ["7", "7", "8", None],
                      "correct": pl.Series([None] * 4, dtype=pl.Boolean)})
    gold = pl.DataFrame({"sample_id": ["s"], "gold": ["7"]})
    t = item_tallies(p, gold)
    assert t["n_correct"].to_list() == [2] and t["n_abstain"].to_list() == [1]
    c = curves(p, gold, b=50)
    assert c["maj"].to_list() == pytest.approx(list(maj_at_k_curve(
        ["7", "7", "8", None], "7")))
    assert curves(p, b=50)["maj"].max() == 0.0  # no gold, no stored flag: nothing correct


def test_k_beyond_the_stored_paths_is_an_error(frames: Frames) -> None:
    with pytest.raises(WorkbenchError, match="1..16"):
        curves(frames.paths.filter(pl.col("run_id") == "r-sc"), ks=[1, 17])


def test_bootstrap_interval_covers_the_truth_about_95_percent() -> None:
    rng = np.random.default_rng(11)
    true_p, n_items, reps = 0.7, 120, 400
    covered = 0
    for r in range(reps):
        values = (rng.random(n_items) < true_p).astype(float)
        _, lo, hi = bootstrap_mean_ci(values, b=1000, seed=r)
        covered += int(lo[0] <= true_p <= hi[0])
    assert 0.92 <= covered / reps <= 0.975


def test_adaptive_decided_rule_keeps_accuracy_and_saves_samples(frames: Frames) -> None:
    sc = frames.paths.filter(pl.col("run_id") == "r-sc")
    out = simulate_adaptive(sc, decided(), b=200).row(0, named=True)
    assert out["accuracy"] == pytest.approx(out["accuracy_full"])
    assert out["samples_mean"] < 16 and out["samples_saved_frac"] > 0
    full_maj = curves(sc, ks=[16], b=10)["maj"][0]
    assert out["accuracy_full"] == pytest.approx(full_maj)


def test_adaptive_rules_stop_where_expected() -> None:
    p = pl.DataFrame({"run_id": "r", "sample_id": ["s"] * 8, "idx": list(range(8)),
                      "answer": ["a", "a", "a", "b", "a", "a", "a", "a"],
                      "correct": [True, True, True, False, True, True, True, True]})
    assert simulate_adaptive(p, margin(2))["samples_mean"][0] == 2
    assert simulate_adaptive(p, decided())["samples_mean"][0] == 6  # lead 4 > 2 unseen
    # Beta rule, 1 - I_0.5(a+1, b+1) >= 0.95: (3,0) gives 0.9375, (5,1) 0.9375, (6,1) 0.965
    assert simulate_adaptive(p, beta_confidence(0.95))["samples_mean"][0] == 7
    perm = simulate_adaptive(p, margin(2), permutations=20, seed=3).row(0, named=True)
    assert 2 <= perm["samples_mean"] <= 4 and perm["accuracy"] == 1.0
