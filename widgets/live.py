"""One run, live: item picker, progress, paths, vote chart and refinement diff on one sink.

The Explorer shows its runs here and the trace browser opens stored runs in another one;
both are driven the same way, by events through :class:`~widgets.sink.WidgetSink`
(``view.sink`` is a run sink; ``view.show(events)`` folds a finished list such as a replay).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as W

from widgets.diff import RefinementView
from widgets.homeloop import HomeLoop
from widgets.paths import PathsView
from widgets.progress import ProgressView
from widgets.sink import Delta, WidgetSink
from widgets.state import RunState
from widgets.tree import TreeView
from widgets.votes import VoteChart
from workbench.events import Event

Listener = Callable[[RunState, set[str]], None]


class LiveView(W.VBox):
    """Progress, paths of the focused item, its votes and its refinement rounds."""

    def __init__(self, on_stop: Callable[[], None] | None = None, *, progress: bool = True,
                 home: HomeLoop | None = None, **kwargs: Any) -> None:
        self.home = home or HomeLoop()
        self.picker = W.Dropdown(options=[], description="item",
                                 layout=W.Layout(width="260px"))
        self.picker.add_class("wb-sample-picker")
        self.progress = ProgressView(on_stop=on_stop)
        self.paths = PathsView(home=self.home)
        self.tree = TreeView()  # shown only for techniques the registry draws as a tree
        self.votes = VoteChart(layout=W.Layout(width="440px", max_width="100%",
                                               flex="0 0 auto"))
        self.rounds = RefinementView()
        self.sink = WidgetSink(self._render, schedule=self.home.call_later)
        self.listeners: list[Listener] = []
        self._syncing = False
        self.picker.observe(self.home.wrap(self._on_pick), names="value")
        top = [self.progress] if progress else []
        super().__init__([*top, self.picker, self.tree, self.paths, self.votes, self.rounds],
                         **kwargs)
        self.add_class("wb-live")

    @property
    def state(self) -> RunState:
        return self.sink.state

    def show(self, events: Sequence[Event], focus: str | None = None) -> None:
        """Fold a finished event list (replay, instant recompute) and redraw once."""
        self.sink.feed(list(events))
        if focus is not None:
            self.sink.refocus(focus)

    def _render(self, state: RunState, stale: set[str], deltas: list[Delta]) -> None:
        self.paths.update(state, stale, deltas)
        self.tree.update(state, stale, deltas)
        if "votes" in stale:
            self.votes.update(state.focused)
        if stale & {"rounds", "samples"}:  # the verifier's tally spans every item
            self.rounds.update(state.focused, state.samples.values())
        if "progress" in stale:
            self.progress.update(state)
        if "samples" in stale:
            self._sync_picker(state)
        for listener in self.listeners:
            listener(state, stale)

    def _sync_picker(self, state: RunState) -> None:
        options = state.sample_options()
        if options == list(self.picker.options) and self.picker.value == state.focus:
            return
        self._syncing = True
        try:
            self.picker.options = options
            self.picker.value = state.focus if options else None
        finally:
            self._syncing = False

    def _on_pick(self, change: dict[str, Any]) -> None:
        if not self._syncing and change["new"] is not None:
            self.sink.refocus(change["new"])
