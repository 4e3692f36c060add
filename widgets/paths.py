"""Live reasoning paths: N generations of one item side by side, streaming.

Why an anywidget with two channels: the card list (``paths``, small) is a synced trait
redrawn at flush rate; the streamed text goes as delta *messages* (only new characters,
with their offset) at <= 20 Hz; the full texts (``texts``, large) are synced when a run
ends or another item is shown, when a text changed other than by deltas (a final text
that differs from the stream), and when a front-end asks for it. Messages sent before the
widget is displayed are lost, so a late-displayed or re-rendered view starts from
``texts``; the offsets let it ignore text it already has and notice a gap, and on a gap
it sends ``{"type": "resync"}``. There is no periodic full re-sync while streaming: with
16 long paths it re-sent every text twice a second, O(text) per sync for nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from widgets.homeloop import HomeLoop
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
"""While streaming, full ``texts`` syncs (a changed final text, a resync request) are at
least this far apart."""

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

    def __init__(self, *, home: HomeLoop | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.add_class("wb-paths-widget")
        self._texts_at = 0.0
        self._texts_dirty = False
        self._shown: tuple[str | None, str | None] = (None, None)
        self._front: dict[str, int] = {}  # per path: chars a front-end holds (texts + deltas)
        self._state: RunState | None = None
        self.clock: Callable[[], float] = time.monotonic  # tests pass a fake clock
        self.messages_sent = 0
        self.texts_syncs = 0
        self.on_msg((home or HomeLoop()).wrap(self._on_front_msg))  # any thread -> home

    def update(self, state: RunState, stale: set[str], deltas: list[Delta]) -> None:
        """Apply one flush: cards if stale, deltas as one message, full texts when needed."""
        self._state = state
        if "paths" in stale:
            self.header = header_text(state)
            self.paths = path_cards(state.focused)
        if deltas:
            self.send({"type": "deltas", "items": deltas})
            self.messages_sent += 1
            for d in deltas:
                self._front[d["path"]] = d["offset"] + len(d["text"])
        shown = (state.run_id, state.focus)
        if state.status != "running" or shown != self._shown:  # run end, new item
            self._shown = shown
            self._sync_texts(state)
            return
        sample = state.focused
        self._texts_dirty |= sample is not None and any(
            len(p.text) != self._front.get(pid, 0) for pid, p in sample.paths.items())
        if self._texts_dirty and self.clock() - self._texts_at >= TEXTS_INTERVAL_S:
            self._sync_texts(state)

    def _sync_texts(self, state: RunState) -> None:
        texts = texts_of(state.focused)
        if texts != self.texts:
            self.texts = texts
            self.texts_syncs += 1
        self._front = {pid: len(t) for pid, t in texts.items()}
        self._texts_at, self._texts_dirty = self.clock(), False

    def _on_front_msg(self, _widget: Any, content: Any, _buffers: Any) -> None:
        """A front-end saw a gap (it was displayed late, or lost a message): resend all."""
        if not isinstance(content, dict) or content.get("type") != "resync":
            return
        self._texts_dirty = True
        if self._state is not None and self._state.status != "running":
            self._sync_texts(self._state)  # no flush is coming: answer now


def texts_of(sample: SampleView | None) -> dict[str, str]:
    return {pid: p.text for pid, p in sample.paths.items()} if sample else {}
