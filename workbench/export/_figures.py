"""The plotly figures of a run report, built from the store's frames of ONE run.

Kept deliberately simple and independent of the live widgets: a report must open the same
way in years, on any machine, so it uses only stored columns and plain plotly traces.
"""

from __future__ import annotations

import json
from typing import Any

import polars as pl

from workbench.htmltext import plotly_text

MAIN_ROLES = ("path", "direct")
COLORS = {"correct": "#2ca02c", "wrong": "#d62728", "none": "#b0b0b0"}


def _item_label(samples: pl.DataFrame) -> dict[str, str]:
    return {sid: f"item {idx}" for sid, idx in
            samples.select("sample_id", "item_index").iter_rows()}


def per_item_figure(samples: pl.DataFrame) -> Any:
    """Tokens generated per item, coloured by whether the final answer was correct."""
    import plotly.graph_objects as go

    rows = samples.sort("item_index")
    colors = [COLORS["correct"] if c else COLORS["wrong"] for c in rows["correct"].to_list()]
    fig = go.Figure(go.Bar(x=[f"item {i}" for i in rows["item_index"].to_list()],
                           y=rows["tokens_out"].to_list(), marker_color=colors,
                           hovertext=[plotly_text(f"answer {a} · gold {g}") for a, g in
                                      rows.select("answer", "gold").iter_rows()]))
    fig.update_layout(title="Tokens generated per item (green: correct, red: wrong)",
                      xaxis_title="item", yaxis_title="output tokens", height=320,
                      margin={"t": 40, "b": 40, "l": 50, "r": 10})
    return fig


def path_length_figure(paths: pl.DataFrame) -> Any | None:
    """Histogram of reasoning-path lengths, truncated paths apart: shows whether the token
    budget, not the model, decided the outcome."""
    import plotly.graph_objects as go

    main = paths.filter(pl.col("role").is_in(MAIN_ROLES))
    if main.is_empty():
        return None
    fig = go.Figure()
    for truncated, name in ((False, "finished"), (True, "truncated")):
        part = main.filter(pl.col("truncated").fill_null(False) == truncated)
        if not part.is_empty():
            fig.add_trace(go.Histogram(x=part["tokens_out"].to_list(), name=name, nbinsx=30))
    fig.update_layout(barmode="stack", title="Reasoning path lengths", height=300,
                      xaxis_title="output tokens", yaxis_title="paths",
                      margin={"t": 40, "b": 40, "l": 50, "r": 10})
    return fig


def votes_figure(votes: pl.DataFrame, samples: pl.DataFrame) -> Any | None:
    """Stacked vote counts per item, the gold answer's share in green."""
    import plotly.graph_objects as go

    if votes.is_empty():
        return None
    labels = _item_label(samples)
    gold = dict(samples.select("sample_id", "gold").iter_rows())
    correct_y, other_y, xs = [], [], []
    for sid, counts in votes.select("sample_id", "counts").iter_rows():
        parsed: dict[str, float] = json.loads(counts) if counts else {}
        good = sum(v for k, v in parsed.items() if k.strip() == str(gold.get(sid, "")).strip())
        xs.append(plotly_text(labels.get(sid, sid)))
        correct_y.append(good)
        other_y.append(sum(parsed.values()) - good)
    fig = go.Figure([go.Bar(x=xs, y=correct_y, name="votes for the gold answer",
                            marker_color=COLORS["correct"]),
                     go.Bar(x=xs, y=other_y, name="other answers", marker_color=COLORS["none"])])
    fig.update_layout(barmode="stack", title="Votes per item", height=300,
                      margin={"t": 40, "b": 40, "l": 50, "r": 10})
    return fig


def rounds_figure(rounds: pl.DataFrame) -> Any | None:
    """Share of items correct after each refinement round (does refining help or hurt?)."""
    import plotly.graph_objects as go

    if rounds.is_empty() or rounds["correct"].null_count() == rounds.height:
        return None
    acc = (rounds.group_by("round")
           .agg(pl.col("correct").cast(pl.Float64).mean().alias("accuracy"),
                pl.len().alias("n"))
           .sort("round"))
    fig = go.Figure(go.Scatter(x=acc["round"].to_list(), y=acc["accuracy"].to_list(),
                               mode="lines+markers", name="accuracy"))
    fig.update_layout(title="Accuracy after each refinement round", height=300,
                      xaxis_title="round", yaxis_title="accuracy", yaxis_range=[0, 1.05],
                      margin={"t": 40, "b": 40, "l": 50, "r": 10})
    return fig


def run_figures(samples: pl.DataFrame, paths: pl.DataFrame, votes: pl.DataFrame,
                rounds: pl.DataFrame) -> list[Any]:
    """Every figure that has data for this run, in report order."""
    figs = [per_item_figure(samples) if not samples.is_empty() else None,
            path_length_figure(paths), votes_figure(votes, samples), rounds_figure(rounds)]
    return [f for f in figs if f is not None]
