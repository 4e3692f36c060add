"""The Explorer when widget callbacks arrive on another thread's event loop.

Why: with JupyterLab's default ``commsOverSubshells`` ipykernel 7 handles a widget's comm
messages on a subshell thread that runs its *own* asyncio loop, while the Explorer was
built (and its first run started) on the cell's loop. Before the home-loop rule, a slider
released there scheduled the debounced replacement run on the subshell loop, which then
waited on a task of the main loop and was never woken: the Explorer hung "cancelled". A
:class:`ForeignLoop` below is that subshell: a thread running a loop that sleeps in
``select`` with nothing else to do, so a missed wake-up shows as a timeout, not as luck.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import pytest
from widget_toys import toy_script

from widgets.explorer import Explorer
from widgets.homeloop import HomeLoop
from workbench.backends.scripted import ScriptedBackend
from workbench.runner import RunSpec

SLOW = RunSpec(task="toy", technique="sc", model="toy-model", n=4, items=(1, 2), seed=3)


class ForeignLoop:
    """A thread with its own running event loop (a kernel subshell stand-in)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> ForeignLoop:
        self.thread.start()
        return self

    def __exit__(self, *_exc: Any) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()

    def run(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` inside the foreign loop (as a comm handler would) and return its value."""
        done = threading.Event()
        out: dict[str, Any] = {}

        def call() -> None:
            try:
                out["value"] = fn()
            except BaseException as exc:  # noqa: BLE001 - re-raised on the caller's thread
                out["error"] = exc
            finally:
                done.set()

        self.loop.call_soon_threadsafe(call)
        assert done.wait(5), "the foreign loop did not run the callback"
        if "error" in out:
            raise out["error"]
        return out.get("value")


@pytest.fixture
def foreign() -> Iterator[ForeignLoop]:
    with ForeignLoop() as f:
        yield f


def slow_explorer(toy_task: Any, store: Any, words: int = 300) -> Explorer:
    backend = ScriptedBackend(toy_script(words=words), delay_s=0.005)
    ex = Explorer(task=toy_task, model="toy-model", backend=backend, store=store,
                  debounce_s=0.05)
    ex.controls.technique.value = "cot"
    return ex


async def settled_budget(ex: Explorer, timeout: float) -> tuple[float, Any]:
    """Wait until the live view shows a RunStarted; return (seconds, its budget)."""
    t0 = time.monotonic()
    await asyncio.sleep(0.01)  # the handed-over callback runs on the next loop iteration
    result = await asyncio.wait_for(ex.wait(), timeout)
    started = ex.state.started
    assert started is not None
    return time.monotonic() - t0, (result, started.params["budget_tokens"])


async def test_slider_changes_from_a_subshell_thread_start_the_latest_run(
        toy_task, store, foreign) -> None:
    ex = slow_explorer(toy_task, store)
    first = ex.start(SLOW)  # started from the cell, on the home loop
    await asyncio.sleep(0.2)
    assert ex.state.status == "running"
    for budget in (192, 320, 448):  # slider releases handled on the subshell thread
        foreign.run(lambda b=budget: setattr(ex.controls.budget, "value", b))
        await asyncio.sleep(0.02)
    last_change = time.monotonic()
    waited, (result, budget) = await settled_budget(ex, timeout=30)
    assert first.cancelled()
    assert result is not None and result.status == "ok"
    assert budget == 448 and ex.state.status == "ok"
    assert ex.home.hops >= 3  # the callbacks really arrived off the home loop
    assert ex.state.progress.started - last_change < 1.0 + ex.debounce_s
    assert store.runs().filter(budget_tokens=448)["status"].to_list() == ["ok"]


def action(ex: Explorer, kind: str, budget: int, step: int) -> Callable[[], Any]:
    """What a user does: release a slider, click Run or Stop, switch tabs."""
    if kind == "slider":
        return partial(setattr, ex.controls.budget, "value", budget)
    if kind == "run":
        return ex.controls.run_button.click
    if kind == "stop":
        return ex.live.progress.stop_button.click
    return partial(setattr, ex.tabs, "selected_index", step % 4)


async def test_random_mix_of_changes_runs_cancels_from_two_threads_never_hangs(
        toy_task, store, foreign) -> None:
    ex = slow_explorer(toy_task, store, words=60)
    rng = random.Random(12)
    budgets = [128, 192, 256, 320, 384, 448, 512]
    latest = 256
    ex.controls.budget.value = latest
    for step in range(40):
        kind = rng.choice(["slider", "slider", "run", "stop", "tab"])
        if kind == "slider":
            latest = rng.choice([b for b in budgets if b != latest])
        act = action(ex, kind, latest, step)
        if rng.random() < 0.6:
            foreign.run(act)
        else:
            act()
        await asyncio.sleep(rng.choice([0.0, 0.01, 0.03, 0.08]))
    # the final word: a slider release on the subshell thread
    latest = 640
    foreign.run(lambda: setattr(ex.controls.budget, "value", latest))
    last_change = time.monotonic()
    _, (result, budget) = await settled_budget(ex, timeout=30)
    assert budget == latest and result is not None and result.status == "ok"
    assert ex.state.progress.started - last_change < 1.0 + ex.debounce_s
    assert ex.state.status == "ok" and ex.home.hops > 0


async def test_start_off_the_home_loop_is_refused_and_threadsafe_start_runs(
        toy_task, store, foreign) -> None:
    ex = slow_explorer(toy_task, store, words=4)
    ex.controls.auto_run.value = False  # only the starts below run
    with pytest.raises(Exception, match="start_threadsafe"):
        foreign.run(lambda: ex.start(SLOW))
    future = foreign.run(lambda: ex.start_threadsafe(SLOW))
    result = await asyncio.wait_for(asyncio.wrap_future(future), 20)
    assert result is not None and result.status == "ok"


async def test_home_loop_hands_foreign_calls_to_the_home_thread(foreign) -> None:
    home = HomeLoop()
    seen: list[str] = []
    here = threading.current_thread().name
    foreign.run(lambda: home.wrap(lambda x: seen.append(
        f"{x}:{threading.current_thread().name == here}"))("a"))
    home.wrap(lambda x: seen.append(f"{x}:{threading.current_thread().name == here}"))("b")
    await asyncio.sleep(0.05)
    assert seen == ["b:True", "a:True"] and home.hops == 1
