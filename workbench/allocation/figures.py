"""The allocation figure: held-out accuracy vs compute, one curve per policy, and the
Pareto frontier across every policy's settings.

Takes :meth:`workbench.allocation.evaluate.Evaluation.table`. The calibrated ("fit")
policies are single points (their setting was chosen on other items); the rest are
curves over their settings, drawn with the analysis figures' band helper.
"""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

from workbench.analysis.decisions import pareto_frontier
from workbench.analysis.figures import PALETTE, _line_with_band
from workbench.analysis.frames import require
from workbench.htmltext import plotly_text


def fig_allocation(table: pl.DataFrame, *, title: str | None = None, log_x: bool = False
                   ) -> go.Figure:
    """Accuracy (with its interval) vs generated tokens per item, per policy, and the
    Pareto frontier (fewer tokens, higher accuracy) as a dotted step line."""
    require(table, ("policy", "tokens_per_item", "accuracy"), "fig_allocation")
    fig = go.Figure()
    policies = table["policy"].unique(maintain_order=True).to_list()
    for i, policy in enumerate(policies):
        sub = table.filter(pl.col("policy") == policy).sort("tokens_per_item")
        lo = sub["accuracy_lo"].to_list() if "accuracy_lo" in sub.columns else None
        hi = sub["accuracy_hi"].to_list() if "accuracy_hi" in sub.columns else None
        _line_with_band(fig, sub["tokens_per_item"].to_list(), sub["accuracy"].to_list(),
                        lo, hi, policy, PALETTE[i % len(PALETTE)],
                        dash="dash" if policy == "uniform" else None)
    front = pareto_frontier(table, x="tokens_per_item", y="accuracy").filter(
        pl.col("on_frontier"))
    fig.add_trace(go.Scatter(
        x=front["tokens_per_item"].to_list(), y=front["accuracy"].to_list(), mode="lines",
        line={"shape": "hv", "color": "black", "dash": "dot"}, name="Pareto frontier",
        text=[plotly_text(f"{p} @ {s:g}") for p, s in
              zip(front["policy"].to_list(), front["setting"].to_list(), strict=True)]))
    fig.update_layout(title=plotly_text(title or "held-out accuracy vs compute"),
                      xaxis_title="generated tokens per item", yaxis_title="accuracy",
                      template="plotly_white")
    fig.update_xaxes(type="log" if log_x else "linear")
    return fig
