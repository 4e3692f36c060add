"""widgets/static/tree.js in headless Chromium, fed the node list of a real scripted beam
fold through a fake anywidget model (no Jupyter): nesting, verdict marks, the final path,
click-to-expand, streamed text, and hostile step text shown as text."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "browser"))
sys.path.insert(0, str(REPO / "tests" / "techniques"))

import wb_browser as wb  # noqa: E402
from search_kit import TableScorer, backend  # noqa: E402
from test_tree_view import SCORES, _fold, _run  # noqa: E402

from widgets.tree import WIDGET_CSS, tree_nodes  # noqa: E402
from workbench.techniques import beam  # noqa: E402

pytestmark = pytest.mark.browser
HOSTILE = '<img src=x onerror="window.__pwned_tree=1">'

HARNESS = """async ([src, css, nodes]) => {
  const style = document.createElement('style'); style.textContent = css;
  document.head.append(style);
  const url = URL.createObjectURL(new Blob([src], {type: 'text/javascript'}));
  const mod = (await import(url)).default;
  const state = {header: 'h', nodes};
  const handlers = {};
  const model = {
    send: () => {}, get: (k) => state[k],
    on: (ev, f) => { (handlers[ev] = handlers[ev] || []).push(f); }, off: () => {},
  };
  const root = document.createElement('div');
  document.body.append(root);
  mod.render({model, el: root});
  window.wb = {
    setNodes(n) { state.nodes = n; for (const f of handlers['change:nodes'] || []) f(); },
    send(items) { for (const f of handlers['msg:custom'] || []) f({type: 'deltas', items}); },
  };
}"""


@pytest.fixture
def nodes(toy_task: Any) -> list[dict[str, Any]]:
    """Folded before the browser starts (sync playwright runs its own event loop)."""
    import asyncio

    return asyncio.run(_nodes(toy_task))


@pytest.fixture
def chrome(nodes: list[dict[str, Any]]) -> Iterator[Any]:
    wb.require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = wb.launch_chromium(pw)
        yield browser
        browser.close()


async def _nodes(toy_task: Any) -> list[dict[str, Any]]:
    st = _fold(await _run(beam(width=2, expansions=3, max_steps=3,
                               scorer=TableScorer(SCORES)), toy_task, b=backend()))
    return tree_nodes(st, st.focused)


def _page(chrome: Any, nodes: list[dict[str, Any]]) -> Any:
    pg = chrome.new_page(viewport={"width": 900, "height": 700})
    pg.set_content("<html><body></body></html>")
    pg.evaluate(HARNESS, [(REPO / "widgets/static/tree.js").read_text(), WIDGET_CSS, nodes])
    return pg


def test_tree_nests_marks_and_expands(chrome: Any, nodes: list[dict[str, Any]]) -> None:
    nodes[0] = {**nodes[0], "text": f"{HOSTILE}\n\nlast line {HOSTILE}"}
    pg = _page(chrome, nodes)
    got = pg.evaluate("""() => {
      const lis = [...document.querySelectorAll('li.wb-tree-node')];
      const depth = (li) => { let d = 0, p = li.parentElement.closest('li');
                              while (p) { d++; p = p.parentElement.closest('li'); } return d; };
      return {n: lis.length, depths: lis.map(depth),
              final: lis.filter((l) => l.classList.contains('wb-tree-final')).length,
              marks: lis.map((l) => l.querySelector('.wb-tree-mark').textContent),
              imgs: document.querySelectorAll('img').length,
              pwned: window.__pwned_tree === 1,
              tail0: lis[0].querySelector('.wb-tree-tail').textContent,
              border: getComputedStyle(document.querySelector('.wb-tree-pruned > details'))
                        .borderTopStyle};
    }""")
    assert got["n"] == 18 and sorted(got["depths"]) == [0] * 6 + [1] * 6 + [2] * 6
    assert got["final"] == 3 and sum("★ final" in m for m in got["marks"]) == 3
    assert sum(m.startswith("○ pruned") for m in got["marks"]) == 12
    assert got["imgs"] == 0 and not got["pwned"]
    assert got["tail0"] == f"last line {HOSTILE}" and got["border"] == "dashed"
    pg.click("li.wb-tree-node summary")  # expand the first step: its full text shows
    shown = pg.evaluate("() => document.querySelector('li.wb-tree-node pre').innerText")
    assert shown.startswith(HOSTILE) and pg.evaluate(
        "() => document.querySelector('li.wb-tree-node details').open")
    pg.close()


def test_running_steps_grow_by_deltas_and_keep_their_place(
        chrome: Any, nodes: list[dict[str, Any]]) -> None:
    running = [{**n, "status": "running", "text": "", "score": "", "final": False}
               for n in nodes[:2]]
    pg = _page(chrome, running)
    pg.evaluate("""(id) => { wb.send([{path: id, offset: 0, text: 'ab'}]);
                             wb.send([{path: id, offset: 1, text: 'bc'}]);
                             wb.send([{path: id, offset: 9, text: 'gap'}]); }""",
                running[0]["id"])
    text = pg.evaluate("() => document.querySelector('li.wb-tree-node pre').textContent")
    assert text == "abc"  # overlap dropped, gap ignored
    assert pg.evaluate("() => document.querySelector('li.wb-tree-node').dataset.status"
                       ) == "running"
    pg.evaluate("(n) => wb.setNodes(n)", nodes)  # the search went on: verdicts and texts
    got = pg.evaluate("""() => [...document.querySelectorAll('li.wb-tree-node')]
                               .slice(0, 2).map((l) => [l.dataset.status,
                               l.querySelector('pre').textContent])""")
    assert got == [[nodes[0]["status"], nodes[0]["text"]],
                   [nodes[1]["status"], nodes[1]["text"]]]
    pg.close()
