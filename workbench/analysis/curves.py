"""maj@k and pass@k curves from stored paths, per item and averaged with CIs over items.

One SC@N run with N stored paths answers "what would SC@k score" for every k <= N without
another model call: each item's curve is an exact expectation over k-subsets of its
paths (:mod:`workbench.analysis.estimators`), and the run's curve is their mean over items.
Uncertainty comes from which items were asked, so intervals are over items (bounded
Agresti-Coull by default, see :mod:`workbench.analysis.intervals`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from workbench.analysis.bootstrap import (  # noqa: F401  (re-exported API)
    DEFAULT_B,
    bootstrap_mean_ci,
    resample_weights,
)
from workbench.analysis.estimators import (
    maj_curve_from_counts,
    pass_at_k_curve,
    require_int_array,
)
from workbench.analysis.frames import item_tallies
from workbench.analysis.intervals import item_mean_ci
from workbench.errors import WorkbenchError


@dataclass(frozen=True)
class RunCurves:
    """Per-item curve matrices of one run (rows follow ``sample_ids``, columns ``ks``)."""

    run_id: str
    sample_ids: list[str]
    ks: np.ndarray
    maj: np.ndarray
    pass_: np.ndarray


def _pass_rows(n_paths: pl.Series, n_correct: pl.Series, ks: np.ndarray) -> np.ndarray:
    cache: dict[tuple[int, int], np.ndarray] = {}
    rows = []
    for n, c in zip(n_paths, n_correct, strict=True):
        key = (int(n), int(c))
        if key not in cache:
            cache[key] = pass_at_k_curve(*key)[ks - 1]
        rows.append(cache[key])
    return np.vstack(rows) if rows else np.zeros((0, len(ks)))


def run_curves(paths: pl.DataFrame, gold: pl.DataFrame | None = None,
               ks: Sequence[int] | None = None) -> list[RunCurves]:
    """Per-item maj@k and pass@k matrices for every run in ``paths``.

    ``ks`` defaults to 1..(fewest paths any item of the run has), so every k averages over
    the same items. Items with no paths are absent from ``paths`` and so from the curves.
    """
    tallies = item_tallies(paths, gold)
    out = []
    for (run_id,), t in tallies.group_by("run_id", maintain_order=True):
        n_min = int(t["n_paths"].min())  # type: ignore[arg-type]
        kk = np.arange(1, n_min + 1) if ks is None else require_int_array(ks, "k")
        if kk.size == 0 or kk.max() > n_min or kk.min() < 1:
            raise WorkbenchError(f"Run {run_id}: k must lie in 1..{n_min} (the fewest paths "
                                 f"stored for any of its items); got {kk.tolist()}.")
        maj = np.vstack([
            maj_curve_from_counts(list(c), list(ok), int(a), kk)
            for c, ok, a in zip(t["counts"], t["correct"], t["n_abstain"], strict=True)])
        out.append(RunCurves(str(run_id), t["sample_id"].to_list(), kk, maj,
                             _pass_rows(t["n_paths"], t["n_correct"], kk)))
    return out


def item_curves(paths: pl.DataFrame, gold: pl.DataFrame | None = None,
                ks: Sequence[int] | None = None) -> pl.DataFrame:
    """Long frame: run_id, sample_id, k, maj, pass (expected accuracy of k paths per item)."""
    frames = []
    for rc in run_curves(paths, gold, ks):
        n_items, n_k = rc.maj.shape
        frames.append(pl.DataFrame({
            "run_id": [rc.run_id] * (n_items * n_k),
            "sample_id": np.repeat(np.asarray(rc.sample_ids, dtype=object), n_k).tolist(),
            "k": np.tile(rc.ks, n_items),
            "maj": rc.maj.ravel(),
            "pass": rc.pass_.ravel(),
        }))
    return pl.concat(frames) if frames else pl.DataFrame(
        schema={"run_id": pl.String, "sample_id": pl.String, "k": pl.Int64,
                "maj": pl.Float64, "pass": pl.Float64})


def summarize_curves(rcs: Sequence[RunCurves], *, b: int = DEFAULT_B, seed: int = 0,
                     level: float = 0.95, ci: str = "agresti-coull") -> pl.DataFrame:
    """Average :class:`RunCurves` over items with CIs over items (see :func:`curves`)."""
    frames = []
    for rc in rcs:
        both = np.hstack([rc.maj, rc.pass_])
        mean, lo, hi = item_mean_ci(both, method=ci, b=b, seed=seed, level=level)
        n_k = len(rc.ks)
        frames.append(pl.DataFrame({
            "run_id": [rc.run_id] * n_k, "k": rc.ks, "n_items": [rc.maj.shape[0]] * n_k,
            "maj": mean[:n_k], "maj_lo": lo[:n_k], "maj_hi": hi[:n_k],
            "pass": mean[n_k:], "pass_lo": lo[n_k:], "pass_hi": hi[n_k:],
        }))
    return pl.concat(frames) if frames else pl.DataFrame()


def curves(paths: pl.DataFrame, gold: pl.DataFrame | None = None,
           ks: Sequence[int] | None = None, *, b: int = DEFAULT_B, seed: int = 0,
           level: float = 0.95, ci: str = "agresti-coull") -> pl.DataFrame:
    """maj@k and pass@k per run and k, averaged over items, with CIs over items.

    ``paths`` needs run_id, sample_id, answer and (per path) correct; rows with role other
    than 'path' are ignored. ``gold`` (sample_id[, run_id], gold) fills in ``correct`` where
    it is null by string equality. Columns: run_id, k, n_items, maj, maj_lo, maj_hi, pass,
    pass_lo, pass_hi. ``ci`` is the interval method (:mod:`workbench.analysis.intervals`):
    "agresti-coull" (default; keeps its coverage on small item sets near 0 or 1) or
    "bootstrap" (percentile, ``b`` resamples, ``seed``; collapses to [1, 1] when every item
    scores 1).
    """
    return summarize_curves(run_curves(paths, gold, ks), b=b, seed=seed, level=level, ci=ci)
