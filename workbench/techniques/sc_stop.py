"""``sc-stop``: self-consistency that samples a window at a time and stops by a named rule.

Why beside ``adaptive-sc``: that one knows one rule (Beta) in fixed waves of 4 and, in the
demo, rarely stopped. Here the rule is a knob (Beta, Dirichlet, SPRT, ESC window
agreement; :mod:`workbench.allocation.stopping`, the same pure functions the offline
replay and the threshold calibration use), and so is the step size ``window``
(1 = strictly one sample at a time). Equivalent answers are grouped with the task's
equivalence before the rule sees them, as the vote groups them. Like ``adaptive-sc`` it
records the samples and tokens it saved against drawing all ``n``.
"""

from __future__ import annotations

from typing import Any

from workbench.allocation.stopping import make_rule
from workbench.context import Ctx
from workbench.techniques.base import Outcome, Technique
from workbench.techniques.cot import cot
from workbench.techniques.params import check
from workbench.techniques.registry import register
from workbench.techniques.self_consistency import check_n, stopped_vote
from workbench.techniques.voting import group_answers, vote


def vote_keys(answers: list[str | None], ctx: Ctx) -> list[str | None]:
    """Each answer replaced by its group's first-seen spelling (the vote's grouping)."""
    keys: list[str | None] = [None] * len(answers)
    for rep, members in group_answers(answers, ctx.task.same):
        for m in members:
            keys[m] = rep
    return keys


class StoppedSC(Technique):
    """Draw ``window`` outcomes of ``inner`` at a time until ``rule`` fires or ``n``."""

    name = "sc-stop"

    def __init__(self, inner: Technique, n: int = 16, rule: str = "beta",
                 threshold: float = 0.95, window: int = 4, min_samples: int = 2) -> None:
        self.inner, self.n = inner, check_n(n)
        self.rule_name = str(check("rule", rule))
        self.threshold = float(check("threshold", threshold))
        self.window = int(check("window", window))
        self.rule = make_rule(self.rule_name, self.threshold, window=self.window,
                              min_samples=min_samples)

    async def __call__(self, ctx: Ctx, index: int = 0) -> Outcome:
        outcomes: list[Outcome] = []
        while len(outcomes) < self.n:
            k = min(self.window, self.n - len(outcomes))
            outcomes += await self.inner.sample(ctx, k, index + len(outcomes))
            if self.rule(vote_keys([o.answer for o in outcomes], ctx)):
                break
        result = vote([o.answer for o in outcomes], ctx.task.same)
        # recorded like adaptive-sc's (the rule itself is in the run's params)
        return stopped_vote(ctx, outcomes, result, self.n, index, {"rule": self.rule_name})

    def describe(self) -> dict[str, Any]:
        return {"technique": self.name, "n": self.n, "rule": self.rule_name,
                "threshold": self.threshold, "window": self.window,
                "inner": self.inner.describe()}


@register("sc-stop", "samples `window` CoT paths at a time and stops by `rule` (beta, "
          "dirichlet, sprt at `threshold`; esc: a whole window agrees) or at `n`; records "
          "samples and tokens saved", params=("budget", "n", "rule", "threshold", "window"),
          rank=35, sampling=True, compute_knob="n")
def _sc_stop(budget: int, n: int, rule: str, threshold: float, window: int) -> Technique:
    return StoppedSC(cot(budget), n=n, rule=rule, threshold=threshold, window=window)
