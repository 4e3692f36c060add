"""The static snapshot saved beside the Explorer: what a reopened notebook shows when the
widget cannot load (JupyterLab's default does not save widget state)."""

from __future__ import annotations

from typing import Any

import IPython.display
from widget_toys import toy_script

from widgets.explorer import Explorer
from widgets.snapshot import snapshot_html
from widgets.state import RunState
from workbench.backends.scripted import ScriptedBackend
from workbench.runner import RunSpec

SC = RunSpec(task="toy", technique="sc", model="toy-model", n=3, items=(1, 2), seed=3)


class Handle:
    def __init__(self, first: Any) -> None:
        self.shown = [first]

    def update(self, obj: Any) -> None:
        self.shown.append(obj)


def test_idle_snapshot_says_no_run() -> None:
    html = snapshot_html(RunState(), "/tmp/t.duckdb")
    assert "No run yet" in html and "wb-snapshot" in html and "/tmp/t.duckdb" in html


async def test_snapshot_follows_runs_and_escapes_model_text(toy_task, store, monkeypatch
                                                             ) -> None:
    evil = "<img src=x onerror=alert(1)>"

    def script(req: Any, choice: int) -> str:
        return toy_script()(req, choice).replace("First", f"First {evil}")

    shown: list[Any] = []

    def fake_display(obj: Any, raw: bool = False, display_id: bool = False) -> Any:
        shown.append((obj, raw))
        return Handle(obj) if display_id else None

    monkeypatch.setattr(IPython.display, "display", fake_display)
    ex = Explorer(task=toy_task, model="toy-model", backend=ScriptedBackend(script),
                  store=store)
    ex.controls.auto_run.value = False
    ex._ipython_display_()
    bundle, raw = shown[0]
    assert raw and bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == ex.model_id
    handle = ex._snapshot
    assert "No run yet" in handle.shown[0].data
    await ex.start(SC)
    html = handle.shown[-1].data
    assert "ok · sc" in html and "wb-snapshot-items" in html
    assert html.count("<tr>") == 3  # header + two items
    assert evil not in html and "&lt;img src=x" in html  # model text is escaped
    assert "wb-vote-chart" in html or "<svg" in html
    updates = len(handle.shown)
    ex.live.sink.flush()  # a redraw with nothing new does not resend the snapshot
    assert len(handle.shown) == updates
    ex.try_instant(RunSpec(**{**vars(SC), "n": 2}))
    assert len(handle.shown) == updates + 1 and "@k2" in ex.state.run_id
