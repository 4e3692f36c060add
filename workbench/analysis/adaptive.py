"""Adaptive self-consistency replayed from stored paths: where would a stopping rule stop?

A run with N paths per item contains every prefix an adaptive sampler would have seen, so
a stopping rule can be scored offline: walk each item's paths in order, stop the first
time the rule fires (or at N), and score the majority vote at that point. Accuracy and
mean samples used then trace the rule's cost/accuracy trade-off at no model cost.
Paths are walked in stored ``idx`` order, and optionally over random re-orderings, which
averages out the luck of one order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import polars as pl
from scipy.special import betainc

from workbench.analysis.answer_keys import VOTE, with_vote_key
from workbench.analysis.estimators import require_int
from workbench.analysis.frames import reasoning_paths, with_correct
from workbench.analysis.intervals import item_mean_ci

StopRule = Callable[[Sequence[int], int, int], bool]
"""(vote counts sorted high to low, paths seen, paths available) -> stop now?"""


def decided() -> StopRule:
    """Stop once the leader's lead exceeds the paths still unseen: the vote can't change
    (ties included), so this rule loses no accuracy against voting all N."""
    def rule(counts: Sequence[int], seen: int, n_max: int) -> bool:
        lead = counts[0] - (counts[1] if len(counts) > 1 else 0) if counts else 0
        return lead > n_max - seen
    return rule


def margin(m: int, min_samples: int = 1) -> StopRule:
    """Stop once the leader is ``m`` votes ahead of the runner-up (after ``min_samples``)."""
    require_int(m, "m")
    require_int(min_samples, "min_samples")
    def rule(counts: Sequence[int], seen: int, n_max: int) -> bool:
        if seen < min_samples or not counts:
            return False
        return counts[0] - (counts[1] if len(counts) > 1 else 0) >= m
    return rule


def beta_confidence(threshold: float = 0.95, min_samples: int = 2) -> StopRule:
    """Adaptive-Consistency's Beta rule (Aggarwal et al. 2023): stop once
    P(leader's share > runner-up's) = 1 - I_0.5(a+1, b+1) reaches ``threshold``.
    Same formula as ``workbench.techniques.voting.leader_confidence``."""
    require_int(min_samples, "min_samples")
    def rule(counts: Sequence[int], seen: int, n_max: int) -> bool:
        if seen < min_samples or not counts:
            return False
        a, b = counts[0], (counts[1] if len(counts) > 1 else 0)
        return float(1.0 - betainc(a + 1.0, b + 1.0, 0.5)) >= threshold
    return rule


def _walk(answers: Sequence[str | None], ok: dict[str, bool], rule: StopRule
          ) -> tuple[int, float]:
    """Paths used and expected correctness (uniform tie-break) for one ordering."""
    votes: dict[str, int] = {}
    n = len(answers)
    used = n
    for i, a in enumerate(answers, start=1):
        if a is not None:
            votes[a] = votes.get(a, 0) + 1
        if rule(sorted(votes.values(), reverse=True), i, n):
            used = i
            break
    if not votes:
        return used, 0.0
    top = max(votes.values())
    tied = [a for a, v in votes.items() if v == top]
    return used, sum(ok.get(a, False) for a in tied) / len(tied)


def _item_orders(n: int, permutations: int, rng: np.random.Generator) -> list[np.ndarray]:
    if permutations <= 0:
        return [np.arange(n)]
    return [rng.permutation(n) for _ in range(permutations)]


def simulate_adaptive(paths: pl.DataFrame, rule: StopRule, *, gold: pl.DataFrame | None = None,
                      permutations: int = 0, seed: int = 0, b: int = 1000,
                      level: float = 0.95) -> pl.DataFrame:
    """Replay ``rule`` over each run's stored paths; one row per run.

    ``permutations`` = 0 walks the stored ``idx`` order; > 0 averages that many random
    orders per item (seeded). Answers are grouped by ``answer_key`` like the live vote
    (see :func:`workbench.analysis.frames.item_tallies`). Columns: run_id, n_items, n_max (paths per item), accuracy,
    accuracy_lo, accuracy_hi (Agresti-Coull over items), samples_mean, samples_saved_frac,
    accuracy_full (majority vote over all paths, for comparison).
    """
    require_int(permutations, "permutations")
    p = with_vote_key(with_correct(reasoning_paths(paths), gold))
    rng = np.random.default_rng(seed)
    full_rule: StopRule = lambda c, s, n: False  # noqa: E731 - never stops: vote over all N
    rows = []
    for (run_id,), run in p.group_by("run_id", maintain_order=True):
        acc, used, full, n_max = [], [], [], []
        for (_sid,), item in run.group_by("sample_id", maintain_order=True):
            answers = item[VOTE].to_list()  # grouped as the live vote groups them
            ok: dict[str, bool] = {}
            for a, c in zip(answers, item["correct"], strict=True):
                if a is not None:
                    ok.setdefault(a, bool(c))  # a group is graded by its first spelling
            walks = [_walk([answers[i] for i in order], ok, rule)
                     for order in _item_orders(len(answers), permutations, rng)]
            used.append(float(np.mean([w[0] for w in walks])))
            acc.append(float(np.mean([w[1] for w in walks])))
            full.append(_walk(answers, ok, full_rule)[1])
            n_max.append(len(answers))
        mean, lo, hi = item_mean_ci(np.asarray(acc), b=b, seed=seed, level=level)
        rows.append({"run_id": run_id, "n_items": len(acc), "n_max": int(np.max(n_max)),
                     "accuracy": float(mean[0]), "accuracy_lo": float(lo[0]),
                     "accuracy_hi": float(hi[0]), "samples_mean": float(np.mean(used)),
                     "samples_saved_frac": float(1 - np.sum(used) / np.sum(n_max)),
                     "accuracy_full": float(np.mean(full))})
    return pl.DataFrame(rows)
