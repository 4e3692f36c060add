"""The Explorer's Compare tab in a real JupyterLab at 1,000 px (issue 12.5, 12.6).

The notebook runs greedy CoT and then SC@4 on the same four items against a scripted
backend whose greedy answers are always wrong and sampled answers always right, so the
outcome table must read "only B: 4" with no click on the pickers (the default pair is the
task's two newest runs). A click on a disagreeing item must show both runs' paths side by
side with B's text diffed against A's. At this width the page must not scroll sideways,
and the N slider must give each step at least 15 px.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
import pytest
import wb_browser as wb

pytestmark = pytest.mark.browser

CELL = """\
from widgets import Explorer
from widgets.demo import DemoScript
from workbench.backends.scripted import ScriptedBackend
from workbench.runner import RunSpec
from workbench.tasks import get_task

class GreedyWrong(DemoScript):  # temperature 0 (CoT): a near miss; sampled (SC): right
    def __call__(self, req, choice):
        self.p_correct = 0.0 if not req.temperature else 1.0
        return super().__call__(req, choice)

task = get_task("arithmetic")
explorer = Explorer(task=task, backend=ScriptedBackend(GreedyWrong(task), delay_s=0.0),
                    db={db!r})
explorer.controls.auto_run.value = False
items = (0, 1, 2, 3)
await explorer.start(RunSpec(task="arithmetic", technique="cot", model="local", items=items))
await explorer.start(RunSpec(task="arithmetic", technique="sc", model="local", n=4,
                             items=items))
explorer"""


def notebook(path: Path, db: Path) -> str:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(CELL.format(db=str(db)))]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, path)
    return path.name


TABS = ("Live", "Prompt lab", "Traces", "Scaling", "Compare")
PANES = (".jp-NotebookPanel-notebook, .jp-WindowedPanel-outer, .wb-explorer, .wb-controls, "
         ".wb-live, .wb-prompt-lab, .wb-browser, .wb-scaling, .wb-compare")


def sideways(page: Any, css: str) -> list[dict[str, Any]]:
    """Elements matching ``css`` whose content is wider than their box (they scroll)."""
    return page.eval_on_selector_all(
        css, "els => els.filter(e => e.scrollWidth > e.clientWidth + 1)"
             ".map(e => ({cls: e.className, scroll: e.scrollWidth, client: e.clientWidth}))")


def test_compare_tab_shows_the_outcome_table_and_a_diffed_drill_down(
        page: Any, lab: wb.LabServer, lab_root: Path, net: wb.NetGuard,
        tmp_path: Path) -> None:
    page.set_viewport_size({"width": 1000, "height": 1400})
    wb.open_notebook(page, lab, notebook(lab_root / "compare_tab.ipynb",
                                         tmp_path / "compare.duckdb"))
    wb.run_all_cells(page)
    page.wait_for_selector(".wb-explorer .wb-controls", timeout=90_000)
    wb.wait_kernel_idle(page, timeout_s=90)
    assert wb.error_outputs(page) == []

    track = page.locator(".wb-n .noUi-target").first.bounding_box()
    assert track is not None and track["width"] / 15 >= 15, track  # N = 1..16
    for title in TABS:  # every tab, in a notebook narrowed further by the file browser
        page.locator(".wb-explorer .lm-TabBar-tab", has_text=title).first.click()
        page.wait_for_timeout(300)
        wide = sideways(page, PANES)
        assert wide == [], f"{title} tab scrolls sideways at 1000 px: {wide}"
        if title == "Live":
            wb.screenshot(page, "explorer_1000px_live")

    page.locator(".wb-explorer .lm-TabBar-tab", has_text="Compare").first.click()
    row = page.locator(".wb-compare:visible .wb-compare-outcome[data-outcome='only B']")
    row.wait_for(timeout=20_000)
    assert row.get_attribute("data-items") == "4"
    cells = {o: page.locator(f".wb-compare:visible .wb-compare-outcome[data-outcome='{o}']")
             .get_attribute("data-items") for o in ("both right", "only A", "both wrong")}
    assert cells == {"both right": "0", "only A": "0", "both wrong": "0"}
    head = page.inner_text(".wb-compare:visible .wb-compare-headline")
    assert "B − A = +100.0 points" in head and "McNemar" in head, head
    assert "tokens_out per item" in page.inner_text(".wb-compare:visible .wb-compare-deltas")
    assert page.locator(".wb-compare:visible .wb-compare-items .wb-row").count() == 4

    page.locator(".wb-compare:visible .wb-compare-items .wb-row").first.click()
    page.wait_for_selector(".wb-compare:visible .wb-compare-drill .wb-compare-pair")
    assert page.locator(".wb-compare:visible .wb-compare-pair").count() >= 4  # 1 vs 4 paths (+ forced)
    first = page.locator(".wb-compare:visible .wb-compare-pair").first
    assert first.locator(".wb-diff-ins").count() + first.locator(".wb-diff-del").count() > 0
    assert sideways(page, PANES) == []
    page.locator(".wb-compare:visible .wb-compare-drill").scroll_into_view_if_needed()
    wb.screenshot(page, "explorer_compare_tab")
    assert wb.error_outputs(page) == []
    assert net.blocked == [], f"requests tried to leave the machine: {net.blocked[:5]}"
