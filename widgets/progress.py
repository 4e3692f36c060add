"""Progress: samples done / total, accuracy so far, tokens/s, cost so far, and Stop."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as W

from widgets.state import RunState
from workbench.htmltext import Markup, escape, html

STATUS_ICONS = {"running": "", "ok": "✓", "partial": "◐", "failed": "✗", "cancelled": "■",
                "error": "⚠", "interrupted": "■", "idle": ""}
"""Marks before the status word; "running" has none (the word says it: "⏳" drew an empty
box in JupyterLab's default fonts)."""
BAR_STYLES = {"ok": "success", "partial": "warning", "failed": "danger", "error": "danger",
              "cancelled": "warning"}


def progress_text(state: RunState, now: float | None = None) -> Markup:
    """The one-line status under the controls (pure; ``now`` is a monotonic time)."""
    p = state.progress
    if state.status == "idle":
        return Markup("Idle.")
    acc = f" · acc {p.correct / p.done:.0%}" if p.done else ""
    icon = STATUS_ICONS.get(state.status, "")
    where = f" · {state.started.technique} · {state.started.model}" if state.started else ""
    text = (f"{icon + ' ' if icon else ''}{state.status}{where} · {p.done}/{p.total} samples{acc} · "
            f"{p.tokens_out:,} tokens · {p.tokens_per_s(now):.1f} tok/s · ${p.cost_usd:.4f}")
    if state.error:
        text += f" · {state.error}"
    return escape(text)


class ProgressView(W.VBox):
    """Bar + status line + Stop button; ``on_stop`` is called when Stop is pressed."""

    def __init__(self, on_stop: Callable[[], None] | None = None, **kwargs: Any) -> None:
        self.bar = W.IntProgress(value=0, min=0, max=1, layout=W.Layout(width="50%"))
        self.bar.add_class("wb-progress")
        self.label = W.HTML("Idle.")
        self.label.add_class("wb-progress-label")
        self.stop_button = W.Button(description="Stop", icon="stop", button_style="",
                                    disabled=True, tooltip="Cancel the run in flight")
        self.stop_button.add_class("wb-stop-button")
        self.error = W.HTML("")
        self.error.add_class("wb-error")
        self._on_stop = on_stop
        self.stop_button.on_click(lambda _b: self._on_stop() if self._on_stop else None)
        super().__init__([W.HBox([self.bar, self.stop_button]), self.label, self.error],
                         **kwargs)
        self.add_class("wb-progress-panel")

    def update(self, state: RunState) -> None:
        p = state.progress
        self.bar.max = max(1, p.total)
        self.bar.value = min(p.done, self.bar.max)
        self.bar.bar_style = BAR_STYLES.get(state.status, "info")
        self.label.value = progress_text(state)
        running = state.status == "running"
        self.stop_button.disabled = not running
        self.stop_button.button_style = "danger" if running else ""  # red only when it acts

    def show_error(self, message: str) -> None:
        """A user-facing error (WorkbenchError text) in red under the bar; '' clears it."""
        self.error.value = (html('<span style="color:#d62728">{}</span>', message)
                            if message else "")
