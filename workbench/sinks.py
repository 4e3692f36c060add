"""Event consumers that are not storage: console progress and a summary tally.

Each sink is a plain callable taking one event; they never block on IO per token.
"""

from __future__ import annotations

import time
from typing import Any

from workbench.events import Event, PathFinished, RunFinished, RunStarted, SampleScored


class _RunTally:
    def __init__(self, task_id: Any) -> None:
        self.task_id = task_id
        self.t0 = time.perf_counter()
        self.tokens = 0
        self.correct = 0
        self.done = 0
        self.cost = 0.0


class ConsoleProgress:
    """Rich progress bars, one per run: samples done / total, accuracy so far, tokens/s,
    cost so far. Several runs may be in flight at once (sweeps)."""

    def __init__(self, console: Any = None, enabled: bool = True) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self.console = console or Console(stderr=True)
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(),
                                 TextColumn("{task.completed}/{task.total}"),
                                 TextColumn("{task.fields[stats]}"), TimeElapsedColumn(),
                                 console=self.console, transient=False, disable=not enabled)
        self.runs: dict[str, _RunTally] = {}

    def __call__(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            if not self.runs:
                self.progress.start()
            label = f"{event.technique} · {event.model} · {event.task}"
            self.runs[event.run_id] = _RunTally(
                self.progress.add_task(label, total=event.n_items, stats=""))
            return
        run = self.runs.get(event.run_id)
        if run is None:
            return
        if isinstance(event, PathFinished):
            run.tokens += event.tokens_out
            run.cost += event.cost_usd
        elif isinstance(event, SampleScored):
            run.done += 1
            run.correct += int(event.correct)
            rate = run.tokens / max(1e-9, time.perf_counter() - run.t0)
            stats = f"acc {run.correct / run.done:.0%} · {rate:.0f} tok/s · ${run.cost:.4f}"
            self.progress.update(run.task_id, advance=1, stats=stats)
        elif isinstance(event, RunFinished):
            self.runs.pop(event.run_id, None)
            if not self.runs:
                self.progress.stop()


class ListSink(list[Event]):
    """Collects every event; handy in tests and notebooks."""

    def __call__(self, event: Event) -> None:
        self.append(event)
