"""Every view that turns text into HTML, fed hostile model output (tests/fakes/hostile.py).

For each view the same run is rendered twice: with the payloads, and with a harmless twin
(each payload character swapped for a letter: same words, lengths and equalities). A view
that escapes builds the *same elements and attributes* from both, whatever the payload
tries; one that interpolates raw text grows an ``<img>``, a handler or a new attribute.
The payload text must also still be there as readable text (escaped, not dropped).
The real-browser twin of this test is tests/browser/test_injection.py; both add their
figures to the fault/injection tables (test-artifacts/faults.md, .../injection.md).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from fakes.hostile import (
    ALL_TEXT,
    PAYLOADS,
    benign,
    hostile_events,
    identity,
    injected,
    shown_text,
)

from workbench.store.recorder import Recorder
from workbench.store.store import Store

REPO = Path(__file__).resolve().parents[2]
Render = Callable[[Callable[[str], str]], str]


class _Shape(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.shape: list[tuple[str, tuple[str, ...]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.shape.append((tag, tuple(sorted(k for k, _ in attrs))))


def shape(markup: str) -> list[tuple[str, tuple[str, ...]]]:
    """The elements and attribute names a browser would build, in document order."""
    p = _Shape()
    p.feed(markup)
    p.close()
    return p.shape


def _state(convert: Callable[[str], str]) -> Any:
    from widgets.state import RunState

    st = RunState()
    for e in hostile_events(convert=convert):
        st.apply(e)
    return st


def _store(convert: Callable[[str], str], tmp: Path | None = None) -> Store:
    store = Store.open(tmp / "t.duckdb" if tmp else ":memory:")
    rec = Recorder(store)
    for e in hostile_events(convert=convert):
        rec(e)
    return store


# ---- the views -------------------------------------------------------------------------
def v_progress_label(c: Callable[[str], str]) -> str:
    from widgets.progress import progress_text

    return str(progress_text(_state(c)))


def v_progress_error(c: Callable[[str], str]) -> str:
    from widgets.progress import ProgressView

    view = ProgressView()
    view.show_error(c(ALL_TEXT))
    return str(view.error.value)


def v_refinement(c: Callable[[str], str]) -> str:
    from widgets.diff import round_rows, rounds_html

    return str(rounds_html(round_rows(_state(c).focused)))


def v_vote_caption(c: Callable[[str], str]) -> str:
    from widgets.votes import summary_html, vote_chart_data

    return str(summary_html(vote_chart_data(_state(c).focused)))


def v_vote_chart(c: Callable[[str], str]) -> str:
    from widgets.votes import chart_svg, vote_chart_data

    return str(chart_svg(vote_chart_data(_state(c).focused)))


def v_prompt_lab(c: Callable[[str], str]) -> str:
    from widgets.prompt_lab import comparison_html

    return str(comparison_html(_state(c), _state(c)))


def v_scaling(c: Callable[[str], str]) -> str:
    from widgets.scaling import points_from_frame, scaling_svg

    frame = pl.DataFrame({"run_id": [c(ALL_TEXT)], "technique": [c(ALL_TEXT)],
                          "budget_tokens": [c(PAYLOADS[0].text)], "n": [c(PAYLOADS[1].text)],
                          "items": [3], "accuracy": [0.5], "tokens_per_item": [100.0]})
    return str(scaling_svg(points_from_frame(frame), (50.0, 0.5)))


def v_browser_sql_error(c: Callable[[str], str]) -> str:
    """The reported bug: a DuckDB conversion error quotes the model's answer."""
    from widgets.browser import TraceBrowser

    b = TraceBrowser(_store(c))
    shown = []
    for i in range(len(PAYLOADS)):  # path i answered payload i
        b.run_sql(f"select avg(answer::INTEGER) from paths where idx = {i}")
        assert "Conversion Error" in b.message.value
        shown.append(str(b.message.value))
    return "<br>".join(shown)


def v_browser_replay_error(c: Callable[[str], str]) -> str:
    from widgets.browser import TraceBrowser

    b = TraceBrowser(_store(c))
    quoted = c(ALL_TEXT).replace("'", "''")
    b.run_sql(f"select '{quoted}' as run_id")
    b.open_row(0)  # no such run: the error message quotes the run id
    assert "No run" in b.message.value
    return str(b.message.value)


def v_explorer_lines(c: Callable[[str], str]) -> str:
    from widgets.explorer import Explorer
    from workbench.backends.scripted import ScriptedBackend

    class Named:
        name = c(ALL_TEXT)
        kind, licence, description = "math", "test", "hostile"

        def load(self, limit: int | None = None, offset: int = 0) -> list[Any]:
            return []

    store = _store(c)
    ex = Explorer(task=Named(), store=store,  # type: ignore[arg-type]
                  backend=ScriptedBackend(lambda r, i: "x"))
    ex.replay("hostile")
    title = ex.children[0].value
    return f"<div>{title}</div><div>{ex.status.value}</div>"


def v_compare(c: Callable[[str], str]) -> str:
    """The Explorer's Compare tab: run B is the hostile run answered another payload, so the
    item disagrees; headline, outcome and cost tables, and the drill-down into both runs'
    paths (B word-diffed against A) are all shown."""
    import dataclasses

    from fakes.hostile import hostile_events

    from widgets.compare import CompareView
    from workbench.events import RunStarted, SampleScored

    store = _store(c)
    rec = Recorder(store)
    for e in hostile_events("hostile-b", convert=c):
        if isinstance(e, RunStarted):  # B starts later: the default pair is (hostile, B)
            e = dataclasses.replace(e, ts=e.ts + 60)
        if isinstance(e, SampleScored):
            e = dataclasses.replace(e, answer=c(PAYLOADS[2].text), correct=False)
        rec(e)
    rec.close()
    view = CompareView(store, task="hostile")  # the task name is not a payload
    assert (view.run_a.value, view.run_b.value) == ("hostile", "hostile-b")
    assert view.table.rows and view.open_item(0) is not None
    return "".join(str(w.value) for w in (view.message, view.headline, view.outcomes,
                                          view.deltas, view.detail))


def v_run_report(c: Callable[[str], str]) -> str:
    from workbench.export.html import run_report_html

    page = run_report_html(_store(c), "hostile")
    return page[page.index("<body"):]  # the head is plotly.js itself


def v_markdown_table(c: Callable[[str], str]) -> str:
    from nbconvert.filters import markdown2html

    from workbench.analysis.tables import to_markdown

    frame = pl.DataFrame({"technique": [p.text for p in PAYLOADS]}).with_columns(
        pl.col("technique").map_elements(c, return_dtype=pl.String))
    return str(markdown2html(to_markdown(frame)))


def _search_events(c: Callable[[str], str]) -> list[Any]:
    """A stored step-level search whose step texts, answers, scorer and errors are payloads:
    one chain per payload, alternately kept and pruned, the last one answered."""
    from workbench.events import (
        PathFinished,
        PathStarted,
        RunFinished,
        RunStarted,
        SampleScored,
        TokenDelta,
    )

    run, sid = "hostile-search", "hostile-search-s0"
    events: list[Any] = [RunStarted(run_id=run, technique="beam", model="m", task="hostile",
                                    n_items=1, params={"aggregate": "min"})]
    parent = None
    for i, p in enumerate(PAYLOADS):
        pid, text = f"{sid}-st{i}", f"{c(ALL_TEXT)}\n{c(p.text)}"
        score_id = f"{pid}-score"
        events += [PathStarted(run_id=run, sample_id=sid, path_id=pid, role="step",
                               parent_id=parent, index=i, step=i),
                   TokenDelta(run_id=run, sample_id=sid, path_id=pid, text=text),
                   PathStarted(run_id=run, sample_id=sid, path_id=score_id, role="score",
                               parent_id=pid, index=i, step=i),
                   PathFinished(run_id=run, sample_id=sid, path_id=score_id, text="",
                                error=c(p.text), scorer=c(p.text)),
                   PathFinished(run_id=run, sample_id=sid, path_id=pid, text=text,
                                answer=c(p.text) if i == len(PAYLOADS) - 1 else None,
                                score=None if i == 1 else 0.5, scorer=c(p.text),
                                kept=True)]
        parent = pid
    events.append(SampleScored(run_id=run, sample_id=sid, item_id="h0", item_index=0,
                               question=c(ALL_TEXT), answer=c(PAYLOADS[-1].text)))
    events.append(RunFinished(run_id=run, status="ok", n_samples=1))
    return events


def v_search_tree(c: Callable[[str], str]) -> str:
    """The search tree's static HTML (snapshot and export of widgets.tree)."""
    from widgets.state import RunState
    from widgets.tree import static_tree

    st = RunState()
    for e in _search_events(c):
        st.apply(e)
    return str(static_tree(st, st.focused))


def v_search_tree_report(c: Callable[[str], str]) -> str:
    from workbench.export.html import run_report_html

    store = Store.open(":memory:")
    rec = Recorder(store)
    for e in _search_events(c):
        rec(e)
    page = run_report_html(store, "hostile-search")
    return page[page.index("<h4>Search tree</h4>"):]


VIEWS: dict[str, Render] = {
    "progress label": v_progress_label, "progress error": v_progress_error,
    "refinement diff": v_refinement, "vote caption": v_vote_caption,
    "vote chart (SVG)": v_vote_chart, "prompt lab table": v_prompt_lab,
    "scaling chart (SVG)": v_scaling, "trace browser SQL error": v_browser_sql_error,
    "trace browser replay error": v_browser_replay_error,
    "explorer title + status": v_explorer_lines, "compare view (Explorer tab)": v_compare,
    "run report (export)": v_run_report,
    "analysis markdown table": v_markdown_table,
    "search tree (static)": v_search_tree, "search tree in run report": v_search_tree_report,
}
ALLOWED = {"run report (export)": frozenset({"details", "script"}),
           "search tree (static)": frozenset({"details"}),
           "search tree in run report": frozenset({"details"})}


@pytest.mark.parametrize("view", list(VIEWS))
def test_view_escapes_every_payload(view: str, note: Any) -> None:
    render = VIEWS[view]
    hostile, twin = render(identity), render(benign)
    found = injected(hostile, ALLOWED.get(view, frozenset()))
    same = shape(hostile) == shape(twin)
    note(f"- HTML view `{view}` (parsed, no browser): {len(PAYLOADS)} payloads tried, "
         f"live markup injected {len(found)}, markup {'unchanged' if same else 'CHANGED'} "
         "against the harmless twin")
    assert same, f"{view}: the payloads changed the markup"
    if view == "run report (export)":  # its own scripts are plotly's figure calls
        assert hostile.count("<script") == twin.count("<script")
    assert found == []
    # Escaped text is as visible as the harmless twin's: same payloads shown, none dropped.
    text, twin_text = shown_text(hostile), shown_text(twin)
    shown = [p.name for p in PAYLOADS if p.text in text
             or p.text.replace("'", "\\'") in text]  # a message that quotes with repr()
    assert shown == [p.name for p in PAYLOADS if benign(p.text) in twin_text]
    assert shown, f"{view}: payload text dropped instead of escaped"


def test_views_show_whole_payloads_where_they_have_room() -> None:
    """Not only a prefix: the caption, SQL error and report show each payload entire."""
    for view in ("trace browser SQL error", "run report (export)", "refinement diff"):
        text = shown_text(VIEWS[view](identity))
        if view == "trace browser SQL error":
            assert PAYLOADS[0].text in text
        else:
            assert [p.name for p in PAYLOADS if p.text not in text] == []


def test_plotly_figures_show_model_text_literally() -> None:
    """plotly renders <b>, <a href>, <br> in labels: hover and legend text is escaped."""
    from workbench.analysis.figures import fig_pareto
    from workbench.export._figures import per_item_figure

    samples = pl.DataFrame({"item_index": [0], "correct": [False], "tokens_out": [5],
                            "answer": [PAYLOADS[4].text], "gold": [PAYLOADS[0].text]})
    fig = per_item_figure(samples)
    assert "<" not in fig.data[0].hovertext[0] and "&lt;a href" in fig.data[0].hovertext[0]
    configs = pl.DataFrame({"technique": [PAYLOADS[4].text], "cost_usd": [1.0],
                            "accuracy": [0.5], "compute_label": [PAYLOADS[0].text]})
    fig = fig_pareto(configs)
    assert "<" not in fig.data[0].name and "<" not in fig.data[0].text[0]


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) \
        else []
    return [s for v in items for s in _strings(v)]


def _script_bodies(page: str) -> list[str]:
    return re.findall(r"<script[^>]*>(.*?)</script>", page, re.S | re.I)


def test_exported_notebook_keeps_payloads_inside_their_json(tmp_path: Path) -> None:
    """Widget state, widget views and blobs are inline JSON: no payload may end the
    element (``</script>``) or derail it (``<!--<script>``), and the JSON reads back."""
    import nbformat

    from workbench.export.notebook import notebook_to_offline_html

    state_mime = "application/vnd.jupyter.widget-state+json"
    model = {"model_name": "HTMLModel", "model_module": "@jupyter-widgets/controls",
             "model_module_version": "2.0.0",
             "state": {"value": ALL_TEXT, "big": ALL_TEXT * 400}}
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x")
    view = {"model_id": "m1", "version_major": 2, "version_minor": 0, "note": ALL_TEXT}
    cell.outputs = [nbformat.v4.new_output(
                        "display_data", data={"text/plain": "HTML()",
                                              "application/vnd.jupyter.widget-view+json": view}),
                    nbformat.v4.new_output("display_data", data={"text/plain": ALL_TEXT})]
    nb.cells = [cell]
    nb.metadata["widgets"] = {state_mime: {"state": {"m1": model}, "version_major": 2,
                                           "version_minor": 0}}
    page = notebook_to_offline_html(nb)
    bodies = _script_bodies(page)
    json_bodies = [b for b in bodies if "__pwned" in b]
    assert len(json_bodies) == 3  # widget view, widget state, blobs
    for body in json_bodies:
        assert "</" not in body and "<!--" not in body and "<script" not in body.lower()
        assert any(ALL_TEXT in s for s in _strings(json.loads(body)))  # reads back intact
    plain = page[page.index("<body"):]
    outside = re.sub(r"<script[^>]*>.*?</script>", "", plain, flags=re.S | re.I)
    assert injected(outside, frozenset({"a"})) == []
    assert ALL_TEXT in shown_text(outside)  # the text/plain output, escaped


def test_front_end_code_never_parses_model_text_as_html() -> None:
    """widgets/static/*.js write text with textContent / createElement only."""
    sinks = re.compile(r"\.innerHTML|\.outerHTML|insertAdjacentHTML|document\.write|"
                       r"createContextualFragment|DOMParser")
    found = {p.name: sinks.findall(p.read_text()) for p in (REPO / "widgets/static").glob("*.js")}
    assert found and all(v == [] for v in found.values()), found


def test_one_escaping_helper() -> None:
    """Python views escape through workbench.htmltext, not their own html.escape."""
    offenders = []
    for folder in ("workbench", "widgets"):
        for path in (REPO / folder).rglob("*.py"):
            if path.name == "htmltext.py":
                continue
            src = path.read_text()
            if re.search(r"^\s*(import html\b|from html import|import markupsafe|"
                         r"from markupsafe import)", src, re.M):
                offenders.append(str(path.relative_to(REPO)))
            # an f-string straight into an HTML widget is how the SQL-error bug happened
            for m in re.finditer(r"(W\.HTML\(|\.value\s*=)\s*\(?\s*f[\"']", src):
                line = src.count("\n", 0, m.start()) + 1
                offenders.append(f"{path.relative_to(REPO)}:{line}")
    assert offenders == []
