"""The harness itself: JupyterLab boots offline, a notebook runs, a slider round-trips.

If this fails, every other browser test would fail for the same reason; it pins the
recipe (run-all through ``window.jupyterapp``, typing into ``.widget-readout``) and the
"nothing leaves the machine" guarantee on a notebook that needs no workbench code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
import pytest
import wb_browser as wb

pytestmark = pytest.mark.browser

CELLS = [
    "import ipywidgets as W\n"
    "slider = W.IntSlider(value=3, min=1, max=32, description='N')\n"
    "echo = W.Label(value='kernel sees 3')\n"
    "slider.observe(lambda ch: setattr(echo, 'value', f\"kernel sees {ch['new']}\"), 'value')\n"
    "W.VBox([slider, echo])",
]


def _write_notebook(root: Path) -> str:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in CELLS]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, root / "harness_smoke.ipynb")
    return "harness_smoke.ipynb"


def test_lab_runs_notebook_and_slider_round_trips(page: Any, lab: wb.LabServer,
                                                   lab_root: Path, net: wb.NetGuard) -> None:
    name = _write_notebook(lab_root)
    wb.open_notebook(page, lab, name)
    wb.run_all_cells(page)
    page.wait_for_selector(".widget-slider", state="visible")
    page.wait_for_selector("text=kernel sees 3")

    readout = page.locator(".widget-readout").first
    readout.click()
    page.keyboard.press("Control+A")
    page.keyboard.type("17")
    page.keyboard.press("Enter")
    page.wait_for_selector("text=kernel sees 17", timeout=10_000)

    wb.wait_kernel_idle(page)
    assert wb.error_outputs(page) == []
    shot = wb.screenshot(page, "harness_slider")
    assert shot.stat().st_size > 10_000
    assert net.allowed, "the guard saw no request at all: it is not installed"
    assert net.blocked == [], f"requests tried to leave the machine: {net.blocked[:5]}"
