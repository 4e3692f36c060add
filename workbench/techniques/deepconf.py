"""DeepConf (Fu et al. 2025, arXiv 2508.15260): vote with the paths the model was sure of.

Every path asks for its tokens' top-k logprobs; its confidence (see
:mod:`workbench.techniques.confidence`) is stored as the path's score.

* **Offline** (``deepconf``): ``n`` paths; the ``keep`` fraction with the highest confidence
  (by ``measure``) vote, each weighted by its confidence. ``keep`` 0.9 is DeepConf-high,
  0.1 DeepConf-low.
* **Online** (``deepconf-online``): ``warmup`` paths are drawn in full; the stop threshold
  is the ``100 * (1 - keep)``-th percentile of their lowest group confidences. Each later
  path is watched as it streams and stopped (finish reason "stopped", no answer, no vote)
  once the mean confidence of its last ``window`` tokens falls below the threshold. The
  warm-up paths at or above the threshold and the later paths that finished vote,
  weighted by their lowest group confidence (the paper's online measure). The tokens the
  stops saved are estimated against the mean length of the chains that finished and
  recorded with the vote (``tokens_saved_est``, like adaptive-sc's).

Chains the budget cut are force-finished as in ``cot``. Not done: the paper's consensus
stop (no new paths once the vote is settled; adaptive-sc does that part).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from workbench.context import Ctx, Path, StopRule, TokenLogprob
from workbench.techniques.base import Outcome, Technique
from workbench.techniques.confidence import (
    path_confidence,
    percentile,
    token_confidence,
    token_confidences,
)
from workbench.techniques.cot import check_budget, force_answer, to_outcome, user_prompt
from workbench.techniques.params import check
from workbench.techniques.registry import register
from workbench.techniques.self_consistency import check_n, emit_vote, pick
from workbench.techniques.voting import vote

TOP_K = 5
"""Alternatives per token asked for (the paper uses 20; 5 keeps streamed chunks small)."""


class DeepConf(Technique):
    """Confidence-filtered, confidence-weighted voting; ``online`` stops weak paths early."""

    name = "deepconf"

    def __init__(self, budget: int = 256, n: int = 8, keep: float = 0.9, window: int = 64,
                 measure: str = "lowest", online: bool = False, warmup: int = 4,
                 top_k: int = TOP_K, tail: int | None = None) -> None:
        self.budget, self.n = check_budget(budget), check_n(n)
        self.keep, self.window = float(check("keep", keep)), int(check("group_tokens", window))
        self.measure, self.online = str(check("measure", measure)), online
        self.warmup = min(int(check("warmup", warmup)), self.n)
        self.top_k, self.tail = max(2, top_k), tail
        if online:
            self.name, self.measure = "deepconf-online", "lowest"

    def confidence(self, tokens: Sequence[TokenLogprob]) -> float | None:
        """The path confidence this technique filters and weights by."""
        return path_confidence(token_confidences(tokens)[0], self.measure, self.window,
                               self.tail)

    async def __call__(self, ctx: Ctx, index: int = 0) -> Outcome:
        msgs = ctx.base_messages(user_prompt(ctx, ctx.reasoning()))
        first = await self._draw(ctx, msgs, self.warmup if self.online else self.n, index)
        if not self.online:
            return self._vote(ctx, first, self._kept(first), index, {})
        scored = [c for _, c in first if c is not None]
        threshold = percentile(scored, 100.0 * (1.0 - self.keep)) if scored else None
        later = await asyncio.gather(*(
            self._watched(ctx, msgs, index + i, threshold)
            for i in range(self.warmup, self.n)))
        voters: list[tuple[Outcome, float | None]] = [
            (o, c) for o, c in first
            if c is not None and threshold is not None and c >= threshold]
        voters += [(o, c) for o, c in later if o.info.get("stopped") is not True]
        return self._vote(ctx, first + list(later), voters, index,
                          self._savings(first, list(later), threshold))

    async def _draw(self, ctx: Ctx, msgs: list[dict[str, str]], n: int, index: int
                    ) -> list[tuple[Outcome, float | None]]:
        """``n`` full chains in one request, each with its confidence; cut ones forced."""
        paths = await ctx.generate(msgs, n=n, max_tokens=self.budget, index=index,
                                   top_logprobs=self.top_k, score_tokens=self.confidence)
        return list(await asyncio.gather(*(self._finish(ctx, msgs, p) for p in paths)))

    async def _watched(self, ctx: Ctx, msgs: list[dict[str, str]], index: int,
                       threshold: float | None) -> tuple[Outcome, float | None]:
        """One later path, stopped once its running group confidence drops below
        ``threshold`` (never stopped without one: the warm-up gave no confidences)."""
        rule = None if threshold is None else running_stop(threshold, self.window)
        (path,) = await ctx.generate(msgs, max_tokens=self.budget, index=index,
                                     top_logprobs=self.top_k, score_tokens=self.confidence,
                                     should_stop=rule)
        if path.finish_reason == "stopped":
            out = to_outcome(path, None)
            out.answer, out.info = None, {"stopped": True}
            return out, path.score
        return await self._finish(ctx, msgs, path)

    async def _finish(self, ctx: Ctx, msgs: list[dict[str, str]], path: Path
                      ) -> tuple[Outcome, float | None]:
        forced = (await force_answer(ctx, msgs, path)
                  if path.truncated and path.error is None else None)
        return to_outcome(path, forced), path.score

    def _kept(self, drawn: list[tuple[Outcome, float | None]]
              ) -> list[tuple[Outcome, float | None]]:
        """The paths at or above the ``100 * (1 - keep)``-th percentile of confidence (the
        paper's rule; the same threshold the online mode learns from its warm-up)."""
        scored = [(o, c) for o, c in drawn if c is not None]
        if not scored:
            return []
        cut = percentile([c for _, c in scored if c is not None], 100.0 * (1.0 - self.keep))
        return [(o, c) for o, c in scored if c is not None and c >= cut]

    def _savings(self, first: list[tuple[Outcome, float | None]],
                 later: list[tuple[Outcome, float | None]], threshold: float | None
                 ) -> dict[str, Any]:
        """Stopped paths and the tokens they did not generate, against the mean length
        of the chains that finished (the paper's accounting, estimated)."""
        stopped = [o for o, _ in later if o.info.get("stopped") is True]
        done = [o.tokens_out for o, _ in first + later if o.info.get("stopped") is not True]
        full = sum(done) / len(done) if done else float(self.budget)
        saved = sum(max(0, round(full - o.tokens_out)) for o in stopped)
        return {"threshold": threshold, "stopped": len(stopped), "tokens_saved_est": saved}

    def _vote(self, ctx: Ctx, drawn: list[tuple[Outcome, float | None]],
              voters: list[tuple[Outcome, float | None]], index: int,
              extra: dict[str, Any]) -> Outcome:
        if any(c is not None for _, c in voters):
            result = vote([o.answer for o, _ in voters], ctx.task.same,
                          [c or 0.0 for _, c in voters])
        else:  # no confidences at all (the provider sent no logprobs): plain majority
            voters = drawn
            result = vote([o.answer for o, _ in drawn], ctx.task.same)
            extra = {**extra, "confidence": "unavailable"}
        saved = int(extra.get("tokens_saved_est", 0))
        emit_vote(ctx, self.name, result, len(voters), stopped_early=bool(extra.get("stopped")),
                  tokens_saved_est=saved)
        best = pick([o for o, _ in voters], result, ctx)
        return Outcome(answer=result.winner, text=best.text, path_id=best.path_id,
                       index=index, tokens_out=sum(o.tokens_out for o, _ in drawn),
                       info={"counts": result.counts, "tie": result.tie,
                             "kept": len(voters), "drawn": len(drawn), **extra})

    def describe(self) -> dict[str, Any]:
        return {"technique": self.name, "budget_tokens": self.budget, "n": self.n,
                "keep": self.keep, "group_tokens": self.window, "measure": self.measure,
                "warmup": self.warmup if self.online else None, "top_k": self.top_k,
                "tail": self.tail}


def running_stop(threshold: float, window: int) -> StopRule:
    """DeepConf's online rule: once ``window`` tokens exist, stop when the mean token
    confidence of the last ``window`` falls below ``threshold``. Incremental: each call
    scores only the tokens that are new since the last one (O(1) per token) and judges
    each window they end; the path stops at the end of the delivery (one network read)
    that held the first window below."""
    conf: list[float] = []
    total = [0.0]

    def should_stop(tokens: Sequence[TokenLogprob]) -> bool:
        for t in tokens[len(conf):]:  # every window ending in a new token is judged
            conf.append(token_confidence(t))
            total[0] += conf[-1] - (conf[-1 - window] if len(conf) > window else 0.0)
            if len(conf) >= window and total[0] / window < threshold:
                return True
        return False

    return should_stop


@register("deepconf", "DeepConf offline: `n` CoT paths with top-k logprobs; the `keep` "
          "fraction with the highest confidence (`measure`, groups of `group_tokens` tokens) vote, "
          "weighted by it", params=("budget", "n", "keep", "group_tokens", "measure"), rank=32,
          sampling=True, compute_knob="n")
def _deepconf(budget: int, n: int, keep: float, group_tokens: int, measure: str
              ) -> Technique:
    return DeepConf(budget, n, keep=keep, window=group_tokens, measure=measure)


@register("deepconf-online", "DeepConf online: `warmup` full paths set a confidence "
          "threshold; later paths stop once their last `group_tokens` tokens fall below "
          "it; the rest vote, weighted; records paths stopped and tokens saved",
          params=("budget", "n", "keep", "group_tokens", "warmup"), rank=34, sampling=True,
          compute_knob="n")
def _deepconf_online(budget: int, n: int, keep: float, group_tokens: int, warmup: int
                     ) -> Technique:
    return DeepConf(budget, n, keep=keep, window=group_tokens, online=True, warmup=warmup)
