"""Intervals for proportions that keep their coverage at small n and near 0 or 1.

The percentile bootstrap collapses to a point when every item scores the same (20 items
all right gives [1, 1]); the Wald interval does the same. Wilson's score interval does not,
and it is the building block of Newcombe's paired-difference interval in
:mod:`workbench.analysis.compare`.
"""

from __future__ import annotations

import math

from scipy import stats


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for ``successes`` out of ``n`` (``(0, 1)`` when ``n == 0``)."""
    if n <= 0:
        return (0.0, 1.0)
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be in 0..n, got {successes} of {n}")
    z = float(stats.norm.ppf(1 - (1 - confidence) / 2))
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))
