"""Difficulty without the answer key: label-free estimators from a cheap probe, and how
well each predicts an item's true pass@1 on stored data.

Estimators, each from the first ``k`` draws of an item (the *probe*, stored order):

* ``agreement`` — share of the probe giving the modal answer (abstentions disagree);
* ``entropy`` — entropy (nats) of the probe's answers (an abstention is its own answer);
* ``logprob`` — mean of the probe draws' mean token logprob (``paths.logprob_mean``);
* ``verifier`` — mean verifier score of the probe draws (``paths.score``).

The truth they are scored against is the item's pass@1 measured on the *remaining* draws
(idx >= k), never the probe's: the probe's own correctness shares its noise with the
estimate, so scoring against all draws would flatter every estimator (with k = 4 of 16,
a quarter of the truth would be the probe itself). An item needs more than ``k`` draws.

The report gives, per estimator, Spearman's rho with pass@1 (sign as is: agreement and
logprob should be positive, entropy negative) and the AUROC for "the item is hard"
(pass@1 < ``hard_below``) with the estimator oriented so that higher means harder
(0.5 = chance, 1 = perfect). Intervals: percentile bootstrap over items, the same item
resamples for every estimator (:mod:`workbench.analysis.bootstrap`). An estimator the
data cannot compute (no logprobs stored) is reported with ``n_items`` = 0.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl

from workbench.allocation.pools import ItemPool, pools_from_frame
from workbench.analysis.bootstrap import DEFAULT_B, resample_weights

ESTIMATORS = {"agreement": -1.0, "entropy": 1.0, "logprob": -1.0, "verifier": -1.0}
"""Estimator -> the sign that turns it into a hardness score (higher = harder)."""


def probe_estimates(keys: list[str | None], logprob: list[float | None],
                    score: list[float | None]) -> dict[str, float | None]:
    """The four estimators of one probe (``None`` where the probe has no such signal)."""
    k = len(keys)
    answered = Counter(a for a in keys if a is not None)
    agreement = max(answered.values()) / k if answered else 0.0
    counts = list(Counter(keys).values())
    entropy = -sum(c / k * math.log(c / k) for c in counts) if k else 0.0
    lp = [v for v in logprob if v is not None]
    sc = [v for v in score if v is not None]
    return {"agreement": agreement, "entropy": entropy + 0.0,
            "logprob": float(np.mean(lp)) if lp else None,
            "verifier": float(np.mean(sc)) if sc else None}


def item_difficulty(pool_frame: pl.DataFrame, k: int) -> pl.DataFrame:
    """One row per item with more than ``k`` draws: run_id, item_id, the estimators from
    its first ``k`` draws, and ``pass1`` (mean correctness of the other draws)."""
    if k < 1:
        raise ValueError(f"the probe needs k >= 1 draws (got {k})")
    rows = []
    for pool in pools_from_frame(pool_frame):
        if pool.n <= k:
            continue
        rows.append({"run_id": pool.run_id, "item_id": pool.item_id, "k": k,
                     **_probe(pool, k), "pass1": float(np.mean(pool.correct[k:]))})
    schema = {"run_id": pl.String, "item_id": pl.String, "k": pl.Int64,
              **{e: pl.Float64 for e in ESTIMATORS}, "pass1": pl.Float64}
    return pl.DataFrame(rows, schema=schema)


def _probe(pool: ItemPool, k: int) -> dict[str, float | None]:
    return probe_estimates(list(pool.keys[:k]), list(pool.logprob[:k]),
                           list(pool.score[:k]))


def rankdata(x: np.ndarray) -> np.ndarray:
    """Average ranks (1-based), ties sharing the mean of their positions."""
    from scipy.stats import rankdata as _rank

    return np.asarray(_rank(x), dtype=np.float64)


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's rho (Pearson on average ranks); NaN when either side is constant."""
    rx, ry = rankdata(np.asarray(x, float)), rankdata(np.asarray(y, float))
    if len(rx) < 2 or rx.std() == 0 or ry.std() == 0:
        return float("nan")
    return float(np.corrcoef(rx, ry)[0, 1])


def auroc(score: np.ndarray, positive: np.ndarray) -> float:
    """P(score of a random positive > score of a random negative), ties counting 1/2
    (the Mann-Whitney U statistic over n_pos * n_neg); NaN without both classes."""
    s = np.asarray(score, float)
    pos = np.asarray(positive, bool)
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(s)
    u = ranks[pos].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def difficulty_report(pool_frame: pl.DataFrame, k: int, *, hard_below: float = 0.5,
                      b: int = DEFAULT_B, seed: int = 0, level: float = 0.95
                      ) -> pl.DataFrame:
    """Per estimator: n_items, n_hard, spearman (+ _lo, _hi) with pass@1 and auroc
    (+ _lo, _hi) for pass@1 < ``hard_below``, from probes of ``k`` draws (see the module
    docstring for why pass@1 comes from the other draws)."""
    items = item_difficulty(pool_frame, k)
    rng = np.random.default_rng(seed)
    weights = resample_weights(items.height, b, rng) if items.height else np.zeros((0, 0))
    rows = [_estimator_row(items, name, sign, weights, k, hard_below, level)
            for name, sign in ESTIMATORS.items()]
    return pl.DataFrame(rows)


def _estimator_row(items: pl.DataFrame, name: str, sign: float, weights: np.ndarray, k: int,
                   hard_below: float, level: float) -> dict[str, Any]:
    """One estimator's Spearman and AUROC with their bootstrap intervals."""
    mask = items[name].is_not_null().to_numpy()
    x = items[name].to_numpy()[mask].astype(float)
    y = items["pass1"].to_numpy()[mask].astype(float)
    hard = y < hard_below
    w = weights[:, mask] if weights.size else weights
    rho_ci = _boot(w, lambda i: spearman(x[i], y[i]), level)
    auc_ci = _boot(w, lambda i: auroc(sign * x[i], hard[i]), level)
    return {"estimator": name, "k": k, "n_items": int(mask.sum()), "n_hard": int(hard.sum()),
            "spearman": spearman(x, y), "spearman_lo": rho_ci[0], "spearman_hi": rho_ci[1],
            "auroc": auroc(sign * x, hard), "auroc_lo": auc_ci[0], "auroc_hi": auc_ci[1]}


def _boot(weights: np.ndarray, stat: Callable[[np.ndarray], float], level: float
          ) -> tuple[float, float]:
    """Percentile interval of ``stat(indices)`` over the bootstrap resamples (rows of
    ``weights`` = how often each item appears); NaN resamples (one class only) skipped."""
    if weights.size == 0:
        return float("nan"), float("nan")
    n = weights.shape[1]
    values = []
    for w in weights:
        idx = np.repeat(np.arange(n), w.astype(int))
        values.append(stat(idx))
    v = np.asarray(values, float)
    v = v[~np.isnan(v)]
    if v.size == 0:
        return float("nan"), float("nan")
    tail = (1.0 - level) / 2.0
    lo, hi = np.quantile(v, [tail, 1.0 - tail])
    return float(lo), float(hi)
