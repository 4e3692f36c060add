"""Estimator edges: k must be an integer everywhere k is taken; zero accuracies in fits are
reported, never clipped."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from workbench.analysis import (
    curves,
    fit_coverage,
    fit_log_linear,
    fit_power_law,
    maj_at_k,
    maj_at_k_curve,
    margin,
    pass_at_k,
    pass_at_k_curve,
)
from workbench.analysis.estimators import maj_curve_from_counts
from workbench.analysis.literature import alpha_by_task
from workbench.errors import WorkbenchError

ANSWERS = ["1", "2", "1", None, "3"]


@pytest.mark.parametrize("call", [
    lambda: pass_at_k(5, 2, 2.5),
    lambda: pass_at_k(5, 2, 2.0),
    lambda: pass_at_k(5.0, 2, 2),
    lambda: pass_at_k(5, 2.5, 2),
    lambda: pass_at_k(5, True, 2),
    lambda: pass_at_k(5, 2, True),
    lambda: pass_at_k(5, 2, "2"),
    lambda: pass_at_k_curve(5, 1.5),
    lambda: maj_at_k(ANSWERS, "1", 1.5),
    lambda: maj_at_k(ANSWERS, "1", True),
    lambda: maj_at_k(ANSWERS, "1", np.float64(2.0)),
    lambda: maj_at_k_curve(ANSWERS, "1", [1, 2.5]),
    lambda: maj_at_k_curve(ANSWERS, "1", np.array([1.0, 2.0])),
    lambda: maj_at_k_curve(ANSWERS, "1", np.array([True, False])),
    lambda: maj_curve_from_counts([2, 1], [True, False], 1.5, [1]),
    lambda: margin(1.5),
], ids=lambda _: "")
def test_non_integer_counts_and_k_are_refused_with_a_clear_error(call: object) -> None:
    with pytest.raises(WorkbenchError, match="must (be an integer|hold integers)"):
        call()  # type: ignore[operator]


def test_numpy_integers_are_accepted_and_give_the_same_values() -> None:
    assert pass_at_k(np.int64(5), np.int32(2), np.int8(2)) == pytest.approx(pass_at_k(5, 2, 2))
    assert maj_at_k(ANSWERS, "1", np.int64(3)) == pytest.approx(maj_at_k(ANSWERS, "1", 3))
    got = maj_at_k_curve(ANSWERS, "1", np.array([1, 3], dtype=np.uint8))
    assert got.tolist() == pytest.approx([maj_at_k(ANSWERS, "1", 1), maj_at_k(ANSWERS, "1", 3)])


def test_curves_refuse_a_float_k() -> None:
    paths = pl.DataFrame({"run_id": ["r"] * 4, "sample_id": ["s"] * 4, "idx": [0, 1, 2, 3],
                          "answer": ["1", "1", "2", None], "correct": [True, True, False, False]})
    assert curves(paths, ks=[1, 2])["k"].to_list() == [1, 2]
    with pytest.raises(WorkbenchError, match="k must hold integers"):
        curves(paths, ks=[1, 2.5])  # type: ignore[list-item]


X = np.array([1.0, 2.0, 4.0, 8.0, 16.0])


def test_a_zero_accuracy_is_excluded_and_reported_not_clipped() -> None:
    y = 0.2 * X ** 0.3
    clean = fit_power_law(X, y)
    y0 = y.copy()
    y0[0] = 0.0
    fit = fit_power_law(X, y0)
    assert fit.n_excluded == 1 and fit.n_points == 4
    assert fit.warnings and "zero-accuracy" in fit.warnings[0] and "x = 1" in fit.warnings[0]
    assert fit.slope == pytest.approx(0.3, abs=1e-9)  # the remaining points are exact
    assert clean.n_excluded == 0 and clean.warnings == ()
    row = fit.as_dict()
    assert row["n_excluded"] == 1 and "zero-accuracy" in str(row["warning"])


def test_too_few_nonzero_points_raise_and_point_to_the_log_linear_fit() -> None:
    y = np.array([0.0, 0.0, 0.0, 0.0, 0.1])
    with pytest.raises(WorkbenchError, match="fit_log_linear"):
        fit_power_law(X, y)
    assert fit_log_linear(X, y).n_excluded == 0  # zeros are fine on the linear scale


def test_bootstrap_resamples_with_a_zero_are_reported() -> None:
    items = np.zeros((10, 5))
    items[0, :] = 1.0  # one item solves everything: many resamples miss it entirely
    items[1:4, 2:] = 1.0
    fit = fit_power_law(X, items.mean(axis=0), item_matrix=items, b=400, seed=1)
    assert any("bootstrap resamples" in w for w in fit.warnings)
    assert np.isfinite([fit.slope_lo, fit.slope_hi]).all() and fit.slope_lo <= fit.slope_hi


def test_coverage_fit_reports_points_it_leaves_out() -> None:
    cov = np.array([0.3, 0.5, 0.7, 0.9, 1.0])
    fit = fit_coverage(X, cov)
    assert fit.n_excluded == 1 and "k = 16" in fit.warnings[0]


def test_alpha_by_task_reports_zero_configurations_instead_of_dropping_them() -> None:
    summary = pl.DataFrame({"task": ["t"] * 5, "technique": ["cot"] * 5,
                            "compute_multiple": X, "accuracy": [0.0, 0.2, 0.25, 0.3, 0.36]})
    row = alpha_by_task(summary).row(0, named=True)
    assert row["configs"] == 4 and row["n_excluded"] == 1 and "zero" in row["warning"]


def test_curve_fits_report_a_fit_they_cannot_make_instead_of_failing() -> None:
    from workbench.analysis import curve_fits
    from workbench.analysis.curves import RunCurves

    ks = np.arange(1, 5)
    zeros = RunCurves("r", ["a", "b"], ks, np.zeros((2, 4)), np.zeros((2, 4)))
    out = curve_fits([zeros], b=50)
    power = out.filter(pl.col("kind") == "power_law").row(0, named=True)
    assert power["slope"] is None and "not fitted" in power["warning"]
    assert out.filter(pl.col("kind") == "log_linear")["slope"][0] == 0.0
