"""Honest offline evaluation of allocation policies at equal compute, from stored pools.

Honest means: a policy that learns anything (a calibrated threshold, a per-bin choice) is
fitted on *fit* items and scored on *held-out* items it never saw. With few items a single
split wastes half of them, so items are cross-fitted: a seeded assignment to ``folds``
folds; each fold is held out once while the others fit (``folds=2`` is a fit/held-out
split used both ways), and every item is scored exactly once, held out. Policies that
learn nothing (uniform SC@N, a stopping rule at a fixed setting, the budget planner at a
fixed budget) are scored on every item the same way. Each item's draws follow its seeded
orders (:func:`workbench.allocation.pools.draw_order`), so every number is reproducible.

Compute is generated tokens (``tokens_out``, forced answers included), the cost that
grows with samples; prompts are the same for every policy of a pool. Intervals are
percentile bootstraps over items (:mod:`workbench.analysis.bootstrap`), the same item
resamples for every policy so comparisons stay paired.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from workbench.allocation import binned
from workbench.allocation.planner import allocate_offline
from workbench.allocation.pools import ItemPool, pools_from_frame
from workbench.allocation.replay import (
    REPLICATES,
    Replayed,
    calibrate_threshold,
    replay_setting,
    replay_uniform,
    rule_settings,
)
from workbench.analysis.bootstrap import DEFAULT_B, bootstrap_mean_ci, resample_weights
from workbench.techniques.params import STOP_RULES

TOL = 1e-9


def fold_of(uids: Sequence[str], folds: int, seed: int = 0) -> np.ndarray:
    """A seeded, balanced fold number per item (depends on the set of items, not on
    their order)."""
    if folds < 2:
        raise ValueError(f"cross-fitting needs at least 2 folds (got {folds})")
    ranked = sorted(range(len(uids)), key=lambda i: uids[i])
    perm = np.random.default_rng(seed).permutation(len(uids))
    out = np.zeros(len(uids), dtype=np.int64)
    for slot, pos in enumerate(perm):
        out[ranked[int(pos)]] = slot % folds
    return out


def split_items(uids: Sequence[str], seed: int = 0) -> tuple[list[str], list[str]]:
    """A seeded half/half (fit, held-out) split: fold 0 of :func:`fold_of` is held out."""
    f = fold_of(uids, 2, seed)
    return ([u for u, x in zip(uids, f, strict=True) if x != 0],
            [u for u, x in zip(uids, f, strict=True) if x == 0])


@dataclass
class Evaluation:
    """Per-item results of every (policy, setting): ``acc``/``tokens``/``draws`` are
    items x settings matrices aligned with ``columns``."""

    uids: list[str]
    columns: list[tuple[str, float]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    acc: list[np.ndarray] = field(default_factory=list)
    tokens: list[np.ndarray] = field(default_factory=list)
    draws: list[np.ndarray] = field(default_factory=list)

    def add(self, policy: str, setting: float, rep: Replayed, note: str = "") -> None:
        self.columns.append((policy, float(setting)))
        self.notes.append(note)
        self.acc.append(rep.acc)
        self.tokens.append(rep.tokens)
        self.draws.append(rep.draws)

    def matrices(self) -> tuple[np.ndarray, np.ndarray]:
        return np.column_stack(self.acc), np.column_stack(self.tokens)

    def index(self, policy: str, setting: float) -> int:
        return self.columns.index((policy, float(setting)))

    def table(self, *, b: int = DEFAULT_B, seed: int = 0, level: float = 0.95
              ) -> pl.DataFrame:
        """One row per (policy, setting): accuracy and tokens per item with intervals."""
        acc, tok = self.matrices()
        am, alo, ahi = bootstrap_mean_ci(acc, b=b, seed=seed, level=level)
        tm, tlo, thi = bootstrap_mean_ci(tok, b=b, seed=seed, level=level)
        n = len(self.uids)
        return pl.DataFrame({
            "policy": [c[0] for c in self.columns], "setting": [c[1] for c in self.columns],
            "n_items": n, "accuracy": am, "accuracy_lo": alo, "accuracy_hi": ahi,
            "tokens_per_item": tm, "tokens_lo": tlo, "tokens_hi": thi,
            "tokens_total": tm * n, "draws_per_item": [float(d.mean()) for d in self.draws],
            "note": self.notes})


def evaluate_policies(pool_frame: pl.DataFrame, outcomes: pl.DataFrame | None = None, *,
                      folds: int = 2, seed: int = 0, replicates: Sequence[int] = REPLICATES,
                      probe: int = 2, bin_probe: int = 4, target_loss: float = 0.0,
                      rules: Sequence[str] = STOP_RULES,
                      lambdas: Sequence[float] = binned.LAMBDAS) -> Evaluation:
    """Uniform SC@N (N = 1..pool size), each stopping rule over its grid and calibrated on
    fit items (``target_loss`` vs full SC on them), the budget planner at the budgets of
    uniform SC@N (N >= ``probe``), and the per-bin choice (when ``outcomes`` of other
    stored runs are given, see :func:`workbench.allocation.binned.item_outcomes`)."""
    pools = pools_from_frame(pool_frame)
    uids = [p.uid for p in pools]
    fold = fold_of(uids, folds, seed)
    ev = Evaluation(uids)
    n_max = max(p.n for p in pools)
    kw: dict[str, Any] = {"seed": seed, "replicates": replicates}
    uniform = {n: replay_uniform(pools, n, **kw) for n in range(1, n_max + 1)}
    for n, rep in uniform.items():
        ev.add("uniform", n, rep)
    for rule in rules:
        for s in rule_settings(rule):
            ev.add(f"sc-stop/{rule}", s, replay_setting(pools, rule, s, window=1,
                                                        n_max=n_max, **kw))
        ev.add(f"sc-stop/{rule} fit", target_loss,
               *_calibrated(pools, fold, rule, target_loss, n_max, kw))
    for n in range(max(probe, 1), n_max + 1):
        ev.add("planner", n, _planned(pools, fold, uniform[n], probe, kw),
               note=f"budget of uniform SC@{n}")
    if outcomes is not None and outcomes.height:
        _add_binned(ev, pools, fold, outcomes, bin_probe, lambdas, kw)
    return ev


def _cross_fit(pools: Sequence[ItemPool], fold: np.ndarray) -> list[tuple[list[int],
                                                                          list[int]]]:
    return [([i for i in range(len(pools)) if fold[i] != f],
             [i for i in range(len(pools)) if fold[i] == f]) for f in sorted(set(fold))]


def _calibrated(pools: Sequence[ItemPool], fold: np.ndarray, rule: str, target: float,
                n_max: int, kw: dict[str, Any]) -> tuple[Replayed, str]:
    """The rule at the setting calibrated on the other folds, for each held-out fold."""
    acc, tok, drw = (np.zeros(len(pools)) for _ in range(3))
    chosen = []
    for fit, held in _cross_fit(pools, fold):
        setting, _ = calibrate_threshold([pools[i] for i in fit], rule, target,
                                         n_max=n_max, **kw)
        chosen.append(f"{setting:g}")
        rep = replay_setting([pools[i] for i in held], rule, setting, window=1,
                             n_max=n_max, **kw)
        acc[held], tok[held], drw[held] = rep.acc, rep.tokens, rep.draws
    return Replayed(acc, tok, drw), ("window" if rule == "esc" else "threshold") + \
        " per fold: " + ", ".join(chosen)


def _planned(pools: Sequence[ItemPool], fold: np.ndarray, same_as: Replayed, probe: int,
             kw: dict[str, Any]) -> Replayed:
    """The planner on each fold (a question set) with the tokens uniform SC@N spends on
    it; the reserve is the largest stored draw."""
    acc, tok, drw = (np.zeros(len(pools)) for _ in range(3))
    reserve = float(max(max(p.tokens) for p in pools))
    for _fit, held in _cross_fit(pools, fold):
        budget = float(same_as.tokens[held].sum())
        rep = allocate_offline([pools[i] for i in held], budget, probe=probe,
                               reserve=reserve, **kw)
        acc[held], tok[held], drw[held] = rep.acc, rep.tokens, rep.draws
    return Replayed(acc, tok, drw)


def _add_binned(ev: Evaluation, pools: Sequence[ItemPool], fold: np.ndarray,
                outcomes: pl.DataFrame, probe: int, lambdas: Sequence[float],
                kw: dict[str, Any]) -> None:
    table = binned.config_table(pools, outcomes, probe=probe, **kw)
    for lam in lambdas:
        acc, tok = np.zeros(len(pools)), np.zeros(len(pools))
        notes = []
        for fit, held in _cross_fit(pools, fold):
            fit_mask = np.zeros(len(pools), dtype=bool)
            fit_mask[fit] = True
            choice = binned.fit_binned_choice(table, fit_mask, lam)
            notes.append("/".join(table.configs[c] for c in choice))
            a, t = binned.apply_binned_choice(table, choice)
            acc[held], tok[held] = a[held], t[held]
        ev.add("binned", lam, Replayed(acc, tok, np.full(len(pools), np.nan)),
               note="hard/mid/easy per fold: " + ", ".join(notes))


def _policies(ev: Evaluation) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for j, (policy, _s) in enumerate(ev.columns):
        out.setdefault(policy, []).append(j)
    return out


def _resampled(ev: Evaluation, b: int, seed: int, level: float
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
    """Per-item accuracy and tokens, their per-column means under ``b`` item resamples,
    and the interval's tail mass: what both crossing readouts bootstrap over."""
    acc, tok = ev.matrices()
    n = acc.shape[0]
    w = resample_weights(n, b, np.random.default_rng(seed))
    return acc, tok, w @ acc / n, w @ tok / n, (1.0 - level) / 2.0


def tokens_to_reach(ev: Evaluation, baseline: tuple[str, float], *, b: int = DEFAULT_B,
                    seed: int = 0, level: float = 0.95) -> pl.DataFrame:
    """Per policy: the fewest tokens at which one of its settings reaches ``baseline``'s
    accuracy, as a ratio to ``baseline``'s tokens (inf: never reached), with a bootstrap
    interval over items (each resample recomputes the target and the crossing) and the
    share of resamples where it is reached. This reads the crossing off the held-out
    curve; the ``... fit`` policies are the ones whose setting was chosen blind."""
    acc, tok, boot_a, boot_t, tail = _resampled(ev, b, seed, level)
    base = ev.index(*baseline)
    rows = []
    for policy, cols in _policies(ev).items():
        point, best = _crossing(acc.mean(0), tok.mean(0), cols, base)
        ratios = np.array([_crossing(ba, bt, cols, base)[0] for ba, bt in
                           zip(boot_a, boot_t, strict=True)])
        lo, hi = np.quantile(ratios, [tail, 1.0 - tail], method="inverted_cdf")  # inf-safe
        rows.append({"policy": policy, "tokens_ratio": point, "ratio_lo": float(lo),
                     "ratio_hi": float(hi), "reached": float(np.isfinite(ratios).mean()),
                     "setting": ev.columns[best][1] if best is not None else None,
                     "accuracy": float(acc[:, best].mean()) if best is not None else None})
    return pl.DataFrame(rows).sort("tokens_ratio")


def _crossing(a: np.ndarray, t: np.ndarray, cols: list[int], base: int
              ) -> tuple[float, int | None]:
    ok = [j for j in cols if a[j] >= a[base] - TOL]
    if not ok or t[base] <= 0:
        return float("inf"), None
    best = min(ok, key=lambda j: t[j])
    return float(t[best] / t[base]), best


def accuracy_at_tokens(ev: Evaluation, reference: tuple[str, float], *,
                       b: int = DEFAULT_B, seed: int = 0, level: float = 0.95
                       ) -> pl.DataFrame:
    """Per policy: the best accuracy among its settings that spend at most ``reference``'s
    tokens per item, with a bootstrap interval over items (NaN: none is that cheap)."""
    acc, tok, boot_a, boot_t, tail = _resampled(ev, b, seed, level)
    ref = ev.index(*reference)
    rows = []
    for policy, cols in _policies(ev).items():
        point = _best_under(acc.mean(0), tok.mean(0), cols, ref)
        boots = np.array([_best_under(ba, bt, cols, ref)
                          for ba, bt in zip(boot_a, boot_t, strict=True)])
        finite = boots[~np.isnan(boots)]
        lo, hi = (np.quantile(finite, [tail, 1.0 - tail]) if finite.size
                  else (np.nan, np.nan))
        rows.append({"policy": policy, "accuracy": point, "accuracy_lo": float(lo),
                     "accuracy_hi": float(hi)})
    return pl.DataFrame(rows).sort("accuracy", descending=True, nulls_last=True)


def _best_under(a: np.ndarray, t: np.ndarray, cols: list[int], ref: int) -> float:
    ok = [j for j in cols if t[j] <= t[ref] + TOL]
    return float(max(a[j] for j in ok)) if ok else float("nan")
