"""Self-consistency (Wang et al. 2022) and its adaptive early-stopping variant.

``sc`` draws N outcomes from any inner technique and votes: majority, weighted by mean
token logprob (where the provider returns logprobs) or weighted by a verifier score.
``adaptive-sc`` draws in waves and stops once the Beta-posterior confidence that the
leader is the true majority passes a threshold (Adaptive-Consistency, arXiv 2305.11860),
recording the samples and tokens it saved against drawing all N.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

from workbench.context import Ctx
from workbench.events import Voted
from workbench.techniques.base import Outcome, Technique
from workbench.techniques.cot import cot
from workbench.techniques.params import MAX_SAMPLES, VOTES, check
from workbench.techniques.registry import register
from workbench.techniques.verifier import score
from workbench.techniques.voting import VoteResult, leader_confidence, vote

__all__ = ["MAX_SAMPLES", "VOTES", "AdaptiveSC", "SelfConsistency", "adaptive_sc", "check_n",
           "self_consistency"]


def check_n(n: int) -> int:
    return int(check("n", n))


async def weights_for(ctx: Ctx, outcomes: list[Outcome], method: str,
                      verifier_budget: int) -> list[float] | None:
    if method == "majority":
        return None
    if method == "logprob":
        return [math.exp(o.logprob_mean) if o.logprob_mean is not None else 0.0
                for o in outcomes]
    scores = await asyncio.gather(*(score(ctx, o, budget=verifier_budget) for o in outcomes))
    for o, s in zip(outcomes, scores, strict=True):
        o.score = s
    return list(scores)


def pick(outcomes: list[Outcome], result: VoteResult, ctx: Ctx) -> Outcome:
    """The first outcome whose answer is the winner (so the final text is a real path)."""
    for o in outcomes:
        if o.answer is not None and result.winner is not None and (
                o.answer == result.winner or ctx.task.same(o.answer, result.winner)):
            return o
    return outcomes[0] if outcomes else Outcome(answer=None, text="", path_id=None)


def emit_vote(ctx: Ctx, method: str, result: VoteResult, n_paths: int, **extra: Any) -> None:
    ctx.emit(Voted(run_id=ctx.settings.run_id, sample_id=ctx.sample_id, method=method,
                   counts=result.counts, winner=result.winner, tie=result.tie,
                   tie_break=result.tie_break, n_paths=n_paths, **extra))


class SelfConsistency(Technique):
    """N outcomes of ``inner``, voted."""

    name = "sc"

    def __init__(self, inner: Technique, n: int = 8, vote: str = "majority",
                 verifier_budget: int = 128) -> None:
        self.inner, self.n, self.vote_method = inner, check_n(n), str(check("vote", vote))
        self.verifier_budget = verifier_budget

    async def __call__(self, ctx: Ctx, index: int = 0) -> Outcome:
        outcomes = await self.inner.sample(ctx, self.n, index)
        weights = await weights_for(ctx, outcomes, self.vote_method, self.verifier_budget)
        result = vote([o.answer for o in outcomes], ctx.task.same, weights)
        emit_vote(ctx, self.vote_method, result, len(outcomes))
        best = pick(outcomes, result, ctx)
        return Outcome(answer=result.winner, text=best.text, path_id=best.path_id,
                       index=index, tokens_out=sum(o.tokens_out for o in outcomes),
                       info={"counts": result.counts, "tie": result.tie})

    def describe(self) -> dict[str, Any]:
        verifier = ({"verifier_budget": self.verifier_budget}
                    if self.vote_method == "verifier" else {})
        return {"technique": self.name, "n": self.n, "vote": self.vote_method, **verifier,
                "inner": self.inner.describe()}


def stopped_vote(ctx: Ctx, outcomes: list[Outcome], result: VoteResult, n: int, index: int,
                 info: dict[str, Any]) -> Outcome:
    """The outcome of sampling that stopped early: the vote is recorded as "adaptive" (a
    majority over the paths drawn, so a regrade re-votes it) with the samples not drawn of
    ``n`` and the tokens they would have cost at the drawn paths' mean."""
    used = len(outcomes)
    mean_tokens = sum(o.tokens_out for o in outcomes) / max(1, used)
    saved = n - used
    emit_vote(ctx, "adaptive", result, used, stopped_early=saved > 0,
              samples_saved=saved, tokens_saved_est=int(saved * mean_tokens))
    best = pick(outcomes, result, ctx)
    return Outcome(answer=result.winner, text=best.text, path_id=best.path_id,
                   index=index, tokens_out=sum(o.tokens_out for o in outcomes),
                   info={"used": used, "saved": saved, **info})


class AdaptiveSC(Technique):
    """Self-consistency that stops sampling once the vote is settled."""

    name = "adaptive-sc"

    def __init__(self, inner: Technique, n: int = 16, confidence: float = 0.95,
                 wave: int = 4, min_samples: int = 3) -> None:
        self.inner, self.n = inner, check_n(n)
        self.confidence = float(check("confidence", confidence))
        self.wave, self.min_samples = max(1, wave), max(1, min_samples)

    async def __call__(self, ctx: Ctx, index: int = 0) -> Outcome:
        outcomes: list[Outcome] = []
        result = VoteResult()
        conf = 0.0
        while len(outcomes) < self.n:
            k = min(self.wave, self.n - len(outcomes))
            outcomes += await self.inner.sample(ctx, k, index + len(outcomes))
            result = vote([o.answer for o in outcomes], ctx.task.same)
            conf = leader_confidence(list(result.counts.values()))
            if len(outcomes) >= self.min_samples and conf >= self.confidence:
                break
        return stopped_vote(ctx, outcomes, result, self.n, index, {"confidence": conf})

    def describe(self) -> dict[str, Any]:
        return {"technique": self.name, "n": self.n, "confidence": self.confidence,
                "wave": self.wave, "min_samples": self.min_samples,
                "inner": self.inner.describe()}


def self_consistency(inner: Technique, n: int = 8, vote: str = "majority") -> SelfConsistency:
    return SelfConsistency(inner, n, vote)


def adaptive_sc(inner: Technique, n: int = 16, confidence: float = 0.95,
                wave: int = 4) -> AdaptiveSC:
    return AdaptiveSC(inner, n, confidence, wave)


@register("sc", "self-consistency: `n` CoT paths, voted (majority, logprob- or "
          "verifier-weighted); ties broken first-seen, recorded",
          params=("budget", "n", "vote"), rank=20, sampling=True, compute_knob="n",
          replay="majority")
def _sc(budget: int, n: int, vote: str) -> Technique:
    return SelfConsistency(cot(budget), n=n, vote=vote)


@register("adaptive-sc", "samples in waves of 4, stops once the Beta-posterior confidence "
          "in the leader reaches `confidence`; records samples and tokens saved",
          params=("budget", "n", "confidence"), rank=30, sampling=True, compute_knob="n",
          replay="adaptive", replays_on="sc")
def _adaptive_sc(budget: int, n: int, confidence: float) -> Technique:
    return adaptive_sc(cot(budget), n=n, confidence=confidence)
