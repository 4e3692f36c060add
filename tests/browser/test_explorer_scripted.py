"""The Explorer in a real JupyterLab, driven like a user, against a scripted backend.

The scripted demo backend (widgets.demo) streams plausible reasoning one word per 30 ms
per path with seeded lengths, so slider mechanics, streaming, the vote chart and the
refinement diff are exercised in seconds and deterministically, with no model. The same
Explorer against the real local model is tested in test_quickstart_local.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
import pytest
import wb_browser as wb

pytestmark = pytest.mark.browser

EXPLORER_CELL = """\
from widgets import Explorer, demo_backend
from workbench.tasks import get_task

task = get_task("arithmetic")
explorer = Explorer(task=task, backend=demo_backend(task, delay_s=0.03), db=":memory:")
explorer"""

# A reviewer that always rejects, and a refinement that rewrites the solution: every
# refine run then has rounds whose diff must show both inserted and deleted words.
STRICT_CELL = """\
from widgets import Explorer
from widgets.demo import DemoScript
from workbench.backends.scripted import ScriptedBackend
from workbench.tasks import get_task

class StrictReviewer(DemoScript):
    def __call__(self, req, choice):
        last = req.messages[-1]["content"]
        if "Previous solution" in last:
            gold = self._gold(" ".join(m["content"] for m in req.messages)) or "0"
            return f"Let me recheck every step carefully: fixed the sum. The answer is {gold}."
        return super().__call__(req, choice).replace("VERDICT: CORRECT", "VERDICT: INCORRECT")

task = get_task("arithmetic")
explorer = Explorer(task=task, backend=ScriptedBackend(StrictReviewer(task), delay_s=0.03),
                    db=":memory:")
explorer"""


def scripted_notebook(root: Path, name: str, cell: str = EXPLORER_CELL) -> str:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(cell)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, root / name)
    return name


def open_explorer(page: Any, lab: wb.LabServer, root: Path, name: str,
                  cell: str = EXPLORER_CELL) -> None:
    wb.open_notebook(page, lab, scripted_notebook(root, name, cell))
    wb.run_all_cells(page)
    page.wait_for_selector(".wb-explorer .wb-controls", timeout=60_000)
    page.wait_for_selector(".wb-vote-chart .js-plotly-plot", timeout=30_000)


def words(text: str) -> int:
    return len(text.split())


def test_sliders_stream_paths_and_update_the_vote_chart(page: Any, lab: wb.LabServer,
                                                        lab_root: Path, net: wb.NetGuard
                                                        ) -> None:
    page.set_viewport_size({"width": 1400, "height": 1800})
    open_explorer(page, lab, lab_root, "scripted_sliders.ipynb")
    assert page.locator(".wb-vote-chart .bars .point").count() == 0  # no answers yet

    before = wb.progress_label(page)
    wb.set_readout(page, ".wb-n", "3")  # N slider: auto re-run after the debounce
    totals = wb.watch_run(page, before)
    assert wb.growth_steps(totals) >= 3, f"text did not stream in: {totals}"
    texts = wb.path_texts(page)
    assert len(texts) == 3
    assert "ok" in wb.progress_label(page)
    assert max(words(t) for t in texts) > 64  # seeded demo lengths at budget 256
    bars = page.locator(".wb-vote-chart .bars .point").count()
    assert bars >= 1
    caption = page.inner_text(".wb-vote-caption")
    assert "No answers yet" not in caption
    wb.screenshot(page, "explorer_scripted_n3")

    before = wb.progress_label(page)
    wb.press_slider_key(page, ".wb-budget", "Home")  # budget slider to 64: a shorter run
    wb.watch_run(page, before)
    assert page.inner_text(".wb-budget .widget-readout").strip() == "64"
    texts = wb.path_texts(page)
    assert len(texts) == 3 and max(words(t) for t in texts) <= 64
    assert page.locator(".wb-paths .wb-path-truncated").count() >= 1
    assert page.locator(".wb-vote-chart .bars .point").count() >= 1
    wb.wait_kernel_idle(page)
    assert wb.error_outputs(page) == []
    wb.screenshot(page, "explorer_scripted_budget64")
    assert net.blocked == [], f"requests tried to leave the machine: {net.blocked[:5]}"


def test_refinement_diff_highlights_changes(page: Any, lab: wb.LabServer, lab_root: Path,
                                            net: wb.NetGuard) -> None:
    page.set_viewport_size({"width": 1400, "height": 1800})
    open_explorer(page, lab, lab_root, "scripted_refine.ipynb", STRICT_CELL)
    before = wb.progress_label(page)
    page.locator(".wb-technique select").select_option("refine")
    wb.watch_run(page, before)
    assert "refine" in wb.progress_label(page)
    page.wait_for_selector(".wb-refinement:visible .wb-round")
    assert page.locator(".wb-refinement:visible .wb-round").count() == 3  # round 0 + 2 refinements
    ins = page.locator(".wb-refinement:visible .wb-diff-ins").count()
    dels = page.locator(".wb-refinement:visible .wb-diff-del").count()
    assert ins > 0 and dels > 0, f"diff shows {ins} insertions, {dels} deletions"
    ins_bg = page.locator(".wb-refinement:visible .wb-diff-ins").first.evaluate(
        "e => getComputedStyle(e).backgroundColor")
    assert ins_bg not in ("rgba(0, 0, 0, 0)", "transparent")  # highlighted, not plain
    page.locator(".wb-refinement:visible").scroll_into_view_if_needed()
    wb.screenshot(page, "explorer_scripted_refine_diff")
    assert wb.error_outputs(page) == []
    assert net.blocked == [], f"requests tried to leave the machine: {net.blocked[:5]}"
