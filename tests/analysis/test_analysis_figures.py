"""Figures build from the analysis frames and carry the expected traces."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

from workbench.analysis import (
    Frames,
    curve_configs,
    curves,
    fig_maj_pass,
    fig_pareto,
    fig_refinement_flips,
    fig_scaling,
    fig_vote_margin,
    refinement_flips,
    run_summary,
    vote_margins,
)


def names(fig: go.Figure) -> list[str]:
    return [t.name for t in fig.data]


def test_scaling_figure_has_a_line_and_band_per_technique(frames: Frames) -> None:
    s = run_summary(frames, b=50)
    fig = fig_scaling(s)  # one point per technique: error bars, no bands
    assert names(fig) == ["direct", "cot", "refine", "sc"]
    assert fig.layout.xaxis.type == "log"
    sc = s.filter(pl.col("technique") == "sc").row(0, named=True)
    assert fig.data[3].error_y.array[0] == sc["accuracy_hi"] - sc["accuracy"]
    cfg = pl.concat([s, curve_configs(curves(frames.paths, b=50), s)], how="diagonal_relaxed")
    fig = fig_scaling(cfg)
    assert "sc@k replayed CI" in names(fig)
    band = fig.data[names(fig).index("sc@k replayed CI")]
    assert band.fill == "toself" and len(band.x) == 2 * 16


def test_maj_pass_figure(frames: Frames) -> None:
    c = curves(frames.paths.filter(pl.col("run_id") == "r-sc"), b=50)
    fig = fig_maj_pass(c)
    assert [n for n in names(fig) if not n.endswith("CI")] == ["maj@k r-sc", "pass@k r-sc"]
    assert list(fig.data[1].x) == list(range(1, 17))


def test_pareto_figure_marks_the_frontier(frames: Frames) -> None:
    s = run_summary(frames, b=50)
    cfg = pl.concat([s, curve_configs(curves(frames.paths, b=50), s)], how="diagonal_relaxed")
    fig = fig_pareto(cfg)
    assert names(fig)[-1] == "Pareto frontier"
    assert "sc@k replayed" in names(fig)
    front = fig.data[-1]
    assert list(front.x) == sorted(front.x) and list(front.y) == sorted(front.y)


def test_vote_margin_histogram(frames: Frames) -> None:
    sc = frames.paths.filter(pl.col("run_id") == "r-sc")
    m = vote_margins(sc)
    assert m.height == 40 and m["margin"].is_between(0, 1).all()
    fig = fig_vote_margin(sc)
    assert names(fig) == ["majority correct", "majority wrong"]
    assert len(fig.data[0].x) + len(fig.data[1].x) == 40


def test_refinement_flip_chart() -> None:
    rounds = pl.DataFrame({"run_id": "r", "sample_id": ["a", "a", "b", "b", "c", "c"],
                           "round": [0, 1, 0, 1, 0, 1],
                           "correct": [True, False, False, True, False, True]})
    f = refinement_flips(rounds)
    assert f.row(0, named=True) == {"run_id": "r", "round": 1, "right_to_wrong": 1,
                                    "wrong_to_right": 2, "stayed_right": 0, "stayed_wrong": 0}
    fig = fig_refinement_flips(rounds)
    assert names(fig) == ["wrong→right r", "right→wrong r"]
    assert list(fig.data[1].y) == [-1]


def test_one_line_per_task_model_and_technique(frames: Frames) -> None:
    """Two tasks never join into one zig-zag line; legends name technique and task."""
    s = run_summary(frames, b=50)
    two = pl.concat([s.with_columns(task=pl.lit("arithmetic")),
                     s.with_columns(task=pl.lit("gsm8k"),
                                    run_id=pl.col("run_id") + "-g")])
    lines = [n for n in names(fig_scaling(two)) if not n.endswith("CI")]
    assert len(lines) == 2 * s.height == len(set(lines))
    assert "sc · gsm8k" in lines and "sc · arithmetic" in lines
    assert [n for n in names(fig_scaling(s)) if not n.endswith("CI")] == [
        "direct", "cot", "refine", "sc"]  # one task, one model: the technique says it all


def test_maj_pass_legend_is_one_readable_entry_per_run(frames: Frames) -> None:
    from workbench.analysis.literature import run_labels

    c = curves(frames.paths.filter(pl.col("run_id") == "r-sc"), b=50)
    labels = run_labels(run_summary(frames, b=50))
    fig = fig_maj_pass(c, labels=labels)
    shown = [t.name for t in fig.data if t.showlegend is not False]
    assert shown == [f"maj@k {labels['r-sc']}"] and labels["r-sc"].startswith("sc@16")
    assert "solid" in fig.layout.title.text and "dashed" in fig.layout.title.text
