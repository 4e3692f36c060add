"""Step scorers: what rates a partial solution during a step-level search.

One interface (:class:`StepScorer`) over three sources, chosen by the ``scorer`` knob:

* ``judge``: the verifier model (``--verifier``, default the policy model itself) prompted
  to rate the steps so far (template ``Prompts.step_judge``, overridable like every
  prompt); its ``SCORE: N`` (0-10) is read by the same parser best-of-n uses. Each call is
  a path with role ``score``: its tokens are compute.
* ``prm``: a reward-model endpoint (``--verifier`` names a ``workbench.toml`` model with
  ``reward_api``; vLLM's ``/pooling`` serving e.g. Qwen2.5-Math-PRM) through ``ctx.score``,
  metered the same way.
* ``logprob``: the policy's own confidence in the step, ``exp(mean token logprob)`` (the
  geometric-mean token probability, in (0, 1], so every aggregation is meaningful). Free,
  but it needs logprobs from the engine: the run turns them on for this scorer; an engine
  that returns none leaves every step unscored.

A scorer returns ``None`` for "no score" (a fault, an unparsable judge reply); the search
records the step as unscored and goes on.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol

from workbench.context import Ctx, Path
from workbench.prompts import render
from workbench.techniques.params import SCORERS
from workbench.techniques.verifier import parse_score

__all__ = ["SCORERS", "JudgeScorer", "LogprobScorer", "RewardScorer", "StepScorer",
           "make_scorer"]
JUDGE_BUDGET = 128


class StepScorer(Protocol):
    """Rates ``steps`` (the chain so far, last one new) for ``question``; ``step`` is the
    path of the last step (the score rows' parent)."""

    def label(self, ctx: Ctx) -> str:
        """Who scores (stored in ``paths.scorer``): ``judge:<model>``, ``prm:<model>``, ..."""
        ...

    async def score(self, ctx: Ctx, question: str, steps: Sequence[str], step: Path
                    ) -> float | None:
        ...


def _verifier(ctx: Ctx) -> str:
    return ctx.settings.verifier or ctx.settings.model


class JudgeScorer:
    """The verifier model as a judge of a partial solution."""

    def __init__(self, budget: int = JUDGE_BUDGET) -> None:
        self.budget = budget

    def label(self, ctx: Ctx) -> str:
        return f"judge:{_verifier(ctx)}"

    async def score(self, ctx: Ctx, question: str, steps: Sequence[str], step: Path
                    ) -> float | None:
        shown = "\n\n".join(f"Step {i + 1}: {s}" for i, s in enumerate(steps))
        prompt = render(ctx.prompts.step_judge, question=question, steps=shown)
        (path,) = await ctx.generate(ctx.base_messages(prompt), role="score",
                                     max_tokens=self.budget, temperature=0.0,
                                     model=_verifier(ctx), parent_id=step.path_id,
                                     index=step.index, grade=False, step=step.step,
                                     score_parser=parse_score)
        return path.score


class RewardScorer:
    """A reward-model endpoint (PRM) reached through ``ctx.score``."""

    def label(self, ctx: Ctx) -> str:
        return f"prm:{_verifier(ctx)}"

    async def score(self, ctx: Ctx, question: str, steps: Sequence[str], step: Path
                    ) -> float | None:
        path = await ctx.score(steps, model=_verifier(ctx), parent_id=step.path_id,
                               step=step.step, index=step.index)
        return path.score


class LogprobScorer:
    """The policy's own mean token logprob of the step, as a probability."""

    def label(self, ctx: Ctx) -> str:
        return "logprob"

    async def score(self, ctx: Ctx, question: str, steps: Sequence[str], step: Path
                    ) -> float | None:
        return math.exp(step.logprob_mean) if step.logprob_mean is not None else None


def make_scorer(name: str) -> StepScorer:
    """The scorer registered under ``name`` (one of :data:`SCORERS`)."""
    if name == "judge":
        return JudgeScorer()
    if name == "prm":
        return RewardScorer()
    if name == "logprob":
        return LogprobScorer()
    raise ValueError(f"scorer must be one of {SCORERS}, not {name!r}")


def resolve_scorer(scorer: str | StepScorer) -> tuple[str, StepScorer]:
    """``(name, scorer)`` from a knob value or a scorer object (Python composition:
    ``beam(scorer=MyScorer())``; its ``name`` attribute, else its class name, is stored)."""
    from workbench.techniques.params import check

    if isinstance(scorer, str):
        name = str(check("scorer", scorer))
        return name, make_scorer(name)
    return str(getattr(scorer, "name", type(scorer).__name__)), scorer
