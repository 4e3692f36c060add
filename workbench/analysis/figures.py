"""Plotly figures of scaling results (graph_objects only: no pandas needed).

Every figure takes the frames the other analysis functions return, so a notebook cell
is ``fig_scaling(run_summary(frames))``. Bands are drawn as one filled polygon per group
(hover off) so a legend entry toggles a curve and its interval together.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
import polars as pl

from workbench.analysis.decisions import pareto_frontier
from workbench.analysis.frames import item_tallies, require
from workbench.htmltext import plotly_text

PALETTE = ("#4C78A8", "#F58518", "#54A24B", "#E45756", "#72B7B2", "#B279A2", "#FF9DA6",
           "#9D755D", "#BAB0AC", "#EECA3B")


def _rgba(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[i: i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def _line_with_band(fig: go.Figure, x: Sequence[float], y: Sequence[float],
                    lo: Sequence[float] | None, hi: Sequence[float] | None, name: str,
                    color: str, dash: str | None = None, *, group: str | None = None,
                    legend: bool = True) -> None:
    """A band for 2+ points; a single point gets an error bar instead (a band of one
    point has no area). Missing interval ends mean no band. Traces of one ``group``
    share a legend entry (``legend=False`` for all but one of them)."""
    xs, ys = list(x), list(y)
    name = plotly_text(name)  # plotly renders tags in legend text: show names literally
    group = plotly_text(group) if group is not None else name
    los, his = list(lo or []), list(hi or [])
    has_ci = len(los) == len(xs) == len(his) and None not in (*los, *his)
    error_y = None
    if has_ci and len(xs) == 1:
        error_y = {"type": "data", "symmetric": False, "array": [his[0] - ys[0]],
                   "arrayminus": [ys[0] - los[0]], "color": color}
    elif has_ci:
        fig.add_trace(go.Scatter(
            x=[*xs, *reversed(xs)], y=[*his, *reversed(los)], fill="toself", mode="lines",
            fillcolor=_rgba(color, 0.18), line={"width": 0}, hoverinfo="skip",
            name=f"{name} CI", showlegend=False, legendgroup=group))
    fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines+markers", name=name,
                             line={"color": color, "dash": dash}, marker={"color": color},
                             error_y=error_y, legendgroup=group, showlegend=legend))


SERIES_KEYS = ("task", "model", "technique")
"""What makes one line: configurations of one technique on one task and one model."""


def series_labels(df: pl.DataFrame, keys: Sequence[str] = SERIES_KEYS) -> pl.Series:
    """A legend label per row naming its line: the technique, plus the task and model
    where the frame holds more than one ("cot · gsm8k"), so no line joins two tasks."""
    present = [k for k in keys if k in df.columns]
    varying = [k for k in present if k == "technique" or df[k].n_unique() > 1]
    order = [k for k in ("technique", "task", "model") if k in varying]
    if not order:
        return pl.Series("series", ["all"] * df.height, dtype=pl.String)
    return df.select(pl.concat_str([pl.col(k).cast(pl.String).fill_null("?") for k in order],
                                   separator=" · ").alias("series"))["series"]


def fig_scaling(configs: pl.DataFrame, *, x: str = "compute_multiple", y: str = "accuracy",
                color: str | None = None, log_x: bool = True, title: str | None = None
                ) -> go.Figure:
    """Accuracy vs compute, one line (with its CI band when ``{y}_lo``/``{y}_hi`` exist)
    per (task, model, technique), or per value of ``color`` when given; log-scaled x."""
    require(configs, (x, y), "fig_scaling")
    df = configs.filter(pl.col(x).is_not_null()).sort(x)
    key = color if color is not None and color in df.columns else "_series"
    if key == "_series":
        df = df.with_columns(series_labels(df).alias("_series"))
    groups = df[key].unique(maintain_order=True).to_list()
    fig = go.Figure()
    for i, g in enumerate(groups):
        sub = df.filter(pl.col(key) == g)
        has_ci = f"{y}_lo" in sub.columns and f"{y}_hi" in sub.columns
        _line_with_band(fig, sub[x].to_list(), sub[y].to_list(),
                        sub[f"{y}_lo"].to_list() if has_ci else None,
                        sub[f"{y}_hi"].to_list() if has_ci else None, str(g),
                        PALETTE[i % len(PALETTE)])
    fig.update_layout(title=title or f"{y} vs {x}", xaxis_title=x, yaxis_title=y,
                      template="plotly_white", hovermode="x unified")
    fig.update_xaxes(type="log" if log_x else "linear")
    return fig


def fig_maj_pass(curve_frame: pl.DataFrame, *, run_ids: Sequence[str] | None = None,
                 labels: Mapping[str, str] | None = None, log_x: bool = True) -> go.Figure:
    """maj@k (solid) and pass@k (dashed) vs k per run, with bootstrap bands; one legend
    entry per run (``labels``: run id -> a readable name such as "sc@16 · arithmetic";
    default the run id) that toggles both of its curves."""
    require(curve_frame, ("run_id", "k", "maj", "pass"), "fig_maj_pass")
    ids = list(run_ids) if run_ids else curve_frame["run_id"].unique(
        maintain_order=True).to_list()
    fig = go.Figure()
    for i, rid in enumerate(ids):
        sub = curve_frame.filter(pl.col("run_id") == rid).sort("k")
        c = PALETTE[i % len(PALETTE)]
        label = (labels or {}).get(rid, rid)
        for metric, dash in (("maj", None), ("pass", "dash")):
            lo = sub[f"{metric}_lo"].to_list() if f"{metric}_lo" in sub.columns else None
            hi = sub[f"{metric}_hi"].to_list() if f"{metric}_hi" in sub.columns else None
            _line_with_band(fig, sub["k"].to_list(), sub[metric].to_list(), lo, hi,
                            f"{metric}@k {label}", c, dash, group=label,
                            legend=metric == "maj")
    fig.update_layout(title="maj@k (solid) and pass@k (dashed) vs k", xaxis_title="k (paths)",
                      yaxis_title="accuracy", template="plotly_white")
    fig.update_xaxes(type="log" if log_x else "linear")
    return fig


def fig_pareto(configs: pl.DataFrame, *, x: str = "cost_usd", y: str = "accuracy",
               color: str = "technique", log_x: bool = False) -> go.Figure:
    """Every configuration as a point, and the Pareto frontier (lower x, higher y) as a
    step line through the non-dominated ones."""
    df = pareto_frontier(configs, x=x, y=y)
    fig = go.Figure()
    groups = df[color].unique(maintain_order=True).to_list() if color in df.columns else [None]
    for i, g in enumerate(groups):
        sub = df.filter(pl.col(color) == g) if g is not None else df
        text = ([plotly_text(t) for t in sub["compute_label"].to_list()]
                if "compute_label" in sub.columns else None)
        fig.add_trace(go.Scatter(x=sub[x].to_list(), y=sub[y].to_list(), mode="markers",
                                 name=plotly_text(g if g is not None else "configs"), text=text,
                                 marker={"size": 9, "color": PALETTE[i % len(PALETTE)]}))
    front = df.filter(pl.col("on_frontier"))
    fig.add_trace(go.Scatter(x=front[x].to_list(), y=front[y].to_list(), mode="lines",
                             line={"shape": "hv", "color": "black", "dash": "dot"},
                             name="Pareto frontier"))
    fig.update_layout(title=f"{y} vs {x}: Pareto frontier", xaxis_title=x, yaxis_title=y,
                      template="plotly_white")
    fig.update_xaxes(type="log" if log_x else "linear")
    return fig


def vote_margins(paths: pl.DataFrame, gold: pl.DataFrame | None = None) -> pl.DataFrame:
    """run_id, sample_id, margin = (top votes - runner-up votes) / paths, majority_correct
    (the top answer is correct; ties count as wrong unless every tied answer is)."""
    t = item_tallies(paths, gold)
    rows = []
    for r in t.iter_rows(named=True):
        counts = sorted(zip(r["counts"], r["correct"], strict=True), key=lambda c: -c[0])
        top = counts[0][0] if counts else 0
        second = counts[1][0] if len(counts) > 1 else 0
        ok = bool(counts) and all(c[1] for c in counts if c[0] == top)
        rows.append({"run_id": r["run_id"], "sample_id": r["sample_id"],
                     "margin": (top - second) / max(r["n_paths"], 1), "majority_correct": ok})
    return pl.DataFrame(rows, schema={"run_id": pl.String, "sample_id": pl.String,
                                      "margin": pl.Float64, "majority_correct": pl.Boolean})


def fig_vote_margin(paths: pl.DataFrame, gold: pl.DataFrame | None = None,
                    bins: int = 20) -> go.Figure:
    """Histogram of vote margins, majority-correct vs majority-wrong items (overlaid):
    wrong majorities cluster at small margins, which is what adaptive stopping exploits."""
    m = vote_margins(paths, gold)
    fig = go.Figure()
    for label, ok, c in (("majority correct", True, PALETTE[2]),
                         ("majority wrong", False, PALETTE[3])):
        sub = m.filter(pl.col("majority_correct") == ok)
        fig.add_trace(go.Histogram(x=sub["margin"].to_list(), name=label, marker_color=c,
                                   opacity=0.7, xbins={"start": 0, "end": 1.0001,
                                                       "size": 1 / bins}))
    fig.update_layout(barmode="overlay", title="Vote margin per item",
                      xaxis_title="(top - runner-up) / paths", yaxis_title="items",
                      template="plotly_white")
    return fig


def refinement_flips(rounds: pl.DataFrame) -> pl.DataFrame:
    """run_id, round, right_to_wrong, wrong_to_right, stayed_right, stayed_wrong: how
    correctness changed from the previous round to this one, per run."""
    require(rounds, ("run_id", "sample_id", "round", "correct"), "refinement_flips")
    r = (rounds.filter(pl.col("correct").is_not_null()).sort("run_id", "sample_id", "round")
         .with_columns(prev=pl.col("correct").shift(1).over("run_id", "sample_id"))
         .filter(pl.col("prev").is_not_null()))
    return (r.group_by("run_id", "round").agg(
        right_to_wrong=(pl.col("prev") & ~pl.col("correct")).sum(),
        wrong_to_right=(~pl.col("prev") & pl.col("correct")).sum(),
        stayed_right=(pl.col("prev") & pl.col("correct")).sum(),
        stayed_wrong=(~pl.col("prev") & ~pl.col("correct")).sum()).sort("run_id", "round"))


def fig_refinement_flips(rounds: pl.DataFrame) -> go.Figure:
    """Per refinement round: items flipped right→wrong (down) and wrong→right (up)."""
    f = refinement_flips(rounds)
    fig = go.Figure()
    for i, (rid,) in enumerate(f.select("run_id").unique(maintain_order=True).iter_rows()):
        sub = f.filter(pl.col("run_id") == rid)
        c = PALETTE[i % len(PALETTE)]
        fig.add_trace(go.Bar(x=sub["round"].to_list(), y=sub["wrong_to_right"].to_list(),
                             name=plotly_text(f"wrong→right {rid}"), marker_color=c))
        fig.add_trace(go.Bar(x=sub["round"].to_list(),
                             y=(-np.asarray(sub["right_to_wrong"].to_list())).tolist(),
                             name=plotly_text(f"right→wrong {rid}"), marker_color=_rgba(c, 0.45)))
    n_runs = f["run_id"].n_unique()
    fig.update_layout(barmode="relative" if n_runs <= 1 else "group",
                      title="Refinement flips per round",
                      xaxis_title="round", yaxis_title="items (up: fixed, down: broken)",
                      template="plotly_white")
    return fig
