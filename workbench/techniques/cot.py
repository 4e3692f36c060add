"""Single-pass techniques: ``direct`` answers and ``cot`` with a reasoning-token budget.

When the budget cuts a chain (finish reason "length"), budget forcing asks for the final
answer now (s1-style: the partial chain is kept and a short forced answer follows); the
chain is recorded as truncated and the forced answer as a child path.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

from workbench.context import Ctx, Path
from workbench.prompts import render
from workbench.techniques.base import Outcome, Technique
from workbench.techniques.params import PARAMS
from workbench.techniques.registry import register

FORCE_TOKENS = 48


def check_budget(budget: int, what: str = "budget") -> int:
    """Budgets are positive token counts; anything else is a clear error."""
    param = PARAMS["budget"]
    return int((param if what == "budget" else replace(param, label=what)).check(budget))


def user_prompt(ctx: Ctx, reasoning: str) -> str:
    p = ctx.prompts
    return render(p.user, fewshot=p.render_fewshot(), question=ctx.problem.question,
                  reasoning=reasoning, answer_format=ctx.answer_format())


async def force_answer(ctx: Ctx, messages: list[dict[str, str]], chain: Path,
                       model: str | None = None) -> Path:
    """Budget forcing: keep the truncated chain, ask for the final answer right now."""
    follow = messages + [
        {"role": "assistant", "content": chain.text},
        {"role": "user", "content": render(ctx.prompts.force, answer_format=ctx.answer_format())},
    ]
    (forced,) = await ctx.generate(follow, role="forced_answer", max_tokens=FORCE_TOKENS,
                                   temperature=0.0, parent_id=chain.path_id,
                                   index=chain.index, round=0, model=model,
                                   answer_if_cut=True)
    return forced


def to_outcome(chain: Path, forced: Path | None) -> Outcome:
    final = forced
    answer = final.answer if final else chain.answer
    correct = final.correct if final else chain.correct
    return Outcome(answer=answer, text=chain.text + (f"\n\n{final.text}" if final else ""),
                   path_id=final.path_id if final else chain.path_id, index=chain.index,
                   correct=correct, truncated=chain.truncated, forced=final is not None,
                   tokens_out=chain.tokens_out + (forced.tokens_out if forced else 0),
                   logprob_mean=chain.logprob_mean, error=chain.error,
                   info={"chain_id": chain.path_id})


async def chains(ctx: Ctx, messages: list[dict[str, str]], *, n: int, budget: int,
                 index: int, force: bool, role: str = "path", model: str | None = None,
                 parent_id: str | None = None, round: int = 0,
                 hold: bool = False) -> list[Outcome]:
    """``n`` chains in one request (native n where the backend can); chains the budget cut
    are force-finished concurrently (their own answer, if any, is not trusted).
    ``hold``: the chains' rows wait for ``ctx.release`` (a score and verdict)."""
    paths = await ctx.generate(messages, role=role, n=n, max_tokens=budget, index=index,
                               model=model, parent_id=parent_id, round=round,
                               answer_if_cut=not force, hold=hold)
    cut = [p for p in paths if force and p.truncated and p.error is None]
    forced = await asyncio.gather(*(force_answer(ctx, messages, p, model) for p in cut))
    by_id = {p.path_id: f for p, f in zip(cut, forced, strict=True)}
    return [to_outcome(p, by_id.get(p.path_id)) for p in paths]


class Direct(Technique):
    """One pass, asked for the answer with no reasoning (the 1x compute baseline)."""

    name = "direct"

    def __init__(self, max_tokens: int = 64) -> None:
        self.max_tokens = check_budget(max_tokens, "max_tokens")

    async def sample(self, ctx: Ctx, n: int, index: int = 0) -> list[Outcome]:
        msgs = ctx.base_messages(user_prompt(ctx, ctx.prompts.direct))
        return await chains(ctx, msgs, n=n, budget=self.max_tokens, index=index, force=False,
                            role="direct")

    async def __call__(self, ctx: Ctx, index: int = 0) -> Outcome:
        return (await self.sample(ctx, 1, index))[0]

    def describe(self) -> dict[str, Any]:
        return {"technique": self.name, "max_tokens": self.max_tokens}


class CoT(Technique):
    """Chain of thought with a reasoning-token budget and optional budget forcing."""

    name = "cot"

    def __init__(self, budget: int = 256, force: bool = True) -> None:
        self.budget = check_budget(budget)
        self.force = force

    async def sample(self, ctx: Ctx, n: int, index: int = 0) -> list[Outcome]:
        msgs = ctx.base_messages(user_prompt(ctx, ctx.reasoning()))
        return await chains(ctx, msgs, n=n, budget=self.budget, index=index, force=self.force)

    async def __call__(self, ctx: Ctx, index: int = 0) -> Outcome:
        return (await self.sample(ctx, 1, index))[0]

    def describe(self) -> dict[str, Any]:
        return {"technique": self.name, "budget_tokens": self.budget, "force": self.force}


def direct(max_tokens: int = 64) -> Direct:
    return Direct(max_tokens)


def cot(budget: int = 256, force: bool = True) -> CoT:
    return CoT(budget, force)


DIRECT_MAX_TOKENS = 64


@register("direct", "one pass, final answer only: the 1x compute baseline "
          f"(at most {DIRECT_MAX_TOKENS} tokens, or `budget` if smaller)", params=("budget",), rank=0)
def _direct(budget: int) -> Technique:
    return direct(max_tokens=min(budget, DIRECT_MAX_TOKENS))


@register("cot", "chain of thought with `budget` reasoning tokens; a cut chain is "
          "force-finished (budget forcing) and recorded as truncated", params=("budget",), rank=10,
          compute_knob="budget")
def _cot(budget: int) -> Technique:
    return cot(budget)
