"""Scaling view: accuracy against compute (output tokens per item) for the runs in view.

Each stored run is one point (its technique, budget and N in the hover text); the run in
flight is a star that moves as ``SampleScored`` events land. The x axis is log-scaled
because the interesting comparisons span 64 to tens of thousands of tokens per item.
The chart is inline SVG in an ``HTML`` widget (:mod:`widgets.svgchart`), so the saved
notebook shows the points as they were, without a plotly bundle in the widget state.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import ipywidgets as W
import polars as pl

from widgets.state import PALETTE
from widgets.svgchart import Point, scatter_svg
from workbench.events import SampleScored
from workbench.techniques.registry import names

if TYPE_CHECKING:
    from workbench.store.store import Store

@dataclass(frozen=True)
class ScalingPoints:
    """Plot-ready columns (what tests assert on)."""

    x: list[float] = field(default_factory=list)
    y: list[float] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    colors: list[str] = field(default_factory=list)
    run_ids: list[str] = field(default_factory=list)
    techniques: list[str] = field(default_factory=list)


def technique_color(technique: str) -> str:
    order = names()
    i = order.index(technique) if technique in order else len(order)
    return PALETTE[i % len(PALETTE)]


def points_from_frame(frame: pl.DataFrame) -> ScalingPoints:
    """One point per run from :meth:`Store.run_points` rows."""
    if frame.is_empty():
        return ScalingPoints()
    rows = frame.to_dicts()
    return ScalingPoints(
        x=[float(r["tokens_per_item"] or 0.0) for r in rows],
        y=[float(r["accuracy"] or 0.0) for r in rows],
        labels=[f"{r['technique']} · budget {r['budget_tokens']} · N={r['n']} · "
                f"{r['items']} items" for r in rows],
        colors=[technique_color(str(r["technique"])) for r in rows],
        run_ids=[str(r["run_id"]) for r in rows],
        techniques=[str(r["technique"]) for r in rows])


def live_point(scored: Sequence[SampleScored]) -> tuple[float, float] | None:
    """(tokens per item, accuracy) of the samples scored so far, or None if none yet."""
    if not scored:
        return None
    return (sum(s.tokens_out for s in scored) / len(scored),
            sum(1 for s in scored if s.correct) / len(scored))


def stored_points(store: Store, task: str, model: str | None) -> pl.DataFrame:
    """The per-run accuracy / tokens frame for a task (and model) from the store."""
    return store.run_points(task, model)


def scaling_svg(points: ScalingPoints, live: tuple[float, float] | None) -> str:
    """Stored runs as dots (hover: technique, budget, N, items), the live run as a star."""
    dots = [Point(x, y, color, f"{label}\n{x:.0f} tokens/item · acc {y:.0%}")
            for x, y, color, label in zip(points.x, points.y, points.colors, points.labels,
                                          strict=True)]
    if live is not None:
        dots.append(Point(live[0], live[1], "#000", f"this run: {live[0]:.0f} tokens/item "
                                                    f"· acc {live[1]:.0%}", star=True))
    legend = [(t, technique_color(t)) for t in dict.fromkeys(points.techniques)]
    if live is not None:
        legend.append(("★ this run", "#000"))
    return scatter_svg(dots, title="Accuracy vs compute", x_title="output tokens per item",
                       y_title="accuracy", legend=legend,
                       empty="No scored runs yet: run something.")


class ScalingView(W.VBox):
    """Accuracy vs tokens per item; ``set_runs`` for stored runs, ``update_live`` per flush."""

    def __init__(self, **kwargs: Any) -> None:
        self.points = ScalingPoints()
        self.live: tuple[float, float] | None = None
        self.chart = W.HTML(scaling_svg(self.points, self.live),
                            layout=W.Layout(max_width="100%"))
        super().__init__([self.chart], **kwargs)
        self.add_class("wb-scaling")

    def set_runs(self, frame: pl.DataFrame) -> None:
        points = points_from_frame(frame)
        if points != self.points:
            self.points = points
            self.chart.value = scaling_svg(self.points, self.live)

    def update_live(self, scored: Sequence[SampleScored]) -> None:
        point = live_point(scored)
        if point == self.live:
            return
        self.live = point
        self.chart.value = scaling_svg(self.points, self.live)
