"""Decisions from a table of configurations: Pareto frontier, cheapest to reach, best under.

The question a practitioner asks is not "which technique is best" but "what is the most
accuracy I can buy for this much money or latency", and "what is the cheapest way to
reach X%". Both are read off the Pareto frontier of (cost, accuracy) over every
(technique, model, budget) configuration: run summaries, or replayed SC@k rows.
"""

from __future__ import annotations

import polars as pl

from workbench.analysis.frames import require
from workbench.errors import WorkbenchError


def pareto_frontier(configs: pl.DataFrame, x: str = "cost_usd", y: str = "accuracy"
                    ) -> pl.DataFrame:
    """Add ``on_frontier``: no other config is at least as good on both axes and strictly
    better on one (lower ``x``, higher ``y``). Rows with a null x or y are never on it.
    Sorted by ``x``; filter ``on_frontier`` for the frontier itself.
    """
    require(configs, (x, y), "pareto_frontier")
    df = configs.with_row_index("_row").sort([x, y], descending=[False, True],
                                             nulls_last=True)
    best = float("-inf")
    last: tuple[float, float] | None = None
    flags = []
    for xv, yv in zip(df[x].to_list(), df[y].to_list(), strict=True):
        ok = xv is not None and yv is not None and (yv > best or (xv, yv) == last)
        if ok:  # an exact duplicate of a frontier point is not dominated either
            best, last = yv, (xv, yv)
        flags.append(ok)
    return df.with_columns(on_frontier=pl.Series(flags, dtype=pl.Boolean)).drop("_row")


def _check_col(configs: pl.DataFrame, col: str, what: str) -> None:
    if col not in configs.columns:
        raise WorkbenchError(f"{what}: the configs frame has no column {col!r} "
                             f"(columns: {configs.columns}). Build it with run_summary().")


def cheapest_to_reach(configs: pl.DataFrame, accuracy: float, *, cost: str = "cost_usd",
                      conservative: bool = False) -> pl.DataFrame:
    """The cheapest config whose accuracy is at least ``accuracy`` (0..1): a 0- or 1-row frame.

    ``conservative=True`` compares the CI lower bound (``accuracy_lo``) instead of the
    point estimate, so a lucky small run does not win.
    """
    col = "accuracy_lo" if conservative else "accuracy"
    _check_col(configs, col, "cheapest_to_reach")
    _check_col(configs, cost, "cheapest_to_reach")
    ok = configs.filter((pl.col(col) >= accuracy) & pl.col(cost).is_not_null())
    return ok.sort([cost, col], descending=[False, True]).head(1)


def best_under(configs: pl.DataFrame, *, cost_usd: float | None = None,
               latency_ms: float | None = None, latency: str = "latency_ms_mean",
               cost: str = "cost_usd") -> pl.DataFrame:
    """The most accurate config within a per-query cost and/or latency limit (0 or 1 row).

    Ties on accuracy go to the cheaper config. A config with an unknown (null) value of a
    constrained column is excluded for that constraint.
    """
    if cost_usd is None and latency_ms is None:
        raise WorkbenchError("best_under needs a limit: pass cost_usd=... and/or "
                             "latency_ms=...")
    _check_col(configs, "accuracy", "best_under")
    cond = pl.lit(True)
    if cost_usd is not None:
        _check_col(configs, cost, "best_under")
        cond = cond & (pl.col(cost) <= cost_usd)
    if latency_ms is not None:
        _check_col(configs, latency, "best_under")
        cond = cond & (pl.col(latency) <= latency_ms)
    ok = configs.filter(cond.fill_null(False))
    order = [c for c in ("accuracy", cost) if c in ok.columns]
    return ok.sort(order, descending=[True, False][: len(order)]).head(1)
