"""The whole workbench in one displayable widget.

One path through it: a control is released -> after a 300 ms debounce the controls become
a RunSpec (pure) -> if stored paths already answer it (SC@k, k <= N stored) the result is
rebuilt from the store and shown with no model call -> otherwise the in-flight run is
cancelled and ``run(spec, backend, sinks)`` is scheduled as a task on the kernel's running
loop (never ``asyncio.run``: the kernel stays responsive) -> events reach the live view
through the throttled sink and the DuckDB recorder.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets as W
import polars as pl

from widgets.browser import TraceBrowser
from widgets.compare import CompareView
from widgets.controls import Controls, difficulty_of, pick_items, spec_from_values
from widgets.homeloop import HomeLoop
from widgets.live import LiveView
from widgets.prompt_lab import PromptLab
from widgets.recompute import instant_events, instant_note, why_not
from widgets.remember import open_store, title_html
from widgets.scaling import ScalingView, stored_points
from widgets.snapshot import snapshot_html
from widgets.state import RunState
from workbench.backends.base import Backend
from workbench.errors import WorkbenchError
from workbench.events import Event
from workbench.htmltext import html
from workbench.runner import RunResult, RunSpec, Sink, build_technique, check_spec, run
from workbench.tasks.base import Task

if TYPE_CHECKING:
    from workbench.store.store import Store

DEBOUNCE_S = 0.3
PREVIOUS_GRACE_S = 0.5
"""How long a replacement run waits for the cancelled one to unwind before it starts anyway
(its events are ignored by the live view's fold, which follows the newest RunStarted)."""


def resolve_task(task: str | Task) -> Task:
    """A task object from a name (``get_task``) or the object itself."""
    if isinstance(task, str):
        from workbench.tasks import get_task

        return get_task(task)
    return task


async def _await_on_own_loop(task: asyncio.Task[Any]) -> None:
    """Wait for ``task`` to end without ever calling into its loop from another thread."""
    if task.get_loop() is asyncio.get_running_loop():
        await asyncio.wait([task])
        return

    async def ended() -> None:
        await asyncio.wait([task])

    await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(ended(), task.get_loop()))


class Explorer(W.VBox):
    """Controls, live paths / votes / refinement, prompt lab, trace browser, scaling, compare.

    ``backend`` injects a backend (a ScriptedBackend in tests; ``"demo"`` for the scripted
    no-model demo of :mod:`widgets.demo`); with None the
    backend comes from ``workbench.api.models_backend`` (which starts the local model server, in
    a worker thread so the kernel never blocks). Every run is recorded, which feeds the
    trace browser, replay and instant recompute: into ``db`` if given, else into the CLI's
    default file (``$WORKBENCH_DB`` or ``./traces.duckdb``, see :mod:`widgets.remember`);
    ``db=":memory:"`` keeps nothing after the kernel ends.
    """

    def __init__(self, task: str | Task = "arithmetic", model: str = "local",
                 db: str | Path | None = None, backend: Backend | str | None = None,
                 verifier: str | None = None, *, store: Store | None = None,
                 debounce_s: float = DEBOUNCE_S) -> None:
        self.home = HomeLoop()  # every callback below is handed to this loop (widgets.homeloop)
        self.task = resolve_task(task)
        self.task_name = str(self.task.name)
        self.remembered = open_store(db, store)
        self.store, self._own_store = self.remembered.store, self.remembered.own
        self.recorder = self._make_recorder()
        self.backend = self._demo(backend)
        self._backends: dict[tuple[str, str | None], tuple[Backend, dict[str, float]]] = {}
        self.debounce_s = debounce_s
        self._task: asyncio.Task[RunResult | None] | None = None
        self._pending: asyncio.TimerHandle | None = None
        self.problems = self.task.load(None, 0)
        levels = sorted({d for p in self.problems if (d := difficulty_of(p)) is not None})
        self.controls = Controls(model=model, verifier=verifier, difficulties=levels)
        self.controls.start.max = max(0, len(self.problems) - 1)
        self.live = LiveView(on_stop=self.home.wrap(self.cancel), home=self.home)
        self.live.add_class("wb-main")
        self.scaling = ScalingView()
        self.lab = PromptLab(self.spec, self.execute, home=self.home)
        self.browser = TraceBrowser(self.store, task=self.task_name, home=self.home)
        self.compare_view = CompareView(self.store, task=self.task_name, home=self.home)
        self.status = W.HTML("")
        self.status.add_class("wb-status")
        self.tabs = W.Tab([self.live, self.lab, self.browser, self.scaling, self.compare_view],
                          titles=["Live", "Prompt lab", "Traces", "Scaling", "Compare"])
        title = W.HTML(title_html(self.task_name, len(self.problems), self.remembered))
        title.add_class("wb-title")
        super().__init__([title, self.controls, self.status, self.tabs])
        self.add_class("wb-explorer")
        self.controls.on_change(self.home.wrap(self._debounce))
        self.controls.run_button.on_click(self.home.wrap(lambda _b: self.start()))
        self.live.listeners.append(self._on_live)
        self.refresh_stored()
        self.show_last()

    # ---- setup ---------------------------------------------------------------------
    def _make_recorder(self) -> Sink | None:
        if self.store is None:
            return None
        from workbench.store.recorder import Recorder

        return Recorder(self.store)

    def _demo(self, backend: Backend | str | None) -> Backend | None:
        """``backend="demo"``: the scripted no-model backend (widgets.demo)."""
        if not isinstance(backend, str):
            return backend
        if backend != "demo":
            raise WorkbenchError(f'backend must be a Backend object, None or "demo" (got '
                                 f"{backend!r}); pick models with model=... instead.")
        from widgets.demo import demo_backend

        return demo_backend(self.task)

    async def _backend_for(self, spec: RunSpec) -> tuple[Backend, dict[str, float]]:
        if self.backend is not None:
            return self.backend, {}
        key = (spec.model, spec.effective_verifier())
        if key not in self._backends:
            from workbench.api import models_backend

            self._backends[key] = await asyncio.to_thread(models_backend, spec)
        return self._backends[key]

    # ---- what to run ---------------------------------------------------------------
    def wrong_items(self, model: str | None = None) -> list[int]:
        """Items some stored run of this task and model got wrong (for "random wrong")."""
        if self.store is None:
            return []
        model = model or self.controls.model.value
        return self.store.wrong_items(self.task_name, model)

    def spec(self) -> RunSpec:
        """The RunSpec the controls describe right now."""
        v = self.controls.values()
        wrong = self.wrong_items(v["model"]) if v["mode"] == "random wrong" else []
        items = pick_items(v["mode"], self.problems, start=v["start"], count=v["count"],
                           difficulty=v["difficulty"], wrong=wrong, seed=v["seed"])
        return spec_from_values(v, self.task_name, items)

    # ---- running -------------------------------------------------------------------
    async def execute(self, spec: RunSpec, sinks: Sequence[Sink]) -> RunResult:
        """Run ``spec`` into ``sinks`` and the store (used by the live view and the lab)."""
        check_spec(spec)  # bad knobs fail before a model server starts
        technique = build_technique(spec)  # built once, handed to run()
        backend, params = await self._backend_for(spec)
        all_sinks = [*sinks, *([self.recorder] if self.recorder else [])]
        return await run(spec, backend, all_sinks, task=self.task, params_count=params,
                         technique=technique)

    def start(self, spec: RunSpec | None = None) -> asyncio.Task[RunResult | None]:
        """Cancel the run in flight and schedule ``spec`` (default: the controls') on the
        Explorer's home loop; returns the task (await it, or let it run in the background).

        Called from another thread (a widget callback on a kernel subshell), use
        :meth:`start_threadsafe` instead: a task must be created by its own loop."""
        if not self.home.here():
            raise WorkbenchError("Explorer.start was called off the Explorer's event loop; "
                                 "use start_threadsafe() from other threads.")
        if spec is None:  # the controls' spec now: a debounce still pending is superseded
            self._cancel_pending()
        try:
            spec = spec or self.spec()
        except WorkbenchError as exc:
            self.live.progress.show_error(str(exc))
            raise
        previous = self._task
        if previous is not None and not previous.done():
            previous.cancel()
        self.live.progress.show_error("")
        self.status.value = ""
        self._task = self.home.loop.create_task(self._run(spec, previous))
        self._task.add_done_callback(self._on_done)
        return self._task

    def start_threadsafe(self, spec: RunSpec | None = None
                         ) -> concurrent.futures.Future[RunResult | None]:
        """:meth:`start` from any thread: handed to the home loop, a future of the result."""
        async def started() -> RunResult | None:
            return await self.start(spec)

        return asyncio.run_coroutine_threadsafe(started(), self.home.loop)

    async def _run(self, spec: RunSpec, previous: asyncio.Task[Any] | None
                   ) -> RunResult | None:
        if previous is not None and previous.get_loop() is asyncio.get_running_loop():
            # its RunFinished lands before our RunStarted; a run slow to unwind is not
            # waited for beyond the grace (the fold follows the newest RunStarted)
            await asyncio.wait([previous], timeout=PREVIOUS_GRACE_S)
        return await self.execute(spec, [self.live.sink])

    def cancel(self) -> None:
        """Stop: cancel the pending debounce and the run in flight (partial traces stay)."""
        self._cancel_pending()
        if self._task is not None and not self._task.done():
            self._task.cancel()
        self.lab.cancel()

    async def wait(self) -> RunResult | None:
        """Await until the Explorer settles: a pending debounce has fired and the run in
        flight (or the one that replaced it) ended. None if there is none or it was
        cancelled. Safe from another loop too (the task is awaited on its own loop)."""
        while True:
            if self._pending is not None:
                await asyncio.sleep(min(0.05, self.debounce_s))
                continue
            task = self._task
            if task is None:
                return None
            if not task.done():
                await _await_on_own_loop(task)
                continue
            return None if task.cancelled() or task.exception() else task.result()

    def _on_done(self, task: asyncio.Task[Any]) -> None:
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            msg = str(exc) if isinstance(exc, WorkbenchError) else f"{type(exc).__name__}: {exc}"
            self.live.progress.show_error(msg)
        self.refresh_stored()

    # ---- debounce and instant recompute --------------------------------------------
    def _cancel_pending(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None

    def _debounce(self) -> None:
        """A control changed (on the home loop: the observer is wrapped); settle later."""
        self._cancel_pending()
        self._pending = self.home.call_later(self.debounce_s, self._settled)

    def _settled(self) -> None:
        self._pending = None
        try:
            spec = self.spec()
        except WorkbenchError as exc:
            self.live.progress.show_error(str(exc))
            return
        if self.try_instant(spec):
            return
        if self.controls.auto_run.value:
            self.start(spec)
            if self.store is not None:
                self.status.value = html('<span class="wb-not-instant">{}</span>',
                                         why_not(spec))

    def try_instant(self, spec: RunSpec) -> bool:
        """Show ``spec``'s result from stored paths if the store can answer it (no model)."""
        if self.store is None:
            return False
        events = instant_events(self.store, spec, self.task_name, self.task.same)
        if events is None:
            return False
        if self._task is not None and not self._task.done():
            self._task.cancel()
        self.live.show(events)
        self.status.value = html('<span class="wb-instant">{}</span>', instant_note(spec, events))
        return True

    # ---- stored runs ---------------------------------------------------------------
    def replay(self, run_id: str) -> list[Event]:
        """Show stored run ``run_id`` in the live view, exactly as it streamed (no model)."""
        if self.store is None:
            raise WorkbenchError("This Explorer has no store; create it with db=PATH to "
                                 "replay stored runs.")
        from workbench.store.replay import replay

        self.cancel()
        events = replay(self.store, run_id)
        self.live.show(events)
        self.status.value = html('<span class="wb-replayed">Replayed stored run '
                                 "<code>{}</code> (no model call)</span>", run_id)
        return events

    def resume(self, run_id: str) -> asyncio.Task[RunResult | None]:
        """Run only the missing items of stored run ``run_id`` (killed, cancelled or
        stopped by a fatal error) into the live view and the store; returns the task."""
        if self.store is None:
            raise WorkbenchError("This Explorer has no store; create it with db=PATH to "
                                 "resume stored runs.")
        if not self.home.here():
            raise WorkbenchError("Explorer.resume was called off the Explorer's event loop.")
        from workbench.resume import resume_run_async

        previous = self._task
        self.cancel()

        async def go() -> RunResult | None:
            if previous is not None:
                await asyncio.wait([previous])
            return await resume_run_async(run_id, store=self.store, backend=self.backend,
                                          sinks=[self.live.sink], task=self.task,
                                          recorder=self.recorder)

        self._task = self.home.loop.create_task(go())
        self._task.add_done_callback(self._on_done)
        return self._task

    def show_last(self) -> str | None:
        """Redraw the newest stored run of this task and model from the trace file (no model
        call): why a notebook reopened after a kernel restart shows its last result as soon
        as its cell runs, whatever JupyterLab's widget-state setting. Returns the run id."""
        if self.store is None:
            return None
        run_id = self.store.latest_run(self.task_name, self.controls.model.value)
        if run_id is None:
            return None
        try:
            self.replay(run_id)
        except WorkbenchError as exc:  # a damaged run must not stop the Explorer opening
            self.status.value = html("<span>{}</span>", str(exc))
            return None
        self.status.value = html(
            '<span class="wb-replayed">Last stored run <code>{}</code> redrawn from the trace '
            "file (no model call); move a control to run.</span>", run_id)
        return run_id

    def refresh_stored(self) -> None:
        """Redraw the parts that read the store: stored runs in the scaling view, the
        trace browser's runs table and the Compare pickers."""
        if self.store is None:
            return
        self.browser.refresh()
        self.compare_view.refresh()
        self.scaling.set_runs(stored_points(self.store, self.task_name,
                                            self.controls.model.value or None))

    def _on_live(self, state: RunState, stale: set[str]) -> None:
        if "scaling" in stale:
            self.scaling.update_live(state.scored)
        if "progress" in stale and state.status != "running":
            self._update_snapshot(state)

    # ---- the static snapshot saved in the notebook (widgets.snapshot) ----------------
    def snapshot(self) -> str:
        """The static HTML of what the Explorer shows now (saved beside the widget)."""
        return snapshot_html(self.state, self.remembered.where)

    def _ipython_display_(self) -> None:
        """Display the live widget and, as a second output, its static snapshot."""
        from IPython.display import HTML, display

        display(self._repr_mimebundle_(), raw=True)
        self._snapshot = display(HTML(self.snapshot()), display_id=True)
        self._snapshot_key = self._state_key(self.state)

    @staticmethod
    def _state_key(state: RunState) -> tuple[Any, ...]:
        return (state.run_id, state.status, state.progress.done, state.focus)

    def _update_snapshot(self, state: RunState) -> None:
        handle = getattr(self, "_snapshot", None)
        key = self._state_key(state)
        if handle is None or key == getattr(self, "_snapshot_key", None):
            return
        from IPython.display import HTML

        self._snapshot_key = key
        handle.update(HTML(self.snapshot()))

    @property
    def state(self) -> RunState:
        """The live view's folded run state (what is on screen)."""
        return self.live.state

    @property
    def frame(self) -> pl.DataFrame:
        """The trace browser's current table as a polars DataFrame."""
        return self.browser.frame

    def close(self) -> None:
        """Cancel work, close the widgets and the store this Explorer opened."""
        self.cancel()
        self.live.sink.close()
        if self._own_store and self.store is not None:
            self.store.close()
        super().close()
