"""export_notebook_html: executed notebooks render offline, widgets and plotly included.

Each notebook is executed with nbclient (``store_widget_state=True``), exported, and
opened from file:// in Chromium with every network request blocked: the widgets must
render from the saved state with the inlined JS alone.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import nbformat
import pytest
import wb_browser as wb

from workbench.errors import WorkbenchError
from workbench.export import export_notebook_html

REPO = Path(__file__).resolve().parents[2]
BASIC_CELLS = [
    "import ipywidgets as W\nW.IntSlider(value=7, description='N')",
    "import anywidget, traitlets\n"
    "class Hello(anywidget.AnyWidget):\n"
    "    _esm = 'export default { render({ model, el }) {"
    " el.innerHTML = `<b class=\"wb-hello\">${model.get(\"n\")}</b>`; } }'\n"
    "    n = traitlets.Int(41).tag(sync=True)\n"
    "Hello(n=42)",
    "import plotly.graph_objects as go\ngo.Figure(go.Bar(x=['a', 'b'], y=[3, 4]))",
    "print('$x^2$ stays text; no MathJax CDN')",
]
EXPLORER_CELLS = [
    "from widgets import Explorer, demo_backend\n"
    "from workbench.tasks import get_task\n"
    "task = get_task('arithmetic')\n"
    "explorer = Explorer(task=task, backend=demo_backend(task, delay_s=0.0), db=':memory:')\n"
    "explorer.controls.n.value = 3\n"
    "explorer.start()\n"
    "await explorer.wait()\n"
    "explorer",
]


def executed(cells: list[str], path: Path) -> Path:
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True",
           "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    NotebookClient(nb, kernel_name="python3", timeout=120, store_widget_state=True,
                   resources={"metadata": {"path": str(path.parent)}}).execute(env=env)
    nbformat.write(nb, path)
    return path


def test_missing_or_broken_notebook_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(WorkbenchError, match="does not exist"):
        export_notebook_html(tmp_path / "nope.ipynb", tmp_path / "x.html")
    bad = tmp_path / "bad.ipynb"
    bad.write_text("{not json")
    with pytest.raises(WorkbenchError, match="not a valid notebook"):
        export_notebook_html(bad, tmp_path / "x.html")


def test_unexecuted_notebook_exports_without_widget_js(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Title"), nbformat.v4.new_code_cell("1 + 1")]
    nbformat.write(nb, tmp_path / "plain.ipynb")
    page = export_notebook_html(tmp_path / "plain.ipynb", tmp_path / "plain.html").read_text()
    assert "Title" in page and "requirejs" in page
    assert "html-manager" not in page and len(page) < 1_000_000
    assert not re.search(r"<script[^>]+src=", page)


@pytest.mark.notebook
@pytest.mark.browser
def test_widgets_anywidget_and_plotly_render_offline(tmp_path: Path, open_offline: Any) -> None:
    out = export_notebook_html(executed(BASIC_CELLS, tmp_path / "basic.ipynb"),
                               tmp_path / "basic.html")
    html = out.read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]+src=", html), "every script must be inlined"
    assert "cdnjs.cloudflare.com" not in html  # MathJax / require.js CDN tags are gone
    view = open_offline(out)
    page = view.page
    page.wait_for_selector(".widget-slider")
    assert page.inner_text(".widget-readout") == "7"
    page.wait_for_selector(".wb-hello")
    assert page.inner_text(".wb-hello") == "42"
    page.wait_for_selector(".js-plotly-plot .main-svg")
    wb.screenshot(page, "export_notebook_basic")
    assert view.errors == []
    assert view.external_requests(out) == []


@pytest.fixture(scope="module")
def explorer_export(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """An Explorer notebook that ran a scripted SC@3 run, executed once, and its export."""
    tmp = tmp_path_factory.mktemp("explorer-export")
    src = executed(EXPLORER_CELLS, tmp / "explorer.ipynb")
    return src, export_notebook_html(src, tmp / "explorer.html")


@pytest.mark.notebook
@pytest.mark.browser
def test_explorer_with_a_finished_run_renders_offline(explorer_export: tuple[Path, Path],
                                                      open_offline: Any) -> None:
    src, out = explorer_export
    html = out.read_text(encoding="utf-8")
    found = re.search(r'<script[^>]*id="wb-widget-blobs"[^>]*>(.*?)</script>', html, re.S)
    assert found is not None
    blobs = json.loads(found.group(1).replace("<\\/", "</"))
    assert blobs == {}  # no widget state carries a big bundle (the charts are inline SVG)
    assert src.stat().st_size < 1_000_000  # executed Explorer notebook: ~0.3 MB
    view = open_offline(out)
    page = view.page
    page.set_viewport_size({"width": 1300, "height": 1600})
    page.wait_for_selector(".wb-explorer .wb-controls", timeout=60_000)
    page.wait_for_selector(".wb-paths > .wb-path")
    assert page.locator(".wb-paths:visible > .wb-path").count() == 3
    texts = page.eval_on_selector_all(".wb-paths:visible > .wb-path > .wb-path-text",
                                      "els => els.map(e => e.textContent)")
    assert all("answer is" in t for t in texts)
    page.wait_for_selector(".wb-vote-chart .wb-vote-bar")  # the SVG vote chart drew
    assert "majority vote over 3 paths" in page.inner_text(".wb-vote-caption >> nth=0")
    wb.screenshot(page, "export_notebook_explorer")
    assert view.errors == []
    assert view.external_requests(out) == []


@pytest.mark.notebook
@pytest.mark.browser
def test_exported_vote_chart_shows_the_votes(explorer_export: tuple[Path, Path],
                                             open_offline: Any) -> None:
    page = open_offline(explorer_export[1]).page
    page.wait_for_selector(".wb-vote-chart .js-plotly-plot .main-svg", timeout=60_000)
    page.wait_for_selector(".wb-vote-chart .js-plotly-plot .bars .point", timeout=5_000)
    counts = page.eval_on_selector_all(".wb-vote-chart .wb-vote-bar",
                                       "els => els.map(e => Number(e.dataset.count))")
    assert sum(counts) == 3 and all(c > 0 for c in counts)  # SC@3: three votes drawn
