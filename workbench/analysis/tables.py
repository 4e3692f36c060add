"""The tables a reader looks at first: technique vs compute vs accuracy vs cost, and prices.

``seed_table`` is the one-glance summary (technique, compute budget as a multiple of one
pass, accuracy with CI, cost and tokens per query). ``price_table`` re-prices measured
token usage under each provider's list price, so a technique measured on the local model
can be costed for an API model before running it. The prices arrive as data
(``workbench.backends.pricing.prices_for(models)``, the workbench's one price lookup):
analysis never imports litellm or the backends.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from workbench.analysis.compute import compute_note
from workbench.analysis.frames import require
from workbench.htmltext import markdown_cell


def _pct(v: float | None) -> str:
    return "" if v is None else f"{100 * v:.1f}"


def _budget(row: dict[str, object]) -> str:
    """'256 tok', '16 x 256 tok', '3 rounds': the knob that sets a configuration's compute."""
    tokens = row.get("budget_tokens")
    n, rounds = row.get("n_samples"), row.get("rounds")
    text = f"{tokens} tok" if tokens is not None else ""
    if isinstance(n, int) and n > 1:
        text = f"{n} x {text}"
    if isinstance(rounds, int) and rounds > 0:
        text += f", {rounds} rounds"
    return text


def seed_table(summary: pl.DataFrame) -> pl.DataFrame:
    """task, technique, budget, model, n (items), compute ("8.2x") and why it is that
    much (``compute_note``: forced answers, prompt share, calls per item), accuracy with its
    interval ("81.5% [78.1, 84.6]"), cost per query, tokens per query, p50 latency; one
    row per configuration, by task and compute. Print it whole (:func:`show_table`).

    ``summary`` is :func:`workbench.analysis.run_summary` (or :func:`curve_configs`) output.
    """
    require(summary, ("accuracy",), "seed_table")
    s = summary
    for col in ("task", "technique", "model", "compute_label"):
        if col not in s.columns:
            s = s.with_columns(pl.lit("?").alias(col))
    for col in ("accuracy_lo", "accuracy_hi", "cost_usd", "tokens_in", "tokens_out",
                "latency_ms_p50", "compute_multiple", "n_items"):
        if col not in s.columns:
            s = s.with_columns(pl.lit(None, dtype=pl.Float64).alias(col))
    acc = [f"{_pct(a)}% [{_pct(lo)}, {_pct(hi)}]" if lo is not None else f"{_pct(a)}%"
           for a, lo, hi in zip(s["accuracy"], s["accuracy_lo"], s["accuracy_hi"],
                                strict=True)]
    budget = [_budget(r) for r in s.iter_rows(named=True)]
    notes = [compute_note(r) for r in s.iter_rows(named=True)]
    return (s.with_columns(accuracy_ci=pl.Series(acc, dtype=pl.String),
                           budget=pl.Series(budget, dtype=pl.String),
                           compute_note=pl.Series(notes, dtype=pl.String))
            .sort("task", "compute_multiple", nulls_last=True)
            .select(pl.col("task"), pl.col("technique"), pl.col("budget"), pl.col("model"),
                    pl.col("n_items").cast(pl.Int64).alias("n"),
                    pl.col("compute_label").alias("compute"), pl.col("compute_note"),
                    pl.col("accuracy_ci").alias("accuracy"),
                    pl.col("cost_usd").round(6).alias("cost_usd_per_query"),
                    (pl.col("tokens_in").fill_null(0) + pl.col("tokens_out").fill_null(0))
                    .round(0).alias("tokens_per_query"),
                    pl.col("latency_ms_p50").round(0)))


def show_table(frame: pl.DataFrame) -> None:
    """Display ``frame`` whole (every row and column, no ``…``, full text) in a notebook,
    or print it whole elsewhere: a summary that hides its middle rows hides the
    configurations that matter (SC and refine sit between direct and long CoT)."""
    with pl.Config(tbl_rows=-1, tbl_cols=-1, fmt_str_lengths=200, tbl_width_chars=200):
        try:
            from IPython import get_ipython
            from IPython.display import display
        except ImportError:
            print(frame)
            return
        if get_ipython() is None:
            print(frame)
        else:
            display(frame)


def _price_row(model: str, info: Mapping[str, Any] | None) -> dict[str, Any]:
    def per_m(key: str) -> float | None:
        v = (info or {}).get(key)
        return None if v is None else float(v) * 1e6
    return {"model": model, "provider": (info or {}).get("litellm_provider"),
            "input_usd_per_mtok": per_m("input_cost_per_token"),
            "output_usd_per_mtok": per_m("output_cost_per_token"),
            "reasoning_usd_per_mtok": per_m("output_cost_per_reasoning_token")
            or per_m("output_cost_per_token"),
            "known": info is not None}


def price_table(models: Sequence[str], usage: pl.DataFrame | None = None, *,
                prices: Mapping[str, Mapping[str, Any] | None]) -> pl.DataFrame:
    """List prices per model (USD per million tokens) and, with ``usage``, each
    configuration's cost per query under each model's price.

    ``usage`` has technique, tokens_in, tokens_out (per query; e.g. :func:`run_summary`
    output) and optionally compute_label. ``cost_multiple`` is the cost relative to the
    cheapest configuration under the same model. Unknown models get ``known`` = False
    and null prices. ``prices`` maps each model to its price row (or None), as
    ``workbench.backends.pricing.prices_for(models)`` returns it.
    """
    base = pl.DataFrame([_price_row(m, prices.get(m)) for m in models],
                        schema={"model": pl.String, "provider": pl.String,
                                "input_usd_per_mtok": pl.Float64,
                                "output_usd_per_mtok": pl.Float64,
                                "reasoning_usd_per_mtok": pl.Float64, "known": pl.Boolean})
    if usage is None:
        return base
    require(usage, ("technique", "tokens_in", "tokens_out"), "price_table usage")
    cols = [c for c in ("technique", "compute_label", "tokens_in", "tokens_out")
            if c in usage.columns]
    u = usage.select(cols).rename({"tokens_in": "tokens_in_per_query",
                                   "tokens_out": "tokens_out_per_query"})
    out = base.join(u, how="cross").with_columns(
        cost_usd_per_query=(pl.col("tokens_in_per_query") * pl.col("input_usd_per_mtok")
                            + pl.col("tokens_out_per_query") * pl.col("output_usd_per_mtok"))
        / 1e6)
    return out.with_columns(
        cost_usd_per_1k_queries=pl.col("cost_usd_per_query") * 1000,
        cost_multiple=pl.col("cost_usd_per_query")
        / pl.col("cost_usd_per_query").min().over("model"))


def to_markdown(frame: pl.DataFrame, float_digits: int = 4) -> str:
    """A GitHub-flavoured markdown table (no extra dependency); cells are HTML-escaped."""
    def cell(v: object) -> str:
        if v is None:
            return ""
        if isinstance(v, float):
            return f"{v:.{float_digits}g}"
        return markdown_cell(v)  # markdown passes raw HTML through: escape it
    head = "| " + " | ".join(markdown_cell(c) for c in frame.columns) + " |"
    sep = "|" + "|".join("---" for _ in frame.columns) + "|"
    rows = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.iter_rows()]
    return "\n".join([head, sep, *rows]) + "\n"
