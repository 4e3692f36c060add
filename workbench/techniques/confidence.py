"""DeepConf's path confidences from token logprobs (Fu et al. 2025, "Deep Think with
Confidence"). Pure functions: the technique, tests and any re-analysis share them.

* **Token confidence** ``C_i = -(1/k) * sum_j log P_i(j)`` over the top-k alternatives the
  provider returned at position ``i``: a peaked distribution (a sure token) leaves its
  alternatives far below zero, so ``C_i`` is large. With fewer than two alternatives that
  formula inverts (one value: ``-log P`` of the chosen token is *small* when sure), so the
  fallback is the chosen token's probability ``exp(log P_i)``: also larger when surer, and
  positive, so it can weight a vote. :func:`token_confidences` says which one it used
  (deepconf always asks for five alternatives; llama.cpp sends them while streaming).
* **Group confidence**: the mean token confidence over a sliding window of ``window``
  tokens (stride 1); a path shorter than the window is one group.
* Path measures: **lowest** group, mean of the **bottom 10%** of groups, **tail** (mean
  over the last ``tail`` tokens), and the plain **mean**.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from workbench.context import TokenLogprob

__all__ = ["group_confidences", "path_confidence", "percentile", "token_confidence",
           "token_confidences"]


def token_confidence(token: TokenLogprob) -> float:
    """DeepConf's token confidence, or the chosen token's probability without top-k."""
    if len(token.top) >= 2:
        return -sum(token.top) / len(token.top)
    return math.exp(token.logprob)


def token_confidences(tokens: Sequence[TokenLogprob]) -> tuple[list[float], str]:
    """Per-token confidences (:func:`token_confidence`, as the online stop computes them)
    and their source: "top-k", "chosen" (no token had two alternatives) or "mixed"."""
    with_top = sum(1 for t in tokens if len(t.top) >= 2)
    source = "top-k" if with_top == len(tokens) else ("chosen" if with_top == 0 else "mixed")
    return [token_confidence(t) for t in tokens], source


def group_confidences(conf: Sequence[float], window: int) -> list[float]:
    """Mean confidence of every window of ``window`` consecutive tokens (prefix sums)."""
    if not conf:
        return []
    if len(conf) <= window:
        return [sum(conf) / len(conf)]
    prefix = [0.0]
    for c in conf:
        prefix.append(prefix[-1] + c)
    return [(prefix[i + window] - prefix[i]) / window for i in range(len(conf) - window + 1)]


def path_confidence(conf: Sequence[float], measure: str, window: int,
                    tail: int | None = None) -> float | None:
    """One path's confidence by ``measure`` (see the module docstring); None if empty."""
    if not conf:
        return None
    if measure == "mean":
        return sum(conf) / len(conf)
    if measure == "tail":
        last = conf[-(tail or window):]
        return sum(last) / len(last)
    groups = group_confidences(conf, window)
    if measure == "lowest":
        return min(groups)
    if measure == "bottom10":
        low = sorted(groups)[: max(1, math.ceil(0.1 * len(groups)))]
        return sum(low) / len(low)
    raise ValueError(f"unknown confidence measure {measure!r}")


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) with linear interpolation (numpy's default)."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("percentile of no values")
    pos = (len(ordered) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)
