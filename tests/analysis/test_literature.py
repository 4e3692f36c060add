"""Seed-claim comparison, α across configurations, and SC gain over CoT."""

from __future__ import annotations

import polars as pl
import pytest

from workbench.analysis import alpha_by_task, compare_to_seed, sc_gain


def summary(alpha: float) -> pl.DataFrame:
    compute = [1.0, 2.0, 4.0, 8.0, 16.0]
    rows = [{"task": "t", "technique": "direct", "budget_tokens": 64, "n_samples": 1,
             "rounds": 0, "accuracy": 0.1, "compute_multiple": 1.0, "compute_label": "1x"}]
    for i, c in enumerate(compute[1:]):
        technique = "cot" if i < 2 else "sc"
        rows.append({"task": "t", "technique": technique, "budget_tokens": 256 * (1 + (i % 2)),
                     "n_samples": 1 if technique == "cot" else 10, "rounds": 0,
                     "accuracy": 0.2 * c ** alpha, "compute_multiple": c,
                     "compute_label": f"{c:g}x"})
    return pl.DataFrame(rows)


def test_alpha_recovered_from_configurations():
    out = alpha_by_task(summary(0.25))
    assert out["alpha"][0] == pytest.approx(0.25, abs=1e-9)
    assert out["in_seed_range"][0]
    assert not alpha_by_task(summary(0.6))["in_seed_range"][0]


def test_compare_to_seed_matches_configurations():
    out = compare_to_seed(summary(0.25))
    direct = out.filter(pl.col("configuration") == "single pass (direct)")
    assert direct["seed_math_accuracy"][0] == 0.423 and direct["t_accuracy"][0] == 0.1
    cot256 = out.filter(pl.col("configuration") == "CoT 256 tokens")
    assert cot256["t_compute"][0] == "2x"
    sc10 = out.filter(pl.col("configuration") == "CoT + SC 10 samples")
    sc_rows = (pytest.approx(0.2 * 8 ** 0.25), pytest.approx(0.2 * 16 ** 0.25))
    assert sc10["t_accuracy"][0] in sc_rows  # one of the two SC@10 configurations
    assert out.filter(pl.col("configuration") == "CoT 4096 tokens")["t_accuracy"][0] is None


def test_sc_gain_against_same_budget_cot():
    out = sc_gain(summary(0.25)).sort("budget_tokens")
    assert out["budget_tokens"].to_list() == [256, 512]
    cot = [0.2 * 2 ** 0.25, 0.2 * 4 ** 0.25]  # CoT@256 at 2x, CoT@512 at 4x
    sc = [0.2 * 8 ** 0.25, 0.2 * 16 ** 0.25]  # SC@10 at the same budgets, 8x and 16x
    assert out["cot_accuracy"].to_list() == pytest.approx(cot)
    gains = [100 * (s - c) for s, c in zip(sc, cot, strict=True)]
    assert out["gain_points"].to_list() == pytest.approx(gains)


def test_sc_gain_is_per_model_and_reports_the_baseline_it_used():
    rows = []
    for model, cot, sc in (("a", [0.2, 0.4], 0.5), ("b", [0.6], 0.7)):
        rows += [{"task": "t", "model": model, "technique": "cot", "budget_tokens": 256,
                  "n_samples": 1, "accuracy": acc} for acc in cot]
        rows.append({"task": "t", "model": model, "technique": "sc", "budget_tokens": 256,
                     "n_samples": 8, "accuracy": sc})
    out = sc_gain(pl.DataFrame(rows)).sort("model")
    assert out["model"].to_list() == ["a", "b"]
    assert out["cot_accuracy"].to_list() == pytest.approx([0.3, 0.6])  # mean of a's two
    assert out["gain_points"].to_list() == pytest.approx([20.0, 10.0])


def test_the_seed_range_claim_needs_the_interval() -> None:
    """α = 0.26 with an interval of [-0.24, 0.76] is inconclusive, not "in range"."""
    from workbench.analysis.literature import seed_range_verdict

    assert seed_range_verdict(-0.24, 0.76) == {"seed_verdict": "inconclusive",
                                               "in_seed_range": None}
    assert seed_range_verdict(0.18, 0.30)["seed_verdict"] == "in the seed's range"
    assert seed_range_verdict(0.40, 0.90)["in_seed_range"] is False
    assert seed_range_verdict(float("nan"), 1.0)["seed_verdict"] == "inconclusive"
    noisy = summary(0.25).with_columns(
        accuracy=pl.Series([0.1, 0.2, 0.45, 0.3, 0.6]))  # a wide interval
    out = alpha_by_task(noisy)
    assert out["seed_verdict"][0] == "inconclusive" and out["in_seed_range"][0] is None


def test_forced_answers_explain_a_larger_compute_multiple() -> None:
    from workbench.analysis.compute import compute_note

    note = compute_note({"forced_share": 0.62, "prompt_token_share": 0.71,
                         "calls_per_item": 1.6})
    assert note == "forced answers on 62% of items; prompt 71% of tokens; 1.6 calls/item"
    assert compute_note({"forced_share": 0.0, "prompt_token_share": None}) == ""
