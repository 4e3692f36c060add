"""Hostile model output through every view, in real JupyterLab and real Chromium.

A scripted backend answers with the payloads of tests/fakes/hostile.py (path texts,
answers, critiques; the task's question and gold are payloads too). Each payload, if it
were parsed as markup, would set its own ``window.__pwned_<name>``. The views:

* the live Explorer (path cards, vote chart and caption, refinement diff, prompt lab
  comparison and its few-shot error),
* the trace browser (results table, the SQL error that quotes a hostile cell, the replay
  error that quotes a hostile run id, the replayed detail view),
* the exported run report (``workbench export RUN --html``),
* the exported notebook (``workbench export-notebook``) of the same Explorer.

For every (view, payload) the payload text must be visibly there as text, and at the end
no payload may have executed and no live handler / ``javascript:`` URL may exist. The
figures go to test-artifacts/injection.md and the terminal summary (see conftest.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest
import wb_browser as wb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fakes.hostile import PAYLOADS  # noqa: E402

pytestmark = pytest.mark.browser
TEXTS = [p.text for p in PAYLOADS]
CLI = [sys.executable, "-m", "workbench.cli.main"]

SETUP = """\
from widgets import Explorer
from workbench.backends.scripted import ScriptedBackend
from workbench.runner import RunSpec
from workbench.tasks.base import Problem

P = {payloads!r}

class HostileTask:
    name, kind, licence, description = "hostile", "math", "test", "payloads"
    problems = [Problem(id="h0", index=0, question=" ".join(P), answer=P[0])]
    def size(self): return 1
    def load(self, limit=None, offset=0): return self.problems[offset:]
    def answer_instruction(self): return "End with ANSWER: x"
    def extract(self, text):
        return text.rsplit("ANSWER: ", 1)[1].strip() if "ANSWER: " in text else None
    def grade(self, problem, answer): return answer == problem.answer
    def same(self, a, b): return a == b

def script(req, choice):
    last = req.messages[-1]["content"]
    if "VERDICT" in last and "Previous solution" not in last:
        return " ".join(P) + " VERDICT: INCORRECT"
    return " ".join(P) + " ANSWER: " + P[choice % len(P)]

explorer = Explorer(task=HostileTask(), model="scripted", backend=ScriptedBackend(script),
                    db={db!r})
await explorer.start(RunSpec(task="hostile", technique="sc", model="scripted", n=len(P),
                             items=(0,), budget=256))
"""
MESSAGE = ".wb-browser-message"
SQL_ERROR = "select avg(answer::INTEGER) from paths where role = 'path' and idx = {i}"

# Live markup a payload could have created (whether or not it fired yet).
_INJECTED = r"""(root) => {
  const sel = '[onerror],[onload],[onmouseover],[onfocus],[ontoggle],iframe[srcdoc],'
    + 'a[href^="javascript:" i],[src^="javascript:" i]';
  const live = [...(root || document).querySelectorAll(sel)].filter(
    e => Array.from(e.attributes).some(a => a.value.includes('__pwned')));
  // an injected <script> is one whose whole code is a payload's (inline JSON or a
  // plotly call that carries escaped payload text as data does not count)
  const scripts = [...(root || document).querySelectorAll('script')].filter(
    s => /^\s*(window|parent)\.__pwned/.test(s.textContent));
  return live.length + scripts.length;
}"""
_EXECUTED = "() => Object.keys(window).filter(k => k.startsWith('__pwned'))"


class Tally:
    """(view, payload) pairs tried and shown; executed / injected counts per surface."""

    def __init__(self, report: Any) -> None:
        self.report = report
        self.tried: dict[str, int] = {}
        self.shown: dict[str, int] = {}
        self.missing: list[str] = []

    def check(self, page: Any, view: str, css: str, texts: list[str] = TEXTS) -> None:
        """Every payload in ``texts`` is readable text inside ``css`` (escaped, not
        dropped); textContent, so SVG <title> hover text counts too."""
        content = page.eval_on_selector_all(css, "els => els.map(e => e.textContent)")
        joined = "\n".join(content)
        missing = [t for t in texts if t not in joined] if content else texts
        if missing:
            self.missing.append(f"{view}: payload text not shown: {missing[:3]}")
        self.shown[view] = self.shown.get(view, 0) + len(texts) - len(missing)
        self.tried[view] = self.tried.get(view, 0) + len(texts)

    def finish(self, page: Any, surface: str) -> None:
        """Nothing ran (no ``__pwned`` global) and no live handler or URL exists."""
        executed = page.evaluate(_EXECUTED)
        injected = page.evaluate(_INJECTED, None)
        for view, n in self.tried.items():
            self.report(surface, view, n, self.shown[view], len(executed), injected)
        missing, self.missing, self.tried, self.shown = self.missing, [], {}, {}
        assert (executed, injected, missing) == ([], 0, []), surface


def run_sql(page: Any, sql: str, css: str, expect: str) -> None:
    """Type ``sql`` into the trace browser, press Run SQL, wait for ``expect`` in ``css``."""
    page.fill(".wb-browser:visible .wb-sql textarea", sql)
    page.click(".wb-browser:visible .wb-sql-button")
    page.wait_for_function(
        "([css, t]) => [...document.querySelectorAll(css)].some("
        "e => e.textContent.includes(t))", arg=[css, expect], timeout=20_000)


def tab(page: Any, title: str) -> None:
    page.locator(".wb-explorer .lm-TabBar-tab", has_text=title).first.click()


def hostile_notebook(path: Path, db: str, extra: str = "") -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(SETUP.format(payloads=TEXTS, db=db) + extra
                                          + "explorer")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, path)
    return path


def test_live_explorer_trace_browser_and_run_report(
        page: Any, browser: Any, lab: wb.LabServer, lab_root: Path, net: wb.NetGuard,
        injection_report: Any, tmp_path: Path) -> None:
    tally = Tally(injection_report)
    db = tmp_path / "hostile.duckdb"
    name = hostile_notebook(lab_root / "hostile_live.ipynb", str(db)).name
    page.set_viewport_size({"width": 1400, "height": 2000})
    wb.open_notebook(page, lab, name)
    wb.run_all_cells(page)
    page.wait_for_selector(".wb-main .wb-paths > .wb-path", timeout=60_000)
    page.wait_for_function("(n) => document.querySelectorAll("
                           "'.wb-main .wb-paths > .wb-path').length === n", arg=len(TEXTS))
    page.wait_for_selector(".wb-main .wb-vote-chart .wb-vote-bar")
    tally.check(page, "explorer: path texts", ".wb-main .wb-path-text")
    tally.check(page, "explorer: path answers", ".wb-main .wb-path-answer")
    tally.check(page, "explorer: vote chart", ".wb-main .wb-vote-bars")
    tally.check(page, "explorer: vote caption + header", ".wb-main .wb-vote-caption, "
                ".wb-main .wb-paths-header", [TEXTS[0]])

    tab(page, "Traces")
    page.wait_for_selector(".wb-browser:visible .wb-sql textarea")
    for i in range(len(TEXTS)):  # DuckDB quotes path i's answer (payload i) in its error
        run_sql(page, SQL_ERROR.format(i=i), MESSAGE, f"idx = {i}")
        tally.check(page, "trace browser: SQL error", MESSAGE, [TEXTS[i]])
    quoted = " ".join(TEXTS).replace("'", "''")
    run_sql(page, f"select '{quoted}' as run_id, 1 as marker", ".wb-results th", "marker")
    page.click(".wb-browser:visible .wb-results .wb-row")
    page.wait_for_function("() => [...document.querySelectorAll('.wb-browser-message')]"
                           ".some(e => e.textContent.includes('No run'))")
    tally.check(page, "trace browser: replay error", MESSAGE,
                [t.replace("'", "\\'") for t in TEXTS])  # the message quotes with repr()
    run_sql(page, "select run_id, sample_id, idx, answer, text from paths order by idx",
            ".wb-results th", "idx")
    tally.check(page, "trace browser: results table", ".wb-browser:visible .wb-results td",
                [t for t in TEXTS if len(t) < 200])
    page.click(".wb-browser:visible .wb-results .wb-row >> nth=0")  # replay into detail
    page.wait_for_selector(".wb-browser-detail .wb-paths > .wb-path")
    tally.check(page, "trace browser: replayed paths", ".wb-browser-detail .wb-path-text")

    tab(page, "Prompt lab")  # both variants run the controls' spec: gold and answers
    page.click(".wb-lab-run-button")
    page.wait_for_selector(".wb-lab-compare .wb-lab-row", timeout=30_000)
    tally.check(page, "prompt lab: comparison table", ".wb-lab-compare", [TEXTS[0]])
    page.locator(".wb-prompt-fewshot textarea").first.fill(TEXTS[0])  # not Q:/A: blocks
    page.click(".wb-lab-run-button")
    page.wait_for_selector(".wb-lab-message:has-text('Few-shot block')")
    tally.check(page, "prompt lab: few-shot error", ".wb-lab-message", [TEXTS[0][:40]])

    tab(page, "Live")
    before = wb.progress_label(page)
    page.locator(".wb-technique select").select_option("refine")
    wb.watch_run(page, before)
    page.wait_for_selector(".wb-refinement:visible .wb-round")
    tally.check(page, "explorer: refinement diff + critique", ".wb-refinement:visible")
    wb.wait_kernel_idle(page)
    assert wb.error_outputs(page) == []
    wb.screenshot(page, "injection_live_explorer")
    tally.finish(page, "live Explorer + trace browser (JupyterLab)")
    assert net.blocked == []

    lab.delete_sessions()  # the kernel holds the trace file: release it for the export
    run_id = _sc_run(db)
    out = tmp_path / "report.html"
    _cli("export", run_id, "--db", str(db), "--html", str(out))
    _exported_report(browser, out, injection_report)


def _sc_run(db: Path) -> str:
    from workbench.store.store import Store

    store = Store.open(db, read_only=True)
    try:
        runs = store.runs()
        return str(runs.filter(runs["technique"] == "sc")["run_id"][0])
    finally:
        store.close()


def _cli(*args: str) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(wb.REPO),
                                                        os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([*CLI, *args], capture_output=True, text=True, env=env, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]


def _offline(browser: Any, path: Path) -> tuple[Any, Any, list[str]]:
    net = wb.NetGuard(allow_file=True)
    context = browser.new_context(viewport={"width": 1300, "height": 1600})
    net.install(context)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(path.resolve().as_uri(), wait_until="load")
    return context, page, errors


def _exported_report(browser: Any, out: Path, report: Any) -> None:
    tally = Tally(report)
    context, page, errors = _offline(browser, out)
    try:
        page.evaluate("() => document.querySelectorAll('details').forEach(d => d.open = true)")
        page.wait_for_selector(".wb-report-figure .main-svg")
        tally.check(page, "report: path texts", ".wb-report-text")
        tally.check(page, "report: items, answers, votes", ".wb-report-item")
        wb.screenshot(page, "injection_run_report")
        tally.finish(page, "exported run report")
        assert errors == []
    finally:
        context.close()


@pytest.mark.notebook
def test_exported_notebook(browser: Any, tmp_path: Path, injection_report: Any) -> None:
    """The same Explorer run with nbclient (widget state saved), a SQL error left in the
    trace browser, exported with ``workbench export-notebook`` and opened offline."""
    src = hostile_notebook(tmp_path / "hostile.ipynb", ":memory:",
                           "explorer.browser.run_sql('select avg(answer::INTEGER) from paths "
                           "where idx = 0')\n")
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True",
           "PYTHONPATH": os.pathsep.join([str(wb.REPO), os.environ.get("PYTHONPATH", "")])}
    code = ("import sys, nbformat; from nbclient import NotebookClient; p = sys.argv[1]; "
            "nb = nbformat.read(p, as_version=4); NotebookClient(nb, kernel_name='python3', "
            "timeout=120, store_widget_state=True).execute(); nbformat.write(nb, p)")
    done = subprocess.run([sys.executable, "-c", code, str(src)], capture_output=True,
                          text=True, env=env, cwd=tmp_path, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    out = tmp_path / "hostile.html"
    _cli("export-notebook", str(src), "--html", str(out))
    tally = Tally(injection_report)
    context, page, errors = _offline(browser, out)
    try:
        page.wait_for_selector(".wb-paths > .wb-path", timeout=60_000)
        page.wait_for_selector(".wb-vote-chart .wb-vote-bar")
        tally.check(page, "notebook: path texts", ".wb-main .wb-path-text")
        tally.check(page, "notebook: path answers", ".wb-main .wb-path-answer")
        tally.check(page, "notebook: vote chart", ".wb-main .wb-vote-bars")
        tally.check(page, "notebook: trace browser SQL error", ".wb-browser-message",
                    [TEXTS[0]])
        wb.screenshot(page, "injection_exported_notebook")
        tally.finish(page, "exported notebook")
        assert errors == []
    finally:
        context.close()
