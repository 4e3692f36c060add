"""Registered compositions of the basic techniques (in Python any composition works:
``self_consistency(refine(cot(256), rounds=2), n=5)``; these are the ones with a name)."""

from __future__ import annotations

from workbench.techniques.base import Technique
from workbench.techniques.cot import cot
from workbench.techniques.refine import Refine
from workbench.techniques.registry import register
from workbench.techniques.self_consistency import SelfConsistency


@register("sc-refine", "self-consistency over `n` refined answers (composition of `sc` "
          "and `refine`)", params=("budget", "n", "rounds", "vote", "verifier"), rank=60,
          sampling=True, compute_knob="rounds")
def _sc_refine(budget: int, n: int, rounds: int, vote: str) -> Technique:
    return SelfConsistency(Refine(cot(budget), rounds=rounds, budget=budget), n=n, vote=vote)
