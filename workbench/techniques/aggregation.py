"""Step-score aggregation and the search's ranking rule: pure functions, no model calls.

Why pure: the techniques rank chains with them while searching, and the tree builder
(:mod:`workbench.analysis.search_tree`) re-applies the same rule to stored rows to find
the final answer path, so the two can never disagree.

Unscored steps (a reward model that failed, a judge that gave no number, no logprobs) are
skipped: a chain's aggregate is over the steps that have a score, and a chain with none
has aggregate ``None``, which ranks below every scored chain (ties keep generation order).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from workbench.techniques.params import AGGREGATIONS

__all__ = ["AGGREGATIONS", "aggregate", "rank_key", "top"]


def _last(xs: Sequence[float]) -> float:
    return xs[-1]


def _product(xs: Sequence[float]) -> float:
    return math.prod(xs)


def _mean(xs: Sequence[float]) -> float:
    return math.fsum(xs) / len(xs)


_FUNCS: dict[str, Callable[[Sequence[float]], float]] = {
    "last": _last, "min": min, "product": _product, "mean": _mean}


def aggregate(scores: Sequence[float | None], how: str = "last") -> float | None:
    """One number for a chain of step scores: its ``last``, ``min``, ``product`` or
    ``mean`` step score (search-and-learn's choices), over the scored steps."""
    if how not in _FUNCS:
        raise ValueError(f"aggregation must be one of {AGGREGATIONS}, not {how!r}")
    scored = [float(s) for s in scores if s is not None]
    return _FUNCS[how](scored) if scored else None


def rank_key(agg: float | None, order: int) -> tuple[float, int]:
    """Sort key, best first: higher aggregate, unscored last, then generation order."""
    return (-agg if agg is not None else math.inf, order)


def top(aggs: Sequence[float | None], keep: int) -> list[int]:
    """Positions of the ``keep`` best aggregates (ranked by :func:`rank_key`)."""
    ranked = sorted(range(len(aggs)), key=lambda i: rank_key(aggs[i], i))
    return sorted(ranked[:max(0, keep)])
