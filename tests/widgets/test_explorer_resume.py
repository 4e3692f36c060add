"""``Explorer.resume(run_id)``: the missing items of a stored run stream into the view."""

from __future__ import annotations

from widgets.explorer import Explorer
from workbench.backends.scripted import ScriptedBackend
from workbench.runner import RunSpec


async def test_resume_from_the_explorer(toy_task, scripted, store) -> None:
    from test_resume import partial_run

    spec = RunSpec(task="toy", technique="cot", model="toy-model", limit=4, concurrency=1)
    run_id = await partial_run(spec, store, stop_after=2, task=toy_task)
    backend = ScriptedBackend(scripted.script)
    ex = Explorer(task=toy_task, model="toy-model", backend=backend, store=store)
    ex.controls.auto_run.value = False
    result = await ex.resume(run_id)
    assert result is not None and result.run_id == run_id and result.n_samples == 2
    assert backend.call_count == 2
    assert sorted(store.samples(run_id)["item_index"].to_list()) == [0, 1, 2, 3]
    assert ex.state.run_id == run_id and ex.state.summary()["done"] == 2


def test_progress_view_shows_partial_and_failed_runs() -> None:
    from widgets.progress import ProgressView
    from widgets.state import RunState
    from workbench.events import RunFinished, RunStarted

    for status, style, icon in (("partial", "warning", "◐"), ("failed", "danger", "✗")):
        st = RunState()
        st.apply(RunStarted(run_id="r", technique="cot", model="m", task="t", n_items=2))
        st.apply(RunFinished(run_id="r", status=status))
        view = ProgressView(on_stop=lambda: None)
        view.update(st)
        assert view.bar.bar_style == style and f"{icon} {status}" in view.label.value
