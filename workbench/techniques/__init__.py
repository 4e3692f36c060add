"""Techniques: factories that compose. ``build(name, ...)`` maps CLI/spec names to them."""

from __future__ import annotations

from workbench.errors import WorkbenchError
from workbench.techniques.base import Outcome, Technique
from workbench.techniques.best_of_n import BestOfN, best_of_n
from workbench.techniques.cot import CoT, Direct, check_budget, cot, direct
from workbench.techniques.refine import Refine, refine
from workbench.techniques.self_consistency import (
    AdaptiveSC,
    SelfConsistency,
    adaptive_sc,
    self_consistency,
)

TECHNIQUES: dict[str, str] = {
    "direct": "one pass, final answer only (the 1x baseline)",
    "cot": "chain of thought with a reasoning-token budget and budget forcing",
    "sc": "self-consistency: N CoT paths, majority / logprob / verifier-weighted vote",
    "adaptive-sc": "self-consistency that stops once the vote is settled",
    "refine": "CoT, then critique by a verifier model and regenerate, up to R rounds",
    "best-of-n": "N CoT candidates, the verifier's highest-scored one wins",
    "sc-refine": "self-consistency over N refined answers (composition)",
}
SAMPLING = {"sc", "adaptive-sc", "best-of-n", "sc-refine"}
NEEDS_VERIFIER = {"refine", "best-of-n", "sc-refine"}


def build(name: str, *, budget: int = 256, n: int = 8, rounds: int = 3,
          vote: str = "majority", confidence: float = 0.95) -> Technique:
    """The technique called ``name`` with the given knobs; unknown names are a clear error."""
    check_budget(budget)
    if name == "direct":
        return direct(max_tokens=min(budget, 64))
    if name == "cot":
        return cot(budget)
    if name == "sc":
        return SelfConsistency(cot(budget), n=n, vote=vote)
    if name == "adaptive-sc":
        return adaptive_sc(cot(budget), n=n, confidence=confidence)
    if name == "refine":
        return Refine(cot(budget), rounds=rounds, budget=budget)
    if name == "best-of-n":
        return best_of_n(cot(budget), n=n)
    if name == "sc-refine":
        return SelfConsistency(Refine(cot(budget), rounds=rounds, budget=budget), n=n, vote=vote)
    raise WorkbenchError(
        f"Unknown technique {name!r}. Known techniques: {', '.join(TECHNIQUES)}.")


__all__ = [
    "AdaptiveSC", "BestOfN", "CoT", "Direct", "Outcome", "Refine", "SelfConsistency",
    "TECHNIQUES", "Technique", "adaptive_sc", "best_of_n", "build", "cot", "direct",
    "refine", "self_consistency",
]
