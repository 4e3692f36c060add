"""Live reasoning paths: N generations of one item side by side, streaming.

Why an anywidget with two channels: the card list (``paths``, small) is a synced trait
redrawn at flush rate; the streamed text goes as delta *messages* (only new characters,
with their offset) at <= 20 Hz; the full texts (``texts``, large) are re-synced on a slow
cadence and at the end. Messages sent before the widget is displayed are lost, so the
slow trait is what makes a late-displayed or re-rendered widget complete; the offsets let
the front-end ignore text it already has and notice gaps.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from widgets.sink import Delta
from widgets.state import (
    CHILD_ROLES,
    NO_ANSWER_COLOR,
    PathView,
    RunState,
    SampleView,
    answer_colors,
)

STATIC = Path(__file__).parent / "static"
TEXTS_INTERVAL_S = 0.5
"""How often the full texts trait is re-synced while streaming (deltas fill the gaps)."""

BADGES = {"running": "…", "truncated": "✂ truncated", "stopped": "■ stopped",
          "error": "⚠ error"}


def badge(sample: SampleView, path: PathView) -> str:
    """What the card's status corner says."""
    if path.status != "done" or path.role in CHILD_ROLES | {"critique"}:
        text = BADGES.get(path.status, "done")
        if path.score is not None:
            text = f"score {path.score:.1f}"
        return text
    correct = sample.outcome_correct(path)
    return "✓ correct" if correct else ("✗ wrong" if correct is False else "no answer")


def path_cards(sample: SampleView | None) -> list[dict[str, Any]]:
    """The card metadata for one item (JSON-ready; no text, that streams separately)."""
    if sample is None:
        return []
    outcomes = {pid: sample.outcome_answer(p) for pid, p in sample.paths.items()}
    colors = answer_colors([outcomes[pid] for pid, p in sample.paths.items()
                            if p.role in ("path", "direct", "refine")])
    cards = []
    for pid, p in sample.paths.items():
        answer = outcomes[pid] if p.role not in ("critique", "verify") else None
        label = f"#{p.index} {p.role}" + (f" r{p.round}" if p.round else "")
        cards.append({
            "id": pid, "parent": p.parent_id, "role": p.role, "index": p.index,
            "round": p.round, "label": label, "answer": answer,
            "correct": sample.outcome_correct(p) if answer is not None else None,
            "truncated": p.truncated, "status": p.status, "badge": badge(sample, p),
            "color": colors.get(answer, NO_ANSWER_COLOR) if answer else NO_ANSWER_COLOR,
            "tokens": p.tokens_out,
        })
    return cards


def header_text(state: RunState) -> str:
    """One line above the cards: item, gold, final answer, adaptive stopping."""
    s = state.focused
    if s is None:
        return "No paths yet: press Run." if state.status == "idle" else "Waiting for paths…"
    parts = [f"item {s.item_index}" if s.item_index is not None else "item",
             f"{sum(1 for p in s.paths.values() if p.role in ('path', 'direct'))} paths"]
    if s.gold:
        parts.append(f"gold {s.gold}")
    if s.scored:
        parts.append(f"answer {s.answer} {'✓' if s.correct else '✗'}")
    if s.vote is not None and s.vote.stopped_early:
        parts.append(f"stopped early after {s.vote.n_paths} "
                     f"(saved {s.vote.samples_saved} paths, ~{s.vote.tokens_saved_est} tokens)")
    return " · ".join(parts)


class PathsView(anywidget.AnyWidget):
    """The N paths of the focused item. Call :meth:`update` from the sink's renderer."""

    _esm = STATIC / "paths.js"
    _css = STATIC / "paths.css"
    paths = traitlets.List(traitlets.Dict()).tag(sync=True)
    texts = traitlets.Dict().tag(sync=True)
    header = traitlets.Unicode("").tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.add_class("wb-paths-widget")
        self._texts_at = 0.0
        self._texts_dirty = False
        self._shown: tuple[str | None, str | None] = (None, None)
        self.messages_sent = 0

    def update(self, state: RunState, stale: set[str], deltas: list[Delta]) -> None:
        """Apply one flush: cards if stale, deltas as one message, texts on a slow cadence."""
        full = "paths" in stale
        if full:
            self.header = header_text(state)
            self.paths = path_cards(state.focused)
        if deltas:
            self.send({"type": "deltas", "items": deltas})
            self.messages_sent += 1
        self._texts_dirty |= bool(deltas) or full
        now = time.monotonic()
        shown = (state.run_id, state.focus)
        urgent = state.status != "running" or shown != self._shown  # run end, new item
        if self._texts_dirty and (urgent or now - self._texts_at >= TEXTS_INTERVAL_S):
            self._shown = shown
            self.texts = texts_of(state.focused)
            self._texts_at, self._texts_dirty = now, False


def texts_of(sample: SampleView | None) -> dict[str, str]:
    return {pid: p.text for pid, p in sample.paths.items()} if sample else {}
