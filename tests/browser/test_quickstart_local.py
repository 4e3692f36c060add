"""The quickstart notebook, as a user runs it, against the real embedded local model.

Tiny budgets (2 paths, 64 tokens) keep it to seconds of generation on 2 cores; auto
re-run is switched off first so the slider moves do not each start a run, then Run is
pressed once. This is the one browser test where the whole stack is real: notebook,
kernel, widgets, runner, litellm, llama.cpp server, streaming back into the page.
"""

from __future__ import annotations

from typing import Any

import pytest
import wb_browser as wb

pytestmark = [pytest.mark.browser, pytest.mark.local_model]

QUICKSTART = "01_quickstart.ipynb"


def test_quickstart_streams_from_the_local_model(page: Any, lab: wb.LabServer, net: wb.NetGuard
                                                 ) -> None:
    if not (lab.root / QUICKSTART).is_file():
        pytest.fail(f"notebooks/{QUICKSTART} is missing")
    page.set_viewport_size({"width": 1400, "height": 1800})
    wb.open_notebook(page, lab, QUICKSTART)
    wb.run_all_cells(page)
    page.wait_for_selector(".wb-explorer .wb-controls", timeout=60_000)
    wb.wait_kernel_idle(page)
    assert wb.error_outputs(page) == []

    page.locator(".widget-checkbox", has_text="re-run on change").locator("input").uncheck()
    wb.press_slider_key(page, ".wb-budget", "Home")  # 64 tokens
    wb.set_readout(page, ".wb-n", "2")
    page.wait_for_function(
        "() => document.querySelector('.wb-budget .widget-readout').innerText.trim() === '64'"
        " && document.querySelector('.wb-n .widget-readout').innerText.trim() === '2'")

    before = wb.progress_label(page)
    page.locator(".wb-run-button").click()
    totals = wb.watch_run(page, before, timeout_s=150)
    label = wb.progress_label(page)
    assert "ok" in label and "local" in label, label
    texts = wb.path_texts(page)
    assert len(texts) == 2 and all(t.strip() for t in texts)
    assert wb.growth_steps(totals) >= 2, f"text did not stream in: {totals}"
    assert page.locator(".wb-vote-chart:visible").count() == 1
    page.wait_for_selector(".wb-vote-caption:visible")
    assert "No answers yet" not in page.inner_text(".wb-vote-caption:visible") \
        or page.locator(".wb-paths .wb-path-child").count() == 0  # all paths unanswered
    wb.screenshot(page, "quickstart_local_model")
    assert wb.error_outputs(page) == []
    assert net.blocked == [], f"requests tried to leave the machine: {net.blocked[:5]}"
