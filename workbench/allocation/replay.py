"""Replaying sampling policies on stored pools: uniform SC@N and sequential stopping rules,
and the calibration of a rule's threshold on fit items.

Each function returns per-item arrays averaged over ``replicates`` seeded draw orders
(:func:`workbench.allocation.pools.draw_order`): ``acc[i]`` is the share of orders in
which item ``i``'s vote was right, ``tokens[i]`` the mean tokens drawn. Averaging over
orders removes the luck of one order without changing what is estimated; every number is
reproducible from (seed, replicate, item).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from workbench.allocation.pools import ItemPool, draw_order, voted_correct
from workbench.allocation.stopping import make_rule, stop_point

REPLICATES = tuple(range(20))
"""Default draw orders averaged per item."""

THRESHOLDS = (0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.97, 0.99)
WINDOWS = (2, 3, 4, 5, 6, 8)
"""Default calibration grids: thresholds (beta, dirichlet, sprt), windows (esc)."""


@dataclass(frozen=True)
class Replayed:
    """Per-item results of one policy setting (arrays aligned with the pools)."""

    acc: np.ndarray
    tokens: np.ndarray
    draws: np.ndarray


def replay_uniform(pools: Sequence[ItemPool], n: int, *, seed: int = 0,
                   replicates: Sequence[int] = REPLICATES) -> Replayed:
    """Uniform SC@n: the first ``n`` draws of each order (all of a smaller pool), voted."""
    acc, tok, used = (np.zeros(len(pools)) for _ in range(3))
    for i, pool in enumerate(pools):
        m = min(n, pool.n)
        for r in replicates:
            drawn = draw_order(pool, seed, r)[:m]
            acc[i] += voted_correct(pool, drawn)
            tok[i] += sum(pool.tokens[int(j)] for j in drawn)
            used[i] += m
    k = max(1, len(replicates))
    return Replayed(acc / k, tok / k, used / k)


def replay_rule(pools: Sequence[ItemPool], rule: str, threshold: float = 0.95, *,
                window: int = 4, n_max: int | None = None, seed: int = 0,
                replicates: Sequence[int] = REPLICATES) -> Replayed:
    """The ``sc-stop`` technique replayed: draws ``window`` at a time in each order until
    ``rule`` fires or ``n_max`` (default: the pool), then votes what it drew."""
    stop = make_rule(rule, threshold, window=window)
    acc, tok, used = (np.zeros(len(pools)) for _ in range(3))
    for i, pool in enumerate(pools):
        for r in replicates:
            order = draw_order(pool, seed, r)
            keys = [pool.keys[int(j)] for j in order]
            m = stop_point(keys, stop, wave=window, n_max=n_max)
            drawn = order[:m]
            acc[i] += voted_correct(pool, drawn)
            tok[i] += sum(pool.tokens[int(j)] for j in drawn)
            used[i] += m
    k = max(1, len(replicates))
    return Replayed(acc / k, tok / k, used / k)


def rule_settings(rule: str) -> tuple[float, ...]:
    """The calibration grid of ``rule``: windows for esc, thresholds otherwise."""
    return tuple(float(w) for w in WINDOWS) if rule == "esc" else THRESHOLDS


def replay_setting(pools: Sequence[ItemPool], rule: str, setting: float, *,
                   window: int = 4, n_max: int | None = None, seed: int = 0,
                   replicates: Sequence[int] = REPLICATES) -> Replayed:
    """:func:`replay_rule` at one grid ``setting`` (a window for esc, else a threshold)."""
    if rule == "esc":
        return replay_rule(pools, "esc", window=int(setting), n_max=n_max, seed=seed,
                           replicates=replicates)
    return replay_rule(pools, rule, setting, window=window, n_max=n_max, seed=seed,
                       replicates=replicates)


def calibrate_threshold(pools: Sequence[ItemPool], rule: str, target_loss: float = 0.0, *,
                        n_max: int | None = None, window: int = 1,
                        grid: Sequence[float] | None = None, seed: int = 0,
                        replicates: Sequence[int] = REPLICATES) -> tuple[float, pl.DataFrame]:
    """The cheapest setting of ``rule`` whose accuracy on ``pools`` (the fit items) is
    within ``target_loss`` of full SC@``n_max`` on the same items and orders.

    Returns (setting, table): the table has one row per grid setting (setting, accuracy,
    tokens_mean, draws_mean, loss, ok). Where no setting meets the target, the most
    accurate one (then the cheaper) is returned, and ``ok`` is false on every row."""
    n = n_max or max((p.n for p in pools), default=1)
    full = replay_uniform(pools, n, seed=seed, replicates=replicates)
    full_acc = float(full.acc.mean()) if len(pools) else 0.0
    rows = []
    for s in (grid or rule_settings(rule)):
        rep = replay_setting(pools, rule, s, window=window, n_max=n, seed=seed,
                             replicates=replicates)
        acc = float(rep.acc.mean()) if len(pools) else 0.0
        rows.append({"setting": float(s), "accuracy": acc,
                     "tokens_mean": float(rep.tokens.mean()) if len(pools) else 0.0,
                     "draws_mean": float(rep.draws.mean()) if len(pools) else 0.0,
                     "loss": full_acc - acc, "ok": full_acc - acc <= target_loss + 1e-12})
    table = pl.DataFrame(rows)
    ok = table.filter(pl.col("ok"))
    pick = (ok.sort("tokens_mean", "setting") if ok.height
            else table.sort(["accuracy", "tokens_mean"], descending=[True, False]))
    return float(pick["setting"][0]), table
