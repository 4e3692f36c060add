"""widgets/static/paths.js in headless Chromium, with a fake anywidget model (no Jupyter).

The front end splits each card's text into block chunks and writes the DOM once per
animation frame (see the module's header). What must hold whatever the chunking: the card
shows exactly the streamed text (textContent and innerText, so copy-paste is faithful),
the lines wrap as one continuous pre-wrap block would (same rendered height), gaps wait
for the ``texts`` sync, and a card scrolled to the bottom follows the stream.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "browser"))

import wb_browser as wb  # noqa: E402

pytestmark = pytest.mark.browser
STATIC = REPO / "widgets" / "static"

HARNESS = """async ([src, css]) => {
  const style = document.createElement('style'); style.textContent = css;
  document.head.append(style);
  const url = URL.createObjectURL(new Blob([src], {type: 'text/javascript'}));
  const mod = (await import(url)).default;
  const state = {header: 'h', texts: {}, paths: [
    {id: 'a', role: 'path', label: '#0', answer: null, correct: null, truncated: false,
     status: 'running', badge: '…', color: '#ccc'}]};
  const handlers = {};
  const sent = [];
  const model = {
    send: (m) => sent.push(m),
    get: (k) => state[k],
    on: (ev, f) => { (handlers[ev] = handlers[ev] || []).push(f); },
    off: () => {},
  };
  const root = document.createElement('div'); root.style.width = '300px';
  document.body.append(root);
  mod.render({model, el: root});
  const frame = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  window.wb = {
    async send(items) { for (const f of handlers['msg:custom'] || []) f({type: 'deltas', items});
                        await frame(); },
    async stream(text, step, perFrame) {  // many messages, a frame every `perFrame`
      for (let off = 0, n = 0; off < text.length; off += step, n++) {
        const items = [{path: 'a', offset: off, text: text.slice(off, off + step)}];
        for (const f of handlers['msg:custom'] || []) f({type: 'deltas', items});
        if (n % perFrame === perFrame - 1) await new Promise((r) => requestAnimationFrame(r));
      }
      await frame();
    },
    async setTexts(texts) { state.texts = texts;
                            for (const f of handlers['change:texts'] || []) f(); await frame(); },
    async setPaths(paths) { state.paths = paths;
                            for (const f of handlers['change:paths'] || []) f(); await frame(); },
    text: () => document.querySelector('.wb-path-text'),
    sent,
  };
}"""


@pytest.fixture(scope="module")
def chrome() -> Iterator[Any]:
    wb.require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = wb.launch_chromium(pw)
        yield browser
        browser.close()


def fresh(browser: Any) -> Any:
    pg = browser.new_page(viewport={"width": 800, "height": 600})
    pg.set_content("<html><body></body></html>")
    pg.evaluate(HARNESS, [(STATIC / "paths.js").read_text(), (STATIC / "paths.css").read_text()])
    return pg


def stream(pg: Any, text: str, step: int, per_frame: int = 5) -> None:
    pg.evaluate("([t, s, k]) => wb.stream(t, s, k)", [text, step, per_frame])


def shown(pg: Any) -> dict[str, Any]:
    """The card's textContent / innerText, its chunk count, and the height the same text
    takes in one continuous block of the same width and style."""
    return pg.evaluate("""() => {
      const t = wb.text();
      const twin = document.createElement('div');
      twin.className = 'wb-path-text';
      twin.style.cssText = 'max-height:none; overflow:visible; width:' + t.clientWidth + 'px';
      twin.textContent = t.textContent;
      t.parentElement.append(twin);
      t.style.maxHeight = 'none';
      const out = {text: t.textContent, inner: t.innerText, chunks: t.children.length,
                   height: t.scrollHeight, twin: twin.scrollHeight};
      t.style.maxHeight = ''; twin.remove();
      return out;
    }""")


TEXTS = {
    "prose": ("Let me think step by step about the sum of the numbers.\n"
              "First 12 + 30 = 42.\n\nThen 42 - 5 = 37.\n\n\nSo the result is 37.\n") * 15
             + "The answer is 37.",
    "one long line": " ".join(f"w{i}-{i * 7}@17000000.{i % 10}" for i in range(150)),
    "newlines only": "\n" * 5 + "x\n" * 400 + "\n\n",
}


CASES = [(name, step, per_frame) for name in TEXTS
         for step, per_frame in ((1, 12), (7, 3), (300, 1))]
CASES += [("prose", 1, 1), ("newlines only", 1, 1)]  # one character per frame


@pytest.mark.parametrize(("name", "step", "per_frame"), CASES)
def test_streamed_text_is_exact_in_every_reading(chrome: Any, name: str, step: int,
                                                 per_frame: int) -> None:
    """Pieces from 1 character per frame up to 300: every way a cut can fall."""
    text = TEXTS[name][:560] if step == per_frame == 1 else TEXTS[name]
    pg = fresh(chrome)
    stream(pg, text, step, per_frame)
    got = shown(pg)
    assert got["text"] == text
    assert got["chunks"] > 1  # it was split into blocks ...
    if name != "one long line":  # ... invisibly (a 1 kB line gets one early wrap)
        assert got["inner"].rstrip("\n") == text.rstrip("\n")
        assert got["height"] == got["twin"]
    pg.close()


def test_gaps_ask_for_texts_once_and_duplicates_are_dropped(chrome: Any) -> None:
    pg = fresh(chrome)
    pg.evaluate("() => wb.send([{path: 'a', offset: 0, text: 'abc'}])")
    pg.evaluate("() => wb.send([{path: 'a', offset: 1, text: 'bcd'}])")  # overlap: adds 'd'
    assert pg.evaluate("() => wb.sent") == []
    pg.evaluate("() => wb.send([{path: 'a', offset: 9, text: 'zz'}])")  # gap: ignored ...
    pg.evaluate("() => wb.send([{path: 'a', offset: 11, text: 'zz'}])")
    assert shown(pg)["text"] == "abcd"
    assert pg.evaluate("() => wb.sent") == [{"type": "resync"}]  # ... asked for once
    pg.evaluate("() => wb.setTexts({a: 'abcdefghi'})")  # the kernel's answer extends it
    pg.evaluate("() => wb.send([{path: 'a', offset: 9, text: 'zz'}])")
    assert shown(pg)["text"] == "abcdefghizz"
    pg.evaluate("() => wb.setTexts({a: 'abc'})")  # a prefix of what we hold: kept
    assert shown(pg)["text"] == "abcdefghizz"
    pg.evaluate("() => wb.setTexts({a: 'xyz'})")  # disagrees: redrawn
    assert shown(pg)["text"] == "xyz"
    pg.evaluate("() => wb.send([{path: 'a', offset: 5, text: '!'}])")
    assert pg.evaluate("() => wb.sent.length") == 2  # a new gap after a sync asks again
    pg.close()


def test_restored_texts_are_in_the_dom_at_once(chrome: Any) -> None:
    pg = chrome.new_page()
    pg.set_content("<html><body></body></html>")
    pg.evaluate(HARNESS.replace("texts: {}", "texts: {a: 'saved text\\nThe answer is 4.'}"),
                [(STATIC / "paths.js").read_text(), (STATIC / "paths.css").read_text()])
    assert pg.evaluate("() => wb.text().textContent") == "saved text\nThe answer is 4."
    pg.close()


def test_card_follows_the_stream_only_when_scrolled_to_the_bottom(chrome: Any) -> None:
    pg = fresh(chrome)
    line = "a line of reasoning\n"
    stream(pg, line * 40, len(line) * 4)
    at_bottom = "() => { const t = wb.text(); " \
                "return t.scrollTop + t.clientHeight >= t.scrollHeight - 4; }"
    assert pg.evaluate(at_bottom)
    pg.evaluate("() => { wb.text().scrollTop = 0; }")
    stream(pg, line * 50, len(line) * 10)  # offsets restart at 0: 40 lines again, 10 new
    assert pg.evaluate("() => wb.text().scrollTop") == 0  # the reader's place is kept
    assert pg.evaluate("() => wb.text().textContent") == line * 50  # and the text arrived
    pg.close()


CARD = {"role": "path", "label": "#0", "answer": None, "correct": None, "truncated": False,
        "badge": "…", "color": "#ccc"}


def test_a_finished_card_shows_the_start_of_its_reasoning(chrome: Any) -> None:
    """Issue 12.6: a card that followed its stream jumps back to the top when it ends."""
    pg = fresh(chrome)
    line = "a line of reasoning\n"
    stream(pg, line * 40, len(line) * 4)
    assert pg.evaluate("() => wb.text().scrollTop") > 0  # following the bottom
    pg.evaluate("(p) => wb.setPaths(p)", [{**CARD, "id": "a", "status": "done",
                                            "answer": "4", "badge": "✓ correct"}])
    assert pg.evaluate("() => wb.text().scrollTop") == 0
    pg.close()


def test_cards_size_to_their_own_text_not_the_tallest_in_the_row(chrome: Any) -> None:
    pg = fresh(chrome)
    pg.evaluate("() => { document.querySelector('.wb-paths-root').style.width = '700px'; }")
    pg.evaluate("(p) => wb.setPaths(p)", [{**CARD, "id": "a", "status": "done"},
                                           {**CARD, "id": "b", "status": "done"}])
    pg.evaluate("(t) => wb.setTexts(t)", {"a": "short", "b": "long line\n" * 30})
    heights = pg.evaluate("() => [...document.querySelectorAll('.wb-paths > .wb-path')]"
                          ".map(c => [c.offsetTop, c.offsetHeight])")
    (top_a, h_a), (top_b, h_b) = heights
    assert top_a == top_b and h_a < h_b / 2, heights  # same row, not stretched
    pg.close()
