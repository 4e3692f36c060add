"""Step-level beam search and diverse verifier tree search (DVTS), scored per step.

``beam`` (search-and-learn's beam search with N = ``width`` x ``expansions`` and beam
width M = ``expansions``): ``width`` beams, each expanded ``expansions`` times per step;
all children are scored and the ``width`` best by aggregate step score survive.

``dvts`` (Beeching et al., search-and-learn): ``width`` independent subtrees, each a
greedy step search that samples ``expansions`` next steps and keeps its best one, so the
subtrees never compete and keep the diversity a single beam loses. At equal ``width`` and
``expansions`` both generate ``width`` x ``expansions`` steps per round: the same compute.

Both stop a chain when it states a final answer, and every chain after ``max_steps``;
the answer is the surviving chain with the best aggregate score. Every step is stored
with its parent, score, scorer and kept/pruned (see :mod:`workbench.techniques.search`).
"""

from __future__ import annotations

from typing import Any

from workbench.context import Ctx
from workbench.techniques.base import Outcome, Technique
from workbench.techniques.params import check
from workbench.techniques.registry import register
from workbench.techniques.scorers import StepScorer, resolve_scorer
from workbench.techniques.search import DEFAULT_DELIMITER, SearchConfig, conclude, search

SEARCH_KNOBS = ("budget", "width", "expansions", "max_steps", "scorer", "aggregate",
                "verifier")
"""``budget`` is the token budget of one step (the Explorer's budget slider applies)."""


class _StepSearch(Technique):
    """What beam and DVTS share: the knobs, their validation and their description."""

    def __init__(self, width: int = 4, expansions: int = 4, max_steps: int = 8,
                 step_budget: int = 128, scorer: str | StepScorer = "judge",
                 aggregate: str = "last", delimiter: str = DEFAULT_DELIMITER) -> None:
        self.width = int(check("width", width))
        self.expansions = int(check("expansions", expansions))
        self.max_steps = int(check("max_steps", max_steps))
        self.step_budget = int(check("budget", step_budget))
        self.scorer_name, chosen = resolve_scorer(scorer)
        self.aggregate = str(check("aggregate", aggregate))
        if not delimiter:
            raise ValueError("the step delimiter must not be empty")
        self.delimiter = delimiter
        self.config = SearchConfig(expansions=self.expansions, max_steps=self.max_steps,
                                   step_budget=self.step_budget,
                                   scorer=chosen, how=self.aggregate,
                                   delimiter=delimiter)

    def describe(self) -> dict[str, Any]:
        return {"technique": self.name, "width": self.width, "expansions": self.expansions,
                "max_steps": self.max_steps, "step_budget": self.step_budget,
                "scorer": self.scorer_name, "aggregate": self.aggregate,
                "delimiter": self.delimiter, "budget_tokens": self.step_budget}


class BeamSearch(_StepSearch):
    name = "beam"

    async def __call__(self, ctx: Ctx, index: int = 0) -> Outcome:
        leaves = await search(ctx, self.config, groups=1, per_group=self.width,
                              keep=self.width)
        return await conclude(ctx, self.config, leaves, index, "beam")


class DVTS(_StepSearch):
    name = "dvts"

    async def __call__(self, ctx: Ctx, index: int = 0) -> Outcome:
        leaves = await search(ctx, self.config, groups=self.width, per_group=1, keep=1)
        return await conclude(ctx, self.config, leaves, index, "dvts")


def beam(width: int = 4, expansions: int = 4, max_steps: int = 8, step_budget: int = 128,
         scorer: str | StepScorer = "judge", aggregate: str = "last",
         delimiter: str = DEFAULT_DELIMITER) -> BeamSearch:
    return BeamSearch(width, expansions, max_steps, step_budget, scorer, aggregate, delimiter)


def dvts(width: int = 4, expansions: int = 4, max_steps: int = 8, step_budget: int = 128,
         scorer: str | StepScorer = "judge", aggregate: str = "last",
         delimiter: str = DEFAULT_DELIMITER) -> DVTS:
    return DVTS(width, expansions, max_steps, step_budget, scorer, aggregate, delimiter)


@register("beam", "step-level beam search: `width` beams, each step (`budget` tokens) "
          "expanded `expansions` times, scored by `scorer` (judge, PRM or logprob), the `width` best by "
          "`aggregate` kept; every step stored with score and kept/pruned",
          params=SEARCH_KNOBS, rank=70, compute_knob="width", view="tree")
def _beam(budget: int, width: int, expansions: int, max_steps: int, scorer: str,
          aggregate: str) -> Technique:
    return beam(width, expansions, max_steps, budget, scorer, aggregate)


@register("dvts", "diverse verifier tree search: `width` independent subtrees, each "
          "keeping its best of `expansions` scored next steps (same compute as `beam`)",
          params=SEARCH_KNOBS, rank=80, compute_knob="width", view="tree")
def _dvts(budget: int, width: int, expansions: int, max_steps: int, scorer: str,
          aggregate: str) -> Technique:
    return dvts(width, expansions, max_steps, budget, scorer, aggregate)
