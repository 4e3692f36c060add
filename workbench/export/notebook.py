"""Export an executed notebook to ONE self-contained HTML file that renders offline.

nbconvert's HTML export loads require.js, the widget renderer, MathJax and Mermaid from
CDNs, so a reader without internet (or behind a proxy, or years later) sees no widgets.
Here every script the page needs is inlined: require.js and the ipywidgets html-manager
from ``widgets/static/vendor/`` (pinned npm copies), anywidget's front end from the
installed Python package (so it always matches the kernel side), and plotly.js from the
installed ``plotly`` package when a cell displayed a plotly figure. The resulting page
makes no network request at all (tested in headless Chromium with the network blocked).

MathJax and Mermaid are not inlined (large, rarely needed here): LaTeX in markdown stays
as source text in the export.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import importlib.util
import json
import re
from pathlib import Path
from typing import Any

from workbench.errors import WorkbenchError
from workbench.htmltext import script_json, script_json_text, script_safe

PLOTLY_MIME = "application/vnd.plotly.v1+json"
WIDGET_STATE_MIME = "application/vnd.jupyter.widget-state+json"

# Block names come from nbconvert's lab/index.html.j2 (nbconvert 7.x).
_TEMPLATE = r"""{%- extends 'index.html.j2' -%}
{%- block html_head_js_requirejs -%}
{%- if resources.wb_plotlyjs -%}
<script type="text/javascript">{{ resources.wb_plotlyjs }}</script>
{%- endif -%}
<script type="text/javascript">{{ resources.wb_requirejs }}</script>
{%- endblock html_head_js_requirejs -%}
{% block jupyter_widgets %}
{%- if "widgets" in nb.metadata -%}
<script type="application/json" id="wb-widget-blobs">{{ resources.wb_blobs }}</script>
<script type="text/javascript">{{ resources.wb_rehydrate }}</script>
<script type="text/javascript">{{ resources.wb_anywidget }}</script>
<script type="text/javascript">{{ resources.wb_html_manager }}</script>
{%- endif -%}
{% endblock jupyter_widgets %}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
"""
_TEMPLATE_NAME = "workbench_offline.html.j2"

BLOB_MIN_CHARS = 20_000
BLOB_PREFIX = "wb-blob:"
# Large widget-state strings (each plotly FigureWidget carries its own ~5 MB front-end
# bundle as ``_esm``) are stored once in #wb-widget-blobs and put back into the state
# before the widget manager reads it (it renders on window "load", after this runs).
_REHYDRATE = """document.addEventListener("DOMContentLoaded", function () {
  var prefix = "__PREFIX__";
  var blobs = JSON.parse(document.getElementById("wb-widget-blobs").textContent || "{}");
  var el = document.querySelector('script[type="application/vnd.jupyter.widget-state+json"]');
  if (!el) { return; }
  var st = JSON.parse(el.textContent);
  Object.keys(st.state || {}).forEach(function (id) {
    var s = st.state[id].state || {};
    Object.keys(s).forEach(function (k) {
      var v = s[k];
      if (typeof v === "string" && v.indexOf(prefix) === 0) { s[k] = blobs[v.slice(prefix.length)]; }
    });
  });
  el.textContent = JSON.stringify(st);
});""".replace("__PREFIX__", BLOB_PREFIX)


def vendor_dir() -> Path:
    """Where the pinned JS copies live (``widgets/static/vendor``), found without
    importing the ``widgets`` package (the library must not import UI code)."""
    spec = importlib.util.find_spec("widgets")
    if spec is None or not spec.submodule_search_locations:
        raise WorkbenchError("The `widgets` package is not installed, so the offline JS "
                             "files cannot be found. Reinstall with `pip install -e .`.")
    return Path(next(iter(spec.submodule_search_locations))) / "static" / "vendor"


def _read_vendor(name: str) -> str:
    path = vendor_dir() / name
    if not path.is_file():
        raise WorkbenchError(f"The vendored file {path} is missing; see "
                             f"{vendor_dir() / 'README.md'} for how to restore it.")
    return path.read_text(encoding="utf-8")


def _html_manager_js() -> str:
    """The widget manager with its Font Awesome fonts inlined as data: URIs.

    The bundle refers to its fonts as ``<publicPath> + "<hash>.woff2"``, which from a
    file:// page means requests for files that do not exist (no icons on buttons).
    Chrome only fetches the woff2 of each face, so only those are vendored and inlined."""
    js = _read_vendor("html-manager-embed-amd.js")
    for font in sorted((vendor_dir() / "fonts").glob("*.woff2")):
        uri = "data:font/woff2;base64," + base64.b64encode(font.read_bytes()).decode("ascii")
        pattern = re.compile(r'[A-Za-z_$][\w$]*\.p\+"' + re.escape(font.name) + '"')
        js, count = pattern.subn(lambda _m, u=uri: f'"{u}"', js)  # type: ignore[misc]
        if not count:
            raise WorkbenchError(f"{font.name} is not referenced by the vendored widget "
                                 f"manager; see {vendor_dir() / 'README.md'} to re-vendor.")
    return js


def _anywidget_amd() -> str:
    """anywidget's AMD module, renamed so it can be defined by an inline script
    (an anonymous ``define`` in an inline script is a require.js error)."""
    spec = importlib.util.find_spec("anywidget")
    if spec is None or not spec.submodule_search_locations:
        return ""
    path = Path(next(iter(spec.submodule_search_locations))) / "nbextension" / "index.js"
    if not path.is_file():
        return ""
    text = path.read_text(encoding="utf-8")
    anon = 'define(["@jupyter-widgets/base"]'
    if text.count(anon) != 1:
        raise WorkbenchError(f"Unexpected anywidget front-end layout in {path}; the offline "
                             "export needs an update for this anywidget version.")
    return text.replace(anon, 'define("anywidget", ["@jupyter-widgets/base"]')


def _plotly_outputs(nb: Any) -> list[dict[str, Any]]:
    return [out for cell in nb.cells if cell.get("cell_type") == "code"
            for out in cell.get("outputs", [])
            if PLOTLY_MIME in out.get("data", {})]


def _render_plotly(outputs: list[dict[str, Any]]) -> None:
    """Replace each plotly output's HTML by a div drawn with the page's inlined plotly.js
    (the kernel-side HTML may point at a CDN or at a require.js module)."""
    import plotly.io as pio

    for out in outputs:
        fig = out["data"][PLOTLY_MIME]
        html = pio.to_html(fig, include_plotlyjs=False, full_html=False, validate=False)
        out["data"] = {"text/html": html, PLOTLY_MIME: fig}


def _move_blobs(nb: Any) -> dict[str, str]:
    """Replace every large string in the widget state by a reference to one shared copy
    (mutates ``nb``, a private copy); returns digest -> text."""
    blobs: dict[str, str] = {}
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE_MIME, {}).get("state", {})
    for model in state.values():
        values = model.get("state", {})
        for key, value in values.items():
            if isinstance(value, str) and len(value) >= BLOB_MIN_CHARS:
                digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:24]
                blobs[digest] = value
                values[key] = BLOB_PREFIX + digest
    return blobs


def _resources(nb: Any, has_plotly: bool) -> dict[str, Any]:
    res: dict[str, Any] = {"wb_requirejs": script_safe(_read_vendor("require.js")),
                           "wb_plotlyjs": "", "wb_anywidget": "", "wb_html_manager": ""}
    if "widgets" in nb.metadata:
        res["wb_html_manager"] = script_safe(_html_manager_js())
        res["wb_anywidget"] = script_safe(_anywidget_amd())
        res["wb_blobs"] = script_json(_move_blobs(nb))
        res["wb_rehydrate"] = _REHYDRATE
    if has_plotly:
        from plotly.offline import get_plotlyjs

        res["wb_plotlyjs"] = script_safe(get_plotlyjs())
    return res


def _has_widget_state(nb: Any) -> bool:
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE_MIME, {})
    return bool(state.get("state"))


def notebook_to_offline_html(nb: Any) -> str:
    """The self-contained HTML of a notebook node (not modified in place)."""
    import jinja2
    from nbconvert import HTMLExporter

    nb = copy.deepcopy(nb)
    if "widgets" in nb.metadata and not _has_widget_state(nb):
        del nb.metadata["widgets"]  # nothing to render; skip 3.6 MB of JS
    plotly_outs = _plotly_outputs(nb)
    _render_plotly(plotly_outs)
    # nbconvert's own filter for the widget state and widget views only escapes "/", so a
    # "<!--<script>" in model text could still derail the element: escape < > & instead.
    exporter = HTMLExporter(extra_loaders=[jinja2.DictLoader({_TEMPLATE_NAME: _TEMPLATE})],
                            template_file=_TEMPLATE_NAME,
                            filters={"escape_html_script": script_json_text})
    body, _ = exporter.from_notebook_node(nb, resources=_resources(nb, bool(plotly_outs)))
    return str(body)


def export_notebook_html(ipynb: str | Path, out_file: str | Path) -> Path:
    """Write ``ipynb`` (executed, ideally with widget state saved) as one offline HTML file.

    Widgets render from the state saved in the notebook's ``metadata.widgets`` (run it with
    nbclient ``store_widget_state=True`` or "Save Widget State" in JupyterLab); without
    saved state, widget outputs show only their text fallback.
    """
    import nbformat

    src = Path(ipynb)
    if not src.is_file():
        raise WorkbenchError(f"Notebook {src} does not exist; pass the path of an .ipynb file.")
    try:
        nb = nbformat.read(src, as_version=4)
    except (json.JSONDecodeError, nbformat.reader.NotJSONError) as exc:
        raise WorkbenchError(f"{src} is not a valid notebook ({exc}).") from exc
    out = Path(out_file)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(notebook_to_offline_html(nb), encoding="utf-8")
    return out
