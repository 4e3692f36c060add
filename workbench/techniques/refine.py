"""Iterative refinement with a separate verifier (Self-Refine with external feedback).

Round 0 is the inner technique's answer. Each round the verifier critiques the current
solution; if it accepts, refinement stops; otherwise the solver regenerates with the
critique as feedback. Every round is recorded (``RoundFinished``) with the answer and its
correctness, so flips right→wrong and wrong→right (Huang et al. 2023) can be counted.
"""

from __future__ import annotations

from typing import Any

from workbench.context import Ctx
from workbench.events import RoundFinished
from workbench.prompts import render
from workbench.techniques.base import Outcome, Technique
from workbench.techniques.cot import chains, check_budget, cot
from workbench.techniques.params import MAX_ROUNDS, check
from workbench.techniques.registry import register
from workbench.techniques.verifier import critique, parse_verdict

__all__ = ["MAX_ROUNDS", "Refine", "refine"]


class Refine(Technique):
    """Generate, critique with the verifier, regenerate; up to ``rounds`` times."""

    name = "refine"

    def __init__(self, inner: Technique, rounds: int = 3, budget: int = 256,
                 critique_budget: int = 256) -> None:
        self.inner, self.rounds = inner, int(check("rounds", rounds))
        self.budget = check_budget(budget)
        self.critique_budget = check_budget(critique_budget, "critique budget")

    async def __call__(self, ctx: Ctx, index: int = 0) -> Outcome:
        solution = await self.inner(ctx, index)
        for r in range(self.rounds + 1):
            crit = await critique(ctx, solution, budget=self.critique_budget, round=r) \
                if r < self.rounds else None
            verdict = parse_verdict(crit.text) if crit is not None else None
            ctx.emit(RoundFinished(
                run_id=ctx.settings.run_id, sample_id=ctx.sample_id, round=r,
                path_id=solution.path_id or "", answer=solution.answer,
                critique_path_id=crit.path_id if crit else None, accepted=verdict is True,
                critique=crit.text if crit else "", correct=solution.correct))
            if crit is None or verdict is True:
                break
            solution = await self._regenerate(ctx, solution, crit.text, crit.path_id, r + 1)
        solution.info["rounds_used"] = r
        return solution

    async def _regenerate(self, ctx: Ctx, solution: Outcome, feedback: str, parent: str,
                          round: int) -> Outcome:
        p = ctx.prompts
        prompt = render(p.refiner, question=ctx.problem.question, solution=solution.text,
                        feedback=feedback, reasoning=ctx.reasoning(),
                        answer_format=ctx.answer_format())
        (out,) = await chains(ctx, ctx.base_messages(prompt), n=1, budget=self.budget,
                              index=solution.index, force=True, role="refine",
                              parent_id=parent, round=round)
        return out

    def describe(self) -> dict[str, Any]:
        return {"technique": self.name, "rounds": self.rounds, "budget_tokens": self.budget,
                "critique_budget": self.critique_budget, "inner": self.inner.describe()}


def refine(inner: Technique, rounds: int = 3, budget: int = 256) -> Refine:
    return Refine(inner, rounds, budget)


@register("refine", "CoT, critique by the verifier (a separate model, or the same by "
          "choice), regenerate, up to `rounds` times; every round stored",
          params=("budget", "rounds", "verifier"), rank=40, compute_knob="rounds")
def _refine(budget: int, rounds: int) -> Technique:
    return Refine(cot(budget), rounds=rounds, budget=budget)
