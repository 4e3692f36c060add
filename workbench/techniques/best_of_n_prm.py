"""Best-of-N ranked by aggregated *step* scores (a PRM, a step judge, or logprobs).

A technique of its own rather than a ``scorer`` knob on ``best-of-n``: ``best-of-n`` is
answered from stored samples by the Explorer (its replay rule reads one verifier score
per candidate, role ``verify``); a knob that changed where its scores come from would make
that replay silently wrong for PRM runs, and its stored rows would change meaning.

N CoT chains are drawn whole (budget forcing as in ``cot``), each is split into steps by
the delimiter, and scored: a PRM scores every step in one call (``ctx.score``), so the
aggregate (last, min, product, mean) is over real step scores; a judge rates the
whole chain once and ``logprob`` uses the chain's ``exp(mean token logprob)`` (one score:
every aggregation gives it back). The chain with the best aggregate wins (ties: more
candidates with its answer, then first seen); each chain's row stores its aggregate,
scorer and whether it was kept (chosen).
"""

from __future__ import annotations

import asyncio
from typing import Any

from workbench.context import Ctx, Path
from workbench.techniques.aggregation import aggregate, rank_key
from workbench.techniques.base import Outcome, Technique
from workbench.techniques.cot import chains, check_budget, user_prompt
from workbench.techniques.params import check
from workbench.techniques.registry import register
from workbench.techniques.scorers import RewardScorer, StepScorer, resolve_scorer
from workbench.techniques.search import DEFAULT_DELIMITER
from workbench.techniques.self_consistency import check_n, emit_vote
from workbench.techniques.voting import VoteResult, group_answers


class BestOfNPRM(Technique):
    name = "best-of-n-prm"

    def __init__(self, n: int = 8, budget: int = 256, scorer: str | StepScorer = "prm",
                 aggregate: str = "min", delimiter: str = DEFAULT_DELIMITER) -> None:
        self.n, self.budget = check_n(n), check_budget(budget)
        self.scorer_name, self.scorer = resolve_scorer(scorer)
        self.aggregate, self.delimiter = str(check("aggregate", aggregate)), delimiter

    async def __call__(self, ctx: Ctx, index: int = 0) -> Outcome:
        msgs = ctx.base_messages(user_prompt(ctx, ctx.reasoning()))
        cands = await chains(ctx, msgs, n=self.n, budget=self.budget, index=index,
                             force=True, hold=True)
        try:
            aggs = await asyncio.gather(*(self._rate(ctx, c) for c in cands))
        except BaseException:
            ctx.release_all()  # cancelled or failed while scoring: still write the chains
            raise
        groups = group_answers([c.answer for c in cands], ctx.task.same)
        size = {pos: len(members) for _, members in groups for pos in members}
        ranked = sorted(range(len(cands)), key=lambda i: (
            rank_key(aggs[i], 0)[0], -size.get(i, 0), i))
        best = cands[ranked[0]]
        label = self.scorer.label(ctx)
        for i, c in enumerate(cands):
            ctx.release(_chain_id(c), score=aggs[i], scorer=label, kept=i == ranked[0])
        counts = {rep: max((aggs[m] or 0.0) for m in members) for rep, members in groups}
        emit_vote(ctx, "prm", VoteResult(counts=counts, winner=best.answer,
                                         n_votes=len(cands)), len(cands))
        return Outcome(answer=best.answer, text=best.text, path_id=best.path_id,
                       index=index, score=aggs[ranked[0]],
                       tokens_out=sum(c.tokens_out for c in cands))

    async def _rate(self, ctx: Ctx, cand: Outcome) -> float | None:
        """The aggregate step score of one candidate (None: unscored)."""
        steps = [s for s in cand.text.split(self.delimiter) if s.strip()] or [cand.text]
        chain_id = _chain_id(cand)
        if isinstance(self.scorer, RewardScorer):
            scored = await ctx.score(steps, model=ctx.settings.verifier or ctx.settings.model,
                                     parent_id=chain_id, index=cand.index)
            return aggregate(scored.step_scores or (scored.score,), self.aggregate)
        node = Path(path_id=chain_id, index=cand.index, role="path", text=cand.text,
                    answer=cand.answer, correct=cand.correct, finish_reason=None,
                    truncated=cand.truncated, tokens_in=0, tokens_out=cand.tokens_out,
                    tokens_reasoning=0, logprob_mean=cand.logprob_mean)
        one = await self.scorer.score(ctx, ctx.problem.question, steps, node)
        return aggregate((one,), self.aggregate)

    def describe(self) -> dict[str, Any]:
        return {"technique": self.name, "n": self.n, "budget_tokens": self.budget,
                "scorer": self.scorer_name, "aggregate": self.aggregate,
                "delimiter": self.delimiter}


def _chain_id(c: Outcome) -> str:
    """The chain's own path (not its forced answer): where its score and verdict go."""
    return str(c.info.get("chain_id") or c.path_id)


def best_of_n_prm(n: int = 8, budget: int = 256, scorer: str | StepScorer = "prm",
                  aggregate: str = "min") -> BestOfNPRM:
    return BestOfNPRM(n, budget, scorer, aggregate)


@register("best-of-n-prm", "`n` CoT candidates split into steps, each ranked by its "
          "`aggregate` step score from `scorer` (a PRM scores every step); the best wins",
          params=("budget", "n", "scorer", "aggregate", "verifier"), rank=55, sampling=True,
          compute_knob="n")
def _best_of_n_prm(budget: int, n: int, scorer: str, aggregate: str) -> Technique:
    return best_of_n_prm(n, budget, scorer, aggregate)
