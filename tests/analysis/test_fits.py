"""Scaling fits recover known parameters; knee and "more calls hurt" on constructed data."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.analysis import (
    Frames,
    curve_fits,
    find_knee,
    fit_coverage,
    fit_log_linear,
    fit_power_law,
    more_calls_hurt,
    run_curves,
)
from workbench.errors import WorkbenchError

COMPUTE = np.array([1, 2, 4, 8, 16, 32, 64], dtype=float)


def test_power_law_recovers_alpha_from_noisy_points() -> None:
    rng = np.random.default_rng(0)
    alpha = 0.12
    y = 0.3 * COMPUTE ** alpha * np.exp(rng.normal(0, 0.02, COMPUTE.size))
    fit = fit_power_law(COMPUTE, y)
    assert fit.slope == pytest.approx(alpha, abs=0.02)
    assert fit.slope_lo < alpha < fit.slope_hi and fit.ci_method == "analytic OLS"
    assert fit.predict([8.0])[0] == pytest.approx(0.3 * 8 ** alpha, rel=0.05)


def test_power_law_bootstrap_over_items_covers_alpha() -> None:
    rng = np.random.default_rng(1)
    alpha, n_items = 0.15, 400
    p = 0.35 * COMPUTE ** alpha  # per-config success probability
    items = (rng.random((n_items, COMPUTE.size)) < p).astype(float)
    fit = fit_power_law(COMPUTE, items.mean(axis=0), item_matrix=items, b=500)
    assert fit.ci_method == "bootstrap over items"
    assert fit.slope_lo < alpha < fit.slope_hi
    assert fit.slope_hi - fit.slope_lo < 0.1


def test_log_linear_gain_per_doubling() -> None:
    y = 0.4 + 0.05 * np.log2(COMPUTE)
    fit = fit_log_linear(COMPUTE, y)
    assert fit.extra["gain_per_doubling"] == pytest.approx(0.05)
    assert fit.r2 == pytest.approx(1.0)


def test_coverage_law_recovers_a_and_b() -> None:
    k = np.arange(1, 65, dtype=float)
    cov = np.exp(-1.2 * k ** -0.6)
    fit = fit_coverage(k, cov)
    assert fit.extra["a"] == pytest.approx(-1.2, rel=1e-6)
    assert fit.slope == pytest.approx(-0.6, abs=1e-6)
    assert np.allclose(fit.predict(k), cov)


def test_fits_need_two_distinct_compute_values() -> None:
    with pytest.raises(WorkbenchError):
        fit_power_law([4, 4], [0.5, 0.6])


def test_knee_on_a_saturating_curve() -> None:
    # steep rise up to 8x compute, flat after: the knee is at 8
    y = np.minimum(np.log2(COMPUTE), 3) * 0.1 + 0.5
    assert find_knee(COMPUTE, y) == 8
    assert find_knee(COMPUTE, 0.5 + 0.1 * np.log2(COMPUTE)) is None  # straight in log C


def _items(p: np.ndarray, n: int, seed: int) -> np.ndarray:
    return (np.random.default_rng(seed).random((n, p.size)) < p).astype(float)


def test_more_calls_hurt_flags_a_real_drop_only() -> None:
    falling = _items(np.array([0.60, 0.70, 0.72, 0.66, 0.58, 0.52, 0.48]), 600, 2)
    check = more_calls_hurt(COMPUTE, falling, b=500)
    assert check.flag and check.x_peak in (4.0, 8.0) and check.drop < -0.15
    assert check.drop_hi < 0
    rising = _items(np.array([0.5, 0.6, 0.65, 0.7, 0.72, 0.73, 0.74]), 600, 3)
    assert not more_calls_hurt(COMPUTE, rising, b=500).flag
    flat = _items(np.full(7, 0.6), 100, 4)  # wiggles are noise
    assert not more_calls_hurt(COMPUTE, flat, b=500).flag


def test_curve_fits_on_replayed_runs(frames: Frames) -> None:
    fits = curve_fits(run_curves(frames.paths), b=200)
    sc = fits.filter(fits["run_id"] == "r-sc")
    assert set(sc["kind"]) == {"power_law", "log_linear", "coverage"}
    power = sc.filter(sc["kind"] == "power_law").row(0, named=True)
    assert power["slope"] > 0 and power["slope_lo"] <= power["slope"] <= power["slope_hi"]
    assert set(fits["run_id"]) == {"r-sc"}  # single-path runs have < 3 values of k
