"""One event loop per widget tree, and a safe way to reach it from any thread.

Why: under ipykernel 7 with JupyterLab's default ``commsOverSubshells = perCommTarget``, a
widget's comm messages (a slider release, a button click, a tab switch) are handled on a
kernel *subshell* thread, which runs its own asyncio loop, while the cell that built the
widget ran on the main shell thread's loop; a comm's replies even hop between the two,
following whichever thread last published on it. ``asyncio.get_running_loop()`` inside an
observer therefore names whichever loop the message happened to land on. Scheduling there
(``call_later``, ``create_task``) and then waiting on a task of the *other* loop is a missed
wake-up: the done callback calls ``call_soon`` on a loop that sleeps in ``select`` and is not
woken until some unrelated message (a tab click) arrives on that thread. That is how the
Explorer sat "cancelled" for minutes.

The rule that fixes the class: a widget tree has one *home* loop (the one running where it
was built, normally the cell's), every widget callback is handed to that loop with
:meth:`HomeLoop.wrap` (``call_soon_threadsafe`` from a foreign thread, a direct call on the
home loop), and all tasks, timers and awaits live there. Nothing is created from the wrong
thread, so no wake-up can be missed.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def _running() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class HomeLoop:
    """The loop a widget tree's work lives on (captured when built, or on first use).

    Built outside any running loop (a plain script), the home is adopted from the first
    call made on a running loop; until then :attr:`loop` falls back to the thread's default
    loop, which is what ``asyncio.run``-free scripts use.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._loop = loop or _running()
        self.hops = 0  # callbacks that arrived on another thread and were handed over

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The home loop; adopts the caller's running loop if there is none yet (or the old
        one was closed, as between tests)."""
        current = _running()
        if self._loop is None or self._loop.is_closed():
            if current is None:
                current = asyncio.get_event_loop_policy().get_event_loop()
            self._loop = current
        return self._loop

    def here(self) -> bool:
        """True when the caller runs on the home loop's thread, inside that loop."""
        current = _running()
        if self._loop is None or self._loop.is_closed():
            return current is not None or threading.current_thread() is threading.main_thread()
        return current is self._loop or (current is None and not self._loop.is_running())

    def call(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` on the home loop: now if we are on it, else as soon as the
        home loop wakes (``call_soon_threadsafe`` writes to its self-pipe, so it does)."""
        if self.here():
            fn(*args)
            return
        self.hops += 1
        self.loop.call_soon_threadsafe(fn, *args)

    def wrap(self, fn: Callable[..., Any]) -> Callable[..., None]:
        """``fn`` as a callback that may be invoked from any thread (observers, on_click)."""
        def on_home(*args: Any) -> None:
            self.call(fn, *args)

        on_home.__name__ = getattr(fn, "__name__", "on_home")
        on_home.__doc__ = fn.__doc__
        return on_home

    def call_later(self, delay: float, fn: Callable[[], None]) -> asyncio.TimerHandle:
        """A timer on the home loop (callers are on it: every entry point is wrapped)."""
        return self.loop.call_later(delay, fn)
