"""Budget-constrained allocation over a question set: probe every item, then give each
next sample to the item where it is expected to raise accuracy most per token.

The planner is an online object (``next()`` names the item to sample, ``observe()`` takes
the answer when it arrives), so the same code drives the offline replay here
(:func:`allocate_offline`), a live run, and a later ``--compute`` knob that turns a total
budget into per-item samples. It never sees a grade.

Expected gain. With ``a`` votes for an item's leader and ``b`` for its runner-up, the
chance the current vote names the true majority answer is q(a, b) = 1 - I_0.5(a+1, b+1)
(the Beta posterior of Adaptive-Consistency). ``m`` more draws split j : m-j between the
two with the Beta-binomial(m, a+1, b+1) predictive, after which the vote is right with
q(sorted(a+j, b+m-j)); the expected rise over q(a, b), per draw, maximised over m up to
``lookahead``, is the item's gain per sample (a one-step look would be zero whenever one
vote cannot flip the leader). It is scaled by the item's observed answer rate (draws that
abstain buy nothing) and divided by its mean tokens per draw so far. Under
self-consistency's premise that the majority answer is the right one, this is the
expected accuracy gained per token.

The budget is never exceeded: a sample is handed out only while the budget left covers
``reserve`` tokens, the most one draw can cost (the request's ``max_tokens``; offline,
the largest stored draw), and ``spent`` adds what each draw actually cost.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache

import numpy as np

from workbench.allocation.pools import ItemPool, draw_order, voted_correct
from workbench.allocation.replay import REPLICATES, Replayed
from workbench.allocation.stopping import top_counts
from workbench.techniques.voting import leader_confidence


@lru_cache(maxsize=65536)
def _q(a: int, b: int) -> float:
    hi, lo = max(a, b), min(a, b)
    return leader_confidence([float(hi), float(lo)])


@lru_cache(maxsize=65536)
def sample_gain(a: int, b: int, lookahead: int = 8) -> float:
    """Expected rise of P(vote is the true majority) per extra draw, best over 1..lookahead
    draws, for leader/runner-up votes ``a`` >= ``b`` (see the module docstring)."""
    from scipy.stats import betabinom

    now = _q(a, b)
    best = 0.0
    for m in range(1, max(0, lookahead) + 1):
        pmf = betabinom.pmf(np.arange(m + 1), m, a + 1, b + 1)
        after = sum(float(p) * _q(a + j, b + m - j) for j, p in enumerate(pmf))
        best = max(best, (after - now) / m)
    return best


class BudgetPlanner:
    """Greedy marginal-gain allocation of ``budget`` tokens over ``items``.

    ``probe`` draws go to every item first (round-robin, so a budget too small for the
    whole probe still spreads evenly); ``n_max`` caps draws per item (an int, or a
    mapping item -> cap, e.g. the stored pool sizes)."""

    def __init__(self, items: Sequence[str], budget: float, *, reserve: float,
                 probe: int = 2, n_max: int | Mapping[str, int] = 16,
                 lookahead: int = 8) -> None:
        if reserve <= 0:
            raise ValueError(f"reserve must be positive (got {reserve})")
        self.items = list(items)
        self.budget, self.reserve = float(budget), float(reserve)
        self.probe, self.lookahead = probe, lookahead
        self.caps = ({i: int(n_max[i]) for i in self.items} if isinstance(n_max, Mapping)
                     else dict.fromkeys(self.items, int(n_max)))
        self.keys: dict[str, list[str | None]] = {i: [] for i in self.items}
        self.tokens: dict[str, list[float]] = {i: [] for i in self.items}
        self.spent = 0.0

    @property
    def remaining(self) -> float:
        return self.budget - self.spent

    def draws(self, item: str) -> int:
        return len(self.keys[item])

    def gain_per_token(self, item: str) -> float:
        """Expected accuracy gained per token by one more draw of ``item``."""
        keys = self.keys[item]
        counts = top_counts(keys)
        a = counts[0] if counts else 0
        b = counts[1] if len(counts) > 1 else 0
        room = self.caps[item] - len(keys)
        gain = sample_gain(a, b, min(self.lookahead, room))
        answered = (sum(k is not None for k in keys) + 1) / (len(keys) + 2)
        cost = float(np.mean(self.tokens[item])) if self.tokens[item] else self.reserve
        return gain * answered / max(cost, 1.0)

    def next(self) -> str | None:
        """The item to draw next, or ``None`` (budget spent, every item capped, or no
        draw is expected to help)."""
        if self.remaining < self.reserve:
            return None
        open_ = [i for i in self.items if self.draws(i) < self.caps[i]]
        probing = [i for i in open_ if self.draws(i) < self.probe]
        if probing:
            return min(probing, key=self.draws)  # fewest first, then item order
        scored = [(self.gain_per_token(i), -pos, i) for pos, i in enumerate(self.items)
                  if i in open_]
        if not scored:
            return None
        gain, _, item = max(scored)
        return item if gain > 0.0 else None

    def observe(self, item: str, key: str | None, tokens: float) -> None:
        """Record one finished draw of ``item`` (its vote key, ``None`` if it abstained)."""
        self.keys[item].append(key)
        self.tokens[item].append(float(tokens))
        self.spent += float(tokens)

    def plan(self) -> dict[str, int]:
        """Draws given to each item so far."""
        return {i: self.draws(i) for i in self.items}


def allocate_offline(pools: Sequence[ItemPool], budget: float, *, probe: int = 2,
                     reserve: float | None = None, lookahead: int = 8, seed: int = 0,
                     replicates: Sequence[int] = REPLICATES) -> Replayed:
    """Run the planner on stored pools (each item drawn in its seeded order, capped at its
    pool) and score each item's final vote; per-item arrays averaged over replicates.

    ``reserve`` defaults to the largest stored draw of these pools."""
    reserve = reserve or float(max((max(p.tokens, default=1) for p in pools), default=1))
    acc, tok, used = (np.zeros(len(pools)) for _ in range(3))
    for r in replicates:
        orders = {p.uid: draw_order(p, seed, r) for p in pools}
        by_uid = {p.uid: p for p in pools}
        planner = BudgetPlanner([p.uid for p in pools], budget, reserve=reserve, probe=probe,
                                n_max={p.uid: p.n for p in pools}, lookahead=lookahead)
        while (uid := planner.next()) is not None:
            pos = int(orders[uid][planner.draws(uid)])
            planner.observe(uid, by_uid[uid].keys[pos], by_uid[uid].tokens[pos])
        for i, p in enumerate(pools):
            m = planner.draws(p.uid)
            acc[i] += voted_correct(p, orders[p.uid][:m]) if m else 0.0
            tok[i] += sum(planner.tokens[p.uid])
            used[i] += m
    k = max(1, len(replicates))
    return Replayed(acc / k, tok / k, used / k)
