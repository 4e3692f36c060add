"""The per-run summary table the CLI and ``make demo`` print."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import polars as pl

if TYPE_CHECKING:
    from workbench.store.store import Store

SUMMARY_SQL = """
SELECT r.run_id, r.technique, r.model, r.task, r.budget_tokens, r.n_samples AS n,
       count(*) AS items, avg(CASE WHEN s.correct THEN 1.0 ELSE 0.0 END) AS accuracy,
       avg(s.tokens_in) AS tokens_in_per_item, avg(s.tokens_out) AS tokens_out_per_item,
       sum(s.cost_usd) AS cost_usd, avg(s.latency_ms) AS latency_ms_mean,
       quantile_cont(s.latency_ms, 0.95) AS latency_ms_p95,
       count(s.error)::INTEGER AS errors
FROM graded_samples s JOIN runs r USING (run_id)  -- effective grades: regrades, overrides
WHERE list_contains(?, s.run_id)
GROUP BY ALL ORDER BY min(s.created_at)
"""


def summarise(store: Store, run_ids: Sequence[str]) -> pl.DataFrame:
    """Accuracy, tokens, cost and latency per run, in run order."""
    return store.query(SUMMARY_SQL, [list(run_ids)])


def print_table(df: pl.DataFrame, title: str = "") -> None:
    """Render a frame as a rich table on stdout (numbers rounded for reading)."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title or None)
    for col in df.columns:
        table.add_column(col, justify="right" if df[col].dtype.is_numeric() else "left")
    for row in df.iter_rows():
        table.add_row(*(_fmt(v) for v in row))
    Console(width=None if sys.stdout.isatty() else 220).print(table)


def _fmt(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.3f}" if abs(v) < 10 else f"{v:,.0f}"
    return str(v)
