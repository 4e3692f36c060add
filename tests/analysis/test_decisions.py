"""Pareto frontier against a brute-force dominance check; cheapest-to-reach; best-under."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from workbench.analysis import best_under, cheapest_to_reach, pareto_frontier
from workbench.errors import WorkbenchError


def dominated(i: int, xs: list[float], ys: list[float]) -> bool:
    return any(xs[j] <= xs[i] and ys[j] >= ys[i] and (xs[j] < xs[i] or ys[j] > ys[i])
               for j in range(len(xs)))


def test_pareto_matches_brute_force_dominance() -> None:
    rng = np.random.default_rng(0)
    for _ in range(50):
        n = int(rng.integers(1, 25))
        xs = rng.integers(0, 8, n).astype(float).tolist()  # ties on purpose
        ys = (rng.integers(0, 8, n) / 8).tolist()
        df = pl.DataFrame({"cost_usd": xs, "accuracy": ys, "id": list(range(n))})
        out = pareto_frontier(df)
        got = dict(zip(out["id"].to_list(), out["on_frontier"].to_list(), strict=True))
        for i in range(n):
            assert got[i] == (not dominated(i, xs, ys)), (xs, ys, i)


def test_pareto_ignores_rows_with_missing_values() -> None:
    df = pl.DataFrame({"latency_ms_mean": [None, 5.0, 9.0], "accuracy": [0.99, 0.5, 0.7]})
    out = pareto_frontier(df, x="latency_ms_mean")
    assert out["on_frontier"].to_list() == [True, True, False]
    assert out["latency_ms_mean"].to_list() == [5.0, 9.0, None]


CONFIGS = pl.DataFrame({
    "technique": ["direct", "cot", "sc@4", "sc@16", "refine"],
    "accuracy": [0.20, 0.55, 0.70, 0.78, 0.70],
    "accuracy_lo": [0.15, 0.48, 0.60, 0.72, 0.66],
    "cost_usd": [0.0001, 0.001, 0.004, 0.016, 0.003],
    "latency_ms_mean": [100.0, 2000.0, 2500.0, 4000.0, 6000.0],
})


def test_cheapest_to_reach() -> None:
    assert cheapest_to_reach(CONFIGS, 0.7)["technique"].to_list() == ["refine"]
    assert cheapest_to_reach(CONFIGS, 0.7, conservative=True)["technique"].to_list() == [
        "sc@16"]
    assert cheapest_to_reach(CONFIGS, 0.9).height == 0


def test_best_under_cost_and_latency() -> None:
    assert best_under(CONFIGS, cost_usd=0.005)["technique"].to_list() == ["refine"]
    assert best_under(CONFIGS, cost_usd=0.005, latency_ms=3000)["technique"].to_list() == [
        "sc@4"]
    assert best_under(CONFIGS, latency_ms=50).height == 0
    with pytest.raises(WorkbenchError):
        best_under(CONFIGS)
    with pytest.raises(WorkbenchError, match="latency_ms_p99"):
        best_under(CONFIGS, latency_ms=10, latency="latency_ms_p99")
