"""The throttled widget sink: events in at token rate, redraws out at most 20 times a second.

Why: appending to a synced trait per token made 2,000 tokens take minutes to reach the
browser (field notes); batching every 50 ms took 0.1 s. So every event is folded into a
:class:`~widgets.state.RunState` at once (cheap), streaming text of the focused item is
buffered as deltas, and one flush per window hands the renderer (a) the set of stale views
and (b) the deltas, with the character offset each one starts at, so a front-end can drop
duplicates and detect gaps. The flush is *trailing*: the first event of a burst schedules
a flush one interval later, and flushes are at least one interval apart, so 1,000 deltas
spread over 0.5 s give at most 10-11 flushes and the concatenated text is exact.

The sink never blocks and never awaits: ``run`` calls it synchronously on the kernel's
event loop, and flushes are scheduled on that same loop with ``call_later``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from widgets.state import RunState
from workbench.events import Event, RunFinished, TokenDelta

log = logging.getLogger(__name__)

MAX_HZ = 20.0
INTERVAL_S = 1.0 / MAX_HZ

Delta = dict[str, Any]
"""One streaming chunk for the front-end: ``{"path": id, "offset": n, "text": s}``."""

Renderer = Callable[[RunState, set[str], list[Delta]], None]
"""Redraw the stale views (names from :meth:`RunState.apply`) and push the deltas."""


class Handle(Protocol):
    def cancel(self) -> None: ...


Scheduler = Callable[[float, Callable[[], None]], Handle]
"""``schedule(delay_s, fn)``: run ``fn`` later on the loop (``loop.call_later`` by default;
tests pass a fake clock to check the flush count deterministically)."""


@dataclass
class DeltaBuffer:
    """Pending streamed text per path, merged so one flush sends one chunk per path."""

    _pending: dict[str, tuple[int, list[str]]] = field(default_factory=dict)

    def add(self, path_id: str, offset: int, text: str) -> None:
        """Queue ``text`` that starts at character ``offset`` of path ``path_id``."""
        if not text:
            return
        entry = self._pending.get(path_id)
        if entry is None:
            self._pending[path_id] = (offset, [text])
        else:
            entry[1].append(text)

    def drain(self) -> list[Delta]:
        """Everything queued, one entry per path in first-queued order; empties the buffer."""
        out = [{"path": pid, "offset": off, "text": "".join(parts)}
               for pid, (off, parts) in self._pending.items()]
        self._pending.clear()
        return out

    def discard(self) -> None:
        self._pending.clear()

    def __len__(self) -> int:
        return len(self._pending)


def running_loop() -> asyncio.AbstractEventLoop:
    """The kernel's (or test's) running loop; widgets schedule work there, never block."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.get_event_loop_policy().get_event_loop()


def _call_later(delay: float, fn: Callable[[], None]) -> Handle:
    return running_loop().call_later(delay, fn)


class WidgetSink:
    """A run sink for widgets: fold events, buffer deltas, flush to ``render`` at <= 20 Hz.

    Only the focused item's streaming text is buffered (the paths view shows one item);
    other items' deltas still update the state, so switching focus redraws them in full.
    """

    def __init__(self, render: Renderer, *, interval: float = INTERVAL_S,
                 schedule: Scheduler | None = None) -> None:
        self.state = RunState()
        self.render = render
        self.buffer = DeltaBuffer()
        self.interval = interval
        self.schedule = schedule or _call_later
        self.stale: set[str] = set()
        self.flushes = 0
        self.render_error: str | None = None
        self._handle: Handle | None = None

    def __call__(self, event: Event) -> None:
        state = self.state
        if isinstance(event, TokenDelta) and event.run_id == state.run_id \
                and event.sample_id == state.focus:
            path = state.samples[event.sample_id].paths.get(event.path_id) \
                if event.sample_id in state.samples else None
            self.buffer.add(event.path_id, len(path.text) if path else 0, event.text)
        self.stale |= state.apply(event)
        if isinstance(event, RunFinished) and event.run_id == state.run_id:
            self.flush()
        elif self.stale or len(self.buffer):
            self._schedule()

    def feed(self, events: list[Event]) -> None:
        """Fold many events (a replay) and redraw once."""
        for event in events:
            self.stale |= self.state.apply(event)
        self.buffer.discard()
        self.flush()

    def _schedule(self) -> None:
        if self._handle is not None:
            return
        # Trailing window: a burst is gathered for one interval, and since the next window
        # opens only after this flush, flushes are always at least one interval apart.
        self._handle = self.schedule(self.interval, self._timer_flush)

    def _timer_flush(self) -> None:
        self._handle = None
        self.flush()

    def flush(self) -> None:
        """Redraw now: stale views and pending deltas (called by the timer or at run end)."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        deltas = self.buffer.drain()
        stale, self.stale = self.stale, set()
        self.flushes += 1
        try:
            self.render(self.state, stale, deltas)
        except Exception as exc:  # a drawing bug must not abort a long model run
            self.render_error = f"{type(exc).__name__}: {exc}"
            log.exception("widget render failed")

    def refocus(self, sample_id: str | None) -> None:
        """Show another item: its paths are redrawn in full, pending deltas are dropped."""
        self.state.set_focus(sample_id)
        self.buffer.discard()
        self.stale |= {"paths", "votes", "rounds"}
        self.flush()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
