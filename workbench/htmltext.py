"""Text into HTML, escaped by construction: the one place views turn strings into markup.

Why one module: model output, DuckDB error messages (which quote the offending cell), task
questions and user SQL are all untrusted, and every widget, export and report used to
escape by hand at each f-string; one forgotten ``html.escape`` (the trace browser's SQL
error path) was enough to run a model's ``<img onerror>`` in JupyterLab. Here markup is
built from a *trusted template* whose arguments are escaped unless they already are
:class:`Markup`, so interpolating a raw string is safe by default and only deliberate
markup (another :func:`html` result) passes through unchanged.

The escaping is markupsafe's (the library behind Jinja2, already a dependency of the
notebook stack): ``& < > " '`` become entities, in text and in quoted attribute values.

Other contexts have their own rule here, because HTML escaping alone is wrong there:

* :func:`script_json` / :func:`script_json_text` -- JSON inside a ``<script>`` element:
  ``<``, ``>`` and ``&`` become ``\\u003c``-style escapes, so neither ``</script>`` nor
  ``<!--`` in a string can end or derail the element;
* :func:`script_safe` -- trusted library JavaScript placed inline;
* :func:`plotly_text` -- labels and hover text in plotly figures (plotly renders a subset
  of HTML tags in them and decodes entities, so escaped text shows literally);
* :func:`markdown_cell` -- one cell of a markdown table (markdown passes raw HTML through).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from markupsafe import Markup, escape

__all__ = ["Markup", "escape", "html", "join", "markdown_cell", "plotly_text",
           "script_json", "script_json_text", "script_safe"]

_SCRIPT_JSON = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026",
                "\u2028": "\\u2028", "\u2029": "\\u2029"}
_SCRIPT_JSON_RE = re.compile("[<>&\u2028\u2029]")
_SCRIPT_END = re.compile(r"</(script)", re.IGNORECASE)


def html(template: str, /, *args: Any, **kwargs: Any) -> Markup:
    """``template`` (trusted markup, ``str.format`` syntax) with every argument escaped.

    Format specs still apply (``html("{:.0%}", 0.5)``); an argument that is already
    :class:`Markup` (e.g. another ``html(...)``) is inserted as it is."""
    return Markup(template).format(*args, **kwargs)


def join(sep: str, parts: Iterable[Any]) -> Markup:
    """``parts`` joined by the trusted separator ``sep``; non-Markup parts are escaped."""
    return Markup(sep).join(parts)


def script_json_text(text: str) -> str:
    """JSON text made safe to place inside a ``<script>`` element (same JSON value)."""
    return _SCRIPT_JSON_RE.sub(lambda m: _SCRIPT_JSON[m.group(0)], text)


def script_json(value: Any) -> str:
    """``value`` as JSON that can sit inside ``<script type="application/json">``."""
    return script_json_text(json.dumps(value))


def script_safe(js: str) -> str:
    """Trusted JavaScript (a vendored library) made safe to inline in ``<script>``:
    every ``</script`` (any case) becomes ``<\\/script``, which JS reads the same."""
    return _SCRIPT_END.sub(lambda m: "<\\/" + m.group(1), js)


def plotly_text(value: Any) -> str:
    """Text for a plotly title, label or hover text: shown literally, never as tags."""
    return str(escape("" if value is None else str(value)))


def markdown_cell(value: Any) -> str:
    """One markdown table cell: HTML-escaped (renderers pass raw HTML through), with
    ``|`` and newlines that would break the table row escaped too."""
    text = str(escape(str(value)))
    return text.replace("|", "\\|").replace("\r", " ").replace("\n", " ")
