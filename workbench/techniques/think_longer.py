"""think-longer: s1's budget extension (Muennighoff et al. 2025, "s1: Simple test-time
scaling"): a chain that ends before ``min_tokens`` is made to keep thinking.

The chain starts as CoT. Each time the model stops (finish reason "stop") with fewer than
``min_tokens`` reasoning tokens spent, the continuation cue (the ``wait`` prompt, "Wait" by
default) is appended after a blank line and the model continues that *same* assistant
message (``ctx.generate(continue_final=True)``: the chain so far goes back as a trailing
assistant message). This repeats at most ``extensions`` times and within ``budget`` tokens
in all. Each continuation is stored as its own path (role "extension"), the child of the
segment before it, with ``round`` = the extension's number, so a viewer can show where each
cue went: the full chain is the segments joined by "\\n\\n" + cue.

The answer is the last segment's own when it finished by itself with one; otherwise (cut
by the budget, or a continuation that trailed off without an answer) the answer is forced
from the whole chain (budget forcing, as in ``cot``).

Engines that cannot continue an assistant message (OpenAI's API starts a new turn) are
refused with a WorkbenchError by the backend rather than silently re-prompted; see
``workbench/backends/continuation.py``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from workbench.context import Ctx, Path
from workbench.techniques.base import Outcome, Technique
from workbench.techniques.cot import check_budget, force_answer, user_prompt
from workbench.techniques.params import check
from workbench.techniques.registry import register

ROLE = "extension"


class ThinkLonger(Technique):
    """CoT that is told to keep thinking (the cue) until ``min_tokens`` are spent."""

    name = "think-longer"

    def __init__(self, budget: int = 512, min_tokens: int = 128, extensions: int = 2,
                 force: bool = True) -> None:
        self.budget = check_budget(budget)
        self.min_tokens = int(check("min_tokens", min_tokens))
        self.extensions = int(check("extensions", extensions))
        self.force = force

    async def __call__(self, ctx: Ctx, index: int = 0) -> Outcome:
        msgs = ctx.base_messages(user_prompt(ctx, ctx.reasoning()))
        (path,) = await ctx.generate(msgs, max_tokens=self.budget, index=index,
                                     answer_if_cut=not self.force)
        segments, chain = [path], path.text
        while self._extend(segments):
            chain = f"{chain.rstrip()}\n\n{ctx.prompts.wait}"
            spent = sum(p.tokens_out for p in segments)
            (path,) = await ctx.generate(
                msgs + [{"role": "assistant", "content": chain}], role=ROLE,
                max_tokens=self.budget - spent, parent_id=path.path_id,
                round=len(segments), index=index, continue_final=True,
                answer_if_cut=not self.force)
            segments.append(path)
            chain += path.text
        return await self._conclude(ctx, msgs, segments, chain, index)

    def _extend(self, segments: list[Path]) -> bool:
        """Whether the chain gets another cue: it stopped by itself, too early."""
        last, spent = segments[-1], sum(p.tokens_out for p in segments)
        return (last.ok and last.finish_reason == "stop" and spent < self.min_tokens
                and spent < self.budget and len(segments) <= self.extensions)

    async def _conclude(self, ctx: Ctx, msgs: list[dict[str, str]], segments: list[Path],
                        chain: str, index: int) -> Outcome:
        last = segments[-1]
        spent = sum(p.tokens_out for p in segments)
        needs_force = self.force and last.ok and (last.truncated or last.answer is None)
        forced = (await force_answer(ctx, msgs, replace(last, text=chain))
                  if needs_force else None)
        final = forced or last
        return Outcome(answer=final.answer, correct=final.correct,
                       text=chain + (f"\n\n{forced.text}" if forced else ""),
                       path_id=final.path_id, index=index, truncated=last.truncated,
                       forced=forced is not None,
                       tokens_out=spent + (forced.tokens_out if forced else 0),
                       logprob_mean=last.logprob_mean, error=last.error,
                       info={"extensions": len(segments) - 1, "reasoning_tokens": spent,
                             "segments": [p.path_id for p in segments]})

    def describe(self) -> dict[str, Any]:
        return {"technique": self.name, "budget_tokens": self.budget,
                "min_tokens": self.min_tokens, "extensions": self.extensions,
                "force": self.force}


def think_longer(budget: int = 512, min_tokens: int = 128, extensions: int = 2
                 ) -> ThinkLonger:
    return ThinkLonger(budget, min_tokens, extensions)


@register("think-longer", "s1 budget extension: CoT; a chain that stops before `min_tokens` "
          "gets the cue (\"Wait\", the `wait` prompt) and continues the same message, up to "
          "`extensions` times within `budget` tokens; then the answer (forced if it has none)",
          params=("budget", "min_tokens", "extensions"), rank=12, compute_knob="budget")
def _think_longer(budget: int, min_tokens: int, extensions: int) -> Technique:
    return think_longer(budget, min_tokens, extensions)
