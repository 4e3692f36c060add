"""What the notebook shows, folded from the event stream (pure Python, no widgets).

Why a separate model: events arrive at token rate, but views redraw at most 20 times a
second. :class:`RunState` absorbs every event immediately (cheap dict updates) and reports
which views became stale; the throttled sink redraws only those, from this state. The same
fold serves live runs, replays from the store and instant recomputes from stored paths.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from workbench.events import (
    Event,
    PathFinished,
    PathStarted,
    RoundFinished,
    RunFinished,
    RunStarted,
    SampleScored,
    TokenDelta,
    Voted,
)

CHILD_ROLES = frozenset({"forced_answer", "verify"})
"""Roles drawn inside their parent's card (a forced final answer, a verifier score)."""

PALETTE = ("#1f77b4", "#ff7f0e", "#9467bd", "#17becf", "#e377c2", "#7f7f7f", "#b8860b",
           "#393b79")
"""Answer colours: blue, orange, purple, cyan, pink, grey, dark gold, navy. No green and
no red (nor a reddish brown): an answer's colour only tells answers apart, so it must not
read as right or wrong; correctness is the card's ✓ / ✗ badge and the chart's ★ gold tag."""
NO_ANSWER_COLOR = "#b0b0b0"


@dataclass
class PathView:
    """One generation as drawn: its text so far and, once finished, its verdict."""

    path_id: str
    sample_id: str
    role: str = "path"
    index: int = 0
    round: int = 0
    parent_id: str | None = None
    model: str = ""
    text: str = ""
    done: bool = False
    answer: str | None = None
    correct: bool | None = None
    truncated: bool = False
    finish_reason: str | None = None
    error: str | None = None
    score: float | None = None
    tokens_out: int = 0
    step: int | None = None  # search: the step's depth in its chain
    scorer: str | None = None  # who gave ``score``
    kept: bool | None = None  # search: survived pruning (None: not judged)

    @property
    def status(self) -> str:
        """running | done | truncated | stopped | error (what the card's badge says)."""
        if not self.done:
            return "running"
        if self.finish_reason == "cancelled":
            return "stopped"
        if self.error:
            return "error"
        return "truncated" if self.truncated else "done"


@dataclass
class SampleView:
    """One task item of the run: its paths, vote and refinement rounds."""

    sample_id: str
    item_index: int | None = None
    question: str = ""
    gold: str = ""
    answer: str | None = None
    correct: bool | None = None
    scored: bool = False
    paths: dict[str, PathView] = field(default_factory=dict)
    vote: Voted | None = None
    rounds: list[RoundFinished] = field(default_factory=list)

    def outcome_answer(self, path: PathView) -> str | None:
        """A chain's answer, or its forced child's answer when the chain gave none."""
        if path.answer is not None:
            return path.answer
        for child in self.paths.values():
            if child.parent_id == path.path_id and child.role == "forced_answer":
                return child.answer
        return None

    def outcome_correct(self, path: PathView) -> bool | None:
        if path.answer is not None:
            return path.correct
        for child in self.paths.values():
            if child.parent_id == path.path_id and child.role == "forced_answer":
                return child.correct
        return path.correct

    def live_counts(self) -> dict[str, int]:
        """Final answers of the finished chains so far (the chart before the Voted event).

        One vote per path index: its latest refinement round if it was refined, so that
        ``refine`` shows the answer it ended with, not the one it started from."""
        latest: dict[int, PathView] = {}
        for p in self.paths.values():
            if p.role in ("path", "direct", "refine") and p.done:
                if p.index not in latest or p.round >= latest[p.index].round:
                    latest[p.index] = p
        counts: dict[str, int] = {}
        for p in latest.values():
            ans = self.outcome_answer(p)
            if ans is not None:
                counts[ans] = counts.get(ans, 0) + 1
        return counts


def answer_colors(answers: list[str | None]) -> dict[str, str]:
    """A stable colour per distinct answer, in first-seen order (paths and chart agree)."""
    out: dict[str, str] = {}
    for a in answers:
        if a is not None and a not in out:
            out[a] = PALETTE[len(out) % len(PALETTE)]
    return out


@dataclass
class Progress:
    """Counters for the progress bar: samples done, tokens, cost, wall time."""

    total: int = 0
    done: int = 0
    correct: int = 0
    tokens_out: int = 0
    live_pieces: int = 0
    cost_usd: float = 0.0
    started: float = field(default_factory=time.monotonic)
    ended: float | None = None

    def tokens_per_s(self, now: float | None = None) -> float:
        end = self.ended if self.ended is not None else (now or time.monotonic())
        tokens = max(self.tokens_out, self.live_pieces)
        return tokens / max(1e-6, end - self.started)


class RunState:
    """The fold of one run's events. :meth:`apply` returns the names of stale views."""

    def __init__(self) -> None:
        self.reset()

    def reset(self, started: RunStarted | None = None) -> None:
        self.run_id: str | None = started.run_id if started else None
        self.started: RunStarted | None = started
        self.status = "running" if started else "idle"
        self.error: str | None = None
        self.samples: dict[str, SampleView] = {}
        self.scored: list[SampleScored] = []
        self.progress = Progress(total=started.n_items if started else 0)
        self.focus: str | None = None
        self._path_sample: dict[str, str] = {}

    def sample(self, sample_id: str) -> SampleView:
        view = self.samples.get(sample_id)
        if view is None:
            view = self.samples[sample_id] = SampleView(sample_id)
            if self.focus is None:
                self.focus = sample_id
        return view

    @property
    def focused(self) -> SampleView | None:
        return self.samples.get(self.focus) if self.focus else None

    def apply(self, event: Event) -> set[str]:
        """Fold one event in; events of another run than the current one are ignored."""
        if isinstance(event, RunStarted):
            self.reset(event)
            return {"paths", "votes", "rounds", "progress", "scaling", "samples"}
        if self.run_id is not None and event.run_id != self.run_id:
            return set()
        handler = _HANDLERS.get(type(event))
        return handler(self, event) if handler else set()

    def _on_path_started(self, e: PathStarted) -> set[str]:
        s = self.sample(e.sample_id)
        s.paths[e.path_id] = PathView(path_id=e.path_id, sample_id=e.sample_id, role=e.role,
                                      index=e.index, round=e.round, parent_id=e.parent_id,
                                      model=e.model, step=e.step)
        self._path_sample[e.path_id] = e.sample_id
        return {"paths", "samples"} if e.sample_id == self.focus else {"samples"}

    def _on_delta(self, e: TokenDelta) -> set[str]:
        path = self._path(e.sample_id, e.path_id)
        path.text += e.text
        self.progress.live_pieces += 1
        return {"progress"}

    def _on_path_finished(self, e: PathFinished) -> set[str]:
        p = self._path(e.sample_id, e.path_id)
        p.text, p.done, p.answer, p.correct = e.text, True, e.answer, e.correct
        p.truncated, p.finish_reason, p.error = e.truncated, e.finish_reason, e.error
        p.score, p.tokens_out = e.score, e.tokens_out
        p.scorer, p.kept = e.scorer, e.kept
        self.progress.tokens_out += e.tokens_out
        self.progress.cost_usd += e.cost_usd
        stale = {"progress"}
        if e.sample_id == self.focus:
            stale |= {"paths", "votes"}
        return stale

    def _on_voted(self, e: Voted) -> set[str]:
        self.sample(e.sample_id).vote = e
        return {"votes"} if e.sample_id == self.focus else set()

    def _on_round(self, e: RoundFinished) -> set[str]:
        self.sample(e.sample_id).rounds.append(e)
        return {"rounds"} if e.sample_id == self.focus else set()

    def _on_scored(self, e: SampleScored) -> set[str]:
        s = self.sample(e.sample_id)
        s.item_index, s.question, s.gold = e.item_index, e.question, e.gold
        s.answer, s.correct, s.scored = e.answer, e.correct, True
        self.scored.append(e)
        self.progress.done += 1
        self.progress.correct += int(e.correct)
        stale = {"progress", "scaling", "samples"}
        return stale | ({"paths", "votes", "rounds"} if e.sample_id == self.focus else set())

    def _on_finished(self, e: RunFinished) -> set[str]:
        self.status, self.error = e.status, e.error
        self.progress.ended = time.monotonic()
        return {"progress", "paths", "votes", "rounds", "scaling", "samples"}

    def _path(self, sample_id: str, path_id: str) -> PathView:
        s = self.sample(sample_id)
        path = s.paths.get(path_id)
        if path is None:  # a delta or finish without a start (partial replay): draw it anyway
            path = s.paths[path_id] = PathView(path_id=path_id, sample_id=sample_id)
        return path

    def set_focus(self, sample_id: str | None) -> None:
        self.focus = sample_id if sample_id in self.samples else self.focus

    def sample_options(self) -> list[tuple[str, str]]:
        """(label, sample_id) for the sample picker, in arrival order."""
        out = []
        for s in self.samples.values():
            mark = "" if not s.scored else (" ✓" if s.correct else " ✗")
            label = f"item {s.item_index}" if s.item_index is not None else s.sample_id[-5:]
            out.append((label + mark, s.sample_id))
        return out

    def summary(self) -> dict[str, Any]:
        """Headline numbers (also what tests assert on)."""
        p = self.progress
        return {"run_id": self.run_id, "status": self.status, "done": p.done,
                "total": p.total, "correct": p.correct, "tokens_out": p.tokens_out,
                "cost_usd": p.cost_usd}


_HANDLERS: dict[type, Any] = {
    PathStarted: RunState._on_path_started,
    TokenDelta: RunState._on_delta,
    PathFinished: RunState._on_path_finished,
    Voted: RunState._on_voted,
    RoundFinished: RunState._on_round,
    SampleScored: RunState._on_scored,
    RunFinished: RunState._on_finished,
}
