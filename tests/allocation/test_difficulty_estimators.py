"""Difficulty estimators: AUROC and Spearman exact on constructed cases, truth from the
draws the probe did not use."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from workbench.allocation.difficulty import (
    auroc,
    difficulty_report,
    item_difficulty,
    probe_estimates,
    spearman,
)


def test_auroc_counts_pairs_and_half_ties() -> None:
    assert auroc(np.array([0.1, 0.4, 0.35, 0.8]), np.array([0, 1, 0, 1], bool)) == 1.0
    assert auroc(np.array([0.1, 0.4, 0.35, 0.2]), np.array([0, 1, 0, 1], bool)) == 0.75
    assert auroc(np.array([0.35, 0.35, 0.1]), np.array([1, 0, 0], bool)) == 0.75
    assert math.isnan(auroc(np.array([1.0, 2.0]), np.array([1, 1], bool)))


def test_spearman_on_ranks() -> None:
    assert spearman(np.array([1, 2, 3]), np.array([10, 20, 300])) == pytest.approx(1.0)
    assert spearman(np.array([1, 2, 3]), np.array([3, 2, 1])) == pytest.approx(-1.0)
    assert math.isnan(spearman(np.array([1, 1, 1]), np.array([1, 2, 3])))


def test_probe_estimates() -> None:
    e = probe_estimates(["a", "a", None, "b"], [-0.5, -1.5, None, None], [None] * 4)
    assert e["agreement"] == 0.5
    assert e["entropy"] == pytest.approx(-(0.5 * math.log(0.5) + 2 * 0.25 * math.log(0.25)))
    assert e["logprob"] == -1.0 and e["verifier"] is None


def pool(item: str, answers: list[str | None], correct: list[bool]) -> pl.DataFrame:
    n = len(answers)
    return pl.DataFrame({"run_id": "r", "item_id": item, "idx": list(range(n)),
                         "answer": pl.Series(answers, dtype=pl.String), "correct": correct,
                         "tokens_out": [10] * n, "logprob_mean": [-0.5] * n},
                        schema_overrides={"logprob_mean": pl.Float64})


def constructed() -> pl.DataFrame:
    """k = 2 probes: A agree, B split, C agree, D abstain + one; the probe draws' grades
    are deliberately the opposite of the rest, so using them would change pass@1."""
    return pl.concat([
        pool("A", ["1", "1", "1", "1", "1", "1"], [False, False, True, True, True, True]),
        pool("B", ["1", "2", "1", "2", "3", "4"], [True, True, True, False, False, False]),
        pool("C", ["5", "5", "5", "5", "5", "6"], [False, False, True, True, True, False]),
        pool("D", [None, "2", "2", "3", "3", "3"], [True, True, False, False, False, False]),
    ])


def test_truth_comes_from_the_draws_after_the_probe() -> None:
    d = item_difficulty(constructed(), 2)
    assert d["pass1"].to_list() == [1.0, 0.25, 0.75, 0.0]
    assert d["agreement"].to_list() == [1.0, 0.5, 1.0, 0.5]


def test_report_is_exact_on_the_constructed_case() -> None:
    r = {row["estimator"]: row for row in
         difficulty_report(constructed(), 2, b=200).iter_rows(named=True)}
    # hard = B, D (pass@1 < 0.5), both at agreement 0.5 below A, C at 1.0: perfect
    assert r["agreement"]["auroc"] == 1.0 and r["agreement"]["n_hard"] == 2
    assert r["entropy"]["auroc"] == 1.0
    # ranks (3.5, 1.5, 3.5, 1.5) vs (4, 2, 3, 1): 4 / (2 * sqrt 5)
    assert r["agreement"]["spearman"] == pytest.approx(4 / (2 * math.sqrt(5)))
    assert r["agreement"]["spearman_lo"] <= r["agreement"]["spearman"] <= 1.0
    assert r["logprob"]["n_items"] == 4  # every item has the same logprob: no signal
    assert r["logprob"]["auroc"] == 0.5
    assert r["verifier"]["n_items"] == 0 and math.isnan(r["verifier"]["auroc"])
