"""Vote distribution: a live bar chart of the focused item's answers.

Before the technique votes, bars count the answers of finished paths as they land; once a
``Voted`` event arrives its counts (weights for verifier votes), winner, tie-break and
adaptive-stopping fields take over. The gold answer is always shown (a zero bar if no path
found it) so "the right answer never came up" is visible at a glance.

The chart is inline SVG in an ``HTML`` widget (:mod:`widgets.svgchart`), not a plotly
``FigureWidget``: its synced value is the current picture, so a saved notebook shows the
votes, and it costs a few kB instead of a 5 MB front-end bundle per chart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import ipywidgets as W

from widgets.state import NO_ANSWER_COLOR, SampleView, answer_colors
from widgets.svgchart import Bar, bar_chart_svg
from workbench.htmltext import Markup, html, join


@dataclass(frozen=True)
class VoteChartData:
    """Everything the chart draws, as plain data (what tests assert on)."""

    answers: list[str] = field(default_factory=list)
    counts: list[float] = field(default_factory=list)
    colors: list[str] = field(default_factory=list)
    gold_index: int | None = None
    winner: str | None = None
    method: str = "live"
    n_paths: int = 0
    stopped_early: bool = False
    samples_saved: int = 0
    tokens_saved_est: int = 0
    tie_break: str | None = None

    def count_of(self, answer: str) -> float:
        return self.counts[self.answers.index(answer)] if answer in self.answers else 0.0


def _gold_answer(sample: SampleView, answers: list[str]) -> str | None:
    """Which bar is gold: an answer some path got right, else the stored gold text."""
    for p in sample.paths.values():
        ans = sample.outcome_answer(p)
        if ans in answers and sample.outcome_correct(p):
            return ans
    return sample.gold or None


def vote_chart_data(sample: SampleView | None) -> VoteChartData:
    """Bars for one item: the Voted counts if the vote happened, else the live tally."""
    if sample is None:
        return VoteChartData()
    v = sample.vote
    counts: dict[str, float] = dict(v.counts) if v is not None else \
        {a: float(c) for a, c in sample.live_counts().items()}
    answers = list(counts)
    gold = _gold_answer(sample, answers)
    if gold is not None and gold not in counts:
        answers.append(gold)
        counts[gold] = 0.0
    seen: list[str | None] = [sample.outcome_answer(p) for p in sample.paths.values()
                              if p.role in ("path", "direct", "refine")]
    palette = answer_colors(seen + list(answers))
    winner = v.winner if v is not None else (max(answers, key=lambda a: counts[a])
                                               if any(counts.values()) else None)
    return VoteChartData(
        answers=answers, counts=[counts[a] for a in answers],
        colors=[palette.get(a, NO_ANSWER_COLOR) for a in answers],
        gold_index=answers.index(gold) if gold is not None else None, winner=winner,
        method=v.method if v is not None else "live",
        n_paths=v.n_paths if v is not None else int(sum(counts.values())),
        stopped_early=bool(v and v.stopped_early), samples_saved=v.samples_saved if v else 0,
        tokens_saved_est=v.tokens_saved_est if v else 0,
        tie_break=v.tie_break if v is not None else None)


def summary_html(d: VoteChartData) -> Markup:
    """The caption under the chart: winner, gold, adaptive stopping and tokens saved."""
    if not d.answers:
        return Markup('<span class="wb-vote-summary">No answers yet.</span>')
    gold = d.answers[d.gold_index] if d.gold_index is not None else None
    bits = [html("{} vote over {} paths", d.method, d.n_paths),
            html("winner <b>{}</b>", str(d.winner))]
    if d.tie_break:
        bits.append(html("tie broken by {}", d.tie_break))
    if gold is not None:
        bits.append(html("gold <b>{}</b> {}", gold, "✓" if d.winner == gold else "✗"))
    if d.stopped_early:
        bits.append(html('<span class="wb-vote-stopped">adaptive stop: saved {} paths '
                         "(~{} tokens)</span>", d.samples_saved, d.tokens_saved_est))
    return html('<span class="wb-vote-summary">{}</span>', join(" · ", bits))


def bar_labels(d: VoteChartData) -> list[str]:
    labels = []
    for i, a in enumerate(d.answers):
        tags = (["★ gold"] if i == d.gold_index else []) + (["winner"] if a == d.winner else [])
        labels.append(" ".join(tags))
    return labels


def chart_svg(d: VoteChartData) -> str:
    """The bars as SVG: one ``wb-vote-bar`` per answer (``data-answer``, ``data-count``,
    ``data-gold``, ``data-winner``), the winner outlined, the gold one tagged."""
    bars = [Bar(label=a, value=c, color=color,
                tags=tuple(t for t, on in (("winner", a == d.winner),
                                           ("★ gold", i == d.gold_index)) if on),
                outlined=a == d.winner, cls="wb-vote-bar",
                attrs=(("data-answer", a), ("data-count", f"{c:g}"),
                       ("data-gold", str(i == d.gold_index).lower()),
                       ("data-winner", str(a == d.winner).lower())))
            for i, (a, c, color) in enumerate(zip(d.answers, d.counts, d.colors, strict=True))]
    return bar_chart_svg(bars, title="Vote distribution", y_title="votes",
                         empty="No answers yet.")


class VoteChart(W.VBox):
    """The vote bars (SVG in an ``HTML`` widget) plus a caption; redraw with :meth:`update`."""

    def __init__(self, **kwargs: Any) -> None:
        self.data = VoteChartData()
        self.chart = W.HTML(chart_svg(self.data))
        self.chart.add_class("wb-vote-bars")
        self.caption = W.HTML(summary_html(self.data))
        self.caption.add_class("wb-vote-caption")
        super().__init__([self.chart, self.caption], **kwargs)
        self.add_class("wb-vote-chart")

    def update(self, sample: SampleView | None) -> None:
        d = vote_chart_data(sample)
        if d == self.data:
            return
        self.data = d
        self.chart.value = chart_svg(d)
        self.caption.value = summary_html(d)
