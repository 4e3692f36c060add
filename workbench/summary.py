"""The per-run summary table the CLI and ``make demo`` print."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import polars as pl

if TYPE_CHECKING:
    from workbench.store.store import Store

def summarise(store: Store, run_ids: Sequence[str]) -> pl.DataFrame:
    """Accuracy, tokens, cost and latency per run, in run order."""
    return store.summary(run_ids)


def print_table(df: pl.DataFrame, title: str = "") -> None:
    """Render a frame as a rich table on stdout (numbers rounded for reading).

    Every cell, header and the title is a plain ``Text``: cells hold model output, provider
    errors and user SQL, and rich would otherwise read ``[bold]``-style markup in them (a
    model answer ``[/]`` even raises)."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(title=Text(title) if title else None)
    for col in df.columns:
        table.add_column(Text(col), justify="right" if df[col].dtype.is_numeric() else "left")
    for row in df.iter_rows():
        table.add_row(*(Text(_fmt(v)) for v in row))
    Console(width=None if sys.stdout.isatty() else 220).print(table)


def _fmt(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.3f}" if abs(v) < 10 else f"{v:,.0f}"
    return str(v)
