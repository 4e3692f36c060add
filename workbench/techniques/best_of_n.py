"""Best-of-N: draw N candidates from any inner technique, keep the one the verifier scores
highest. Ties on score go to the answer with more candidates, then to the first seen."""

from __future__ import annotations

import asyncio
from typing import Any

from workbench.context import Ctx
from workbench.techniques.base import Outcome, Technique
from workbench.techniques.cot import cot
from workbench.techniques.registry import register
from workbench.techniques.self_consistency import check_n, emit_vote
from workbench.techniques.verifier import score
from workbench.techniques.voting import VoteResult, group_answers


class BestOfN(Technique):
    name = "best-of-n"

    def __init__(self, inner: Technique, n: int = 4, verifier_budget: int = 128) -> None:
        self.inner, self.n, self.verifier_budget = inner, check_n(n), verifier_budget

    async def __call__(self, ctx: Ctx, index: int = 0) -> Outcome:
        cands = await self.inner.sample(ctx, self.n, index)
        scores = await asyncio.gather(*(score(ctx, c, budget=self.verifier_budget)
                                        for c in cands))
        for c, s in zip(cands, scores, strict=True):
            c.score = s
        groups = group_answers([c.answer for c in cands], ctx.task.same)
        size = {pos: len(members) for _, members in groups for pos in members}
        ranked = sorted(range(len(cands)),
                        key=lambda i: (-scores[i], -size.get(i, 0), i))
        best = cands[ranked[0]]
        top = [i for i in ranked if scores[i] == scores[ranked[0]]]
        counts = {rep: max(scores[m] for m in members) for rep, members in groups}
        tie = len({cands[i].answer for i in top}) > 1
        emit_vote(ctx, "verifier", VoteResult(
            counts=counts, winner=best.answer, tie=tie,
            tie_break="more candidates, then first-seen" if tie else None,
            n_votes=len(cands)), len(cands))
        return Outcome(answer=best.answer, text=best.text, path_id=best.path_id,
                       index=index, score=best.score,
                       tokens_out=sum(c.tokens_out for c in cands))

    def describe(self) -> dict[str, Any]:
        return {"technique": self.name, "n": self.n, "verifier_budget": self.verifier_budget,
                "inner": self.inner.describe()}


def best_of_n(inner: Technique, n: int = 4) -> BestOfN:
    return BestOfN(inner, n)


@register("best-of-n", "`n` CoT candidates, the verifier's highest score wins (ties: more "
          "candidates, then first seen)", params=("budget", "n", "verifier"), rank=50, sampling=True,
          compute_knob="n", replay="best_of")
def _best_of_n(budget: int, n: int) -> Technique:
    return best_of_n(cot(budget), n=n)
