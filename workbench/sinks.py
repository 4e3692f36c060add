"""Event consumers that are not storage: console progress and a summary tally.

Each sink is a plain callable taking one event; they never block on IO per token.
"""

from __future__ import annotations

import time
from typing import Any

from workbench.events import Event, PathFinished, RunFinished, RunStarted, SampleScored


class ConsoleProgress:
    """A rich progress bar: samples done / total, accuracy so far, tokens/s, cost so far."""

    def __init__(self, console: Any = None, enabled: bool = True) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self.console = console or Console(stderr=True)
        self.enabled = enabled
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(),
                                 TextColumn("{task.completed}/{task.total}"),
                                 TextColumn("{task.fields[stats]}"), TimeElapsedColumn(),
                                 console=self.console, transient=False, disable=not enabled)
        self.task_id: Any = None
        self.t0 = time.perf_counter()
        self.tokens = 0
        self.correct = 0
        self.done = 0
        self.cost = 0.0

    def __call__(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self.t0 = time.perf_counter()
            self.progress.start()
            label = f"{event.technique} · {event.model} · {event.task}"
            self.task_id = self.progress.add_task(label, total=event.n_items, stats="")
        elif isinstance(event, PathFinished):
            self.tokens += event.tokens_out
            self.cost += event.cost_usd
        elif isinstance(event, SampleScored) and self.task_id is not None:
            self.done += 1
            self.correct += int(event.correct)
            rate = self.tokens / max(1e-9, time.perf_counter() - self.t0)
            stats = (f"acc {self.correct / self.done:.0%} · {rate:.0f} tok/s · "
                     f"${self.cost:.4f}")
            self.progress.update(self.task_id, advance=1, stats=stats)
        elif isinstance(event, RunFinished):
            self.progress.stop()


class ListSink(list[Event]):
    """Collects every event; handy in tests and notebooks."""

    def __call__(self, event: Event) -> None:
        self.append(event)
