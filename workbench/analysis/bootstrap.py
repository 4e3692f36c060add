"""The percentile bootstrap over items, shared by curves, intervals and fits.

Its own module so that :mod:`workbench.analysis.intervals` (which offers it as one method)
and :mod:`workbench.analysis.curves` (which uses both) do not import each other.
"""

from __future__ import annotations

import numpy as np

DEFAULT_B = 1000
"""Bootstrap resamples; the percentile interval's end points move by ~0.1 pp between seeds."""


def item_matrix(values: np.ndarray) -> np.ndarray:
    """``values`` as a float items x columns matrix (a 1-D array is one column)."""
    v = np.asarray(values, dtype=np.float64)
    return v[:, None] if v.ndim == 1 else v


def no_items(v: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean, lo, hi) of an item matrix with no rows: NaN for every column."""
    nan = np.full(v.shape[1], np.nan)
    return nan, nan.copy(), nan.copy()


def resample_weights(n: int, b: int, rng: np.random.Generator) -> np.ndarray:
    """b x n matrix: how often each of n items appears in each bootstrap resample."""
    idx = rng.integers(0, n, size=(b, n)) + n * np.arange(b)[:, None]
    return np.bincount(idx.ravel(), minlength=b * n).reshape(b, n).astype(np.float64)


def bootstrap_mean_ci(values: np.ndarray, *, b: int = DEFAULT_B, seed: int = 0,
                      level: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean over rows (items) of ``values`` (items x columns) with a percentile bootstrap CI.

    Resampling items with replacement is done as count weights times the matrix (one
    BLAS call for all B resamples and all columns), and the same resamples are used for
    every column so that differences between columns (k, configs) stay paired.
    """
    v = item_matrix(values)
    n = v.shape[0]
    if n == 0:
        return no_items(v)
    rng = np.random.default_rng(seed)
    boot = resample_weights(n, b, rng) @ v / n
    tail = (1.0 - level) / 2.0
    lo, hi = np.quantile(boot, [tail, 1.0 - tail], axis=0)
    return v.mean(axis=0), lo, hi
