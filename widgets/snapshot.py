"""A static picture of the Explorer's result, saved in the notebook as plain HTML.

Why: JupyterLab saves widget state only with *Save Widget State Automatically* on (off by
default), so after a kernel restart a saved notebook shows "Loading widget..." where the
Explorer was. Beside the widget the Explorer therefore displays this snapshot as an
ordinary ``text/html`` output with a display id, and updates it whenever a run ends, is
recomputed or replayed; the notebook file then always holds the last result: the status
line, a per-item table and the focused item's vote chart and paths. While the live widget
is on screen a CSS rule hides the snapshot; where the widget cannot render (kernel gone,
nbconvert, GitHub) the snapshot shows. Everything from a model or a user is escaped.
"""

from __future__ import annotations

from widgets.progress import progress_text
from widgets.state import RunState, SampleView
from widgets.tree import is_search_run, static_tree
from widgets.votes import chart_svg, vote_chart_data
from workbench.htmltext import escape

HIDE_WHEN_LIVE = ("<style>.jp-OutputArea:has(.wb-explorer) .wb-snapshot,"
                  ".jp-Cell-outputArea:has(.wb-explorer) .wb-snapshot{display:none}</style>")
TEXT_CHARS = 600
"""A path's text in the snapshot: its start and end, this many characters each at most."""


def _clip(text: str, n: int = TEXT_CHARS) -> str:
    return text if len(text) <= 2 * n else f"{text[:n]} … {text[-n:]}"


def _mark(correct: bool | None) -> str:
    return "" if correct is None else ("✓" if correct else "✗")


def items_table(state: RunState) -> str:
    rows = []
    for s in state.samples.values():
        if not s.scored:
            continue
        counts = ", ".join(f"{escape(str(a))}×{v:g}" for a, v in
                           (s.vote.counts.items() if s.vote else ()))
        rows.append(f"<tr><td>{s.item_index}</td><td>{escape(_clip(s.question, 120))}</td>"
                    f"<td>{escape(s.gold)}</td><td>{escape(str(s.answer))}</td>"
                    f"<td>{_mark(s.correct)}</td><td>{counts}</td></tr>")
    if not rows:
        return ""
    head = ("<tr><th>item</th><th>question</th><th>gold</th><th>answer</th><th></th>"
            "<th>votes</th></tr>")
    return f'<table class="wb-snapshot-items">{head}{"".join(rows)}</table>'


def paths_html(sample: SampleView | None) -> str:
    if sample is None:
        return ""
    cards = []
    for p in sample.paths.values():
        answer = sample.outcome_answer(p) if p.parent_id is None else p.answer
        cards.append(
            f'<details class="wb-snapshot-path"><summary>{escape(p.role)} {p.index} · '
            f"{escape(p.status)} · answer {escape(str(answer))} "
            f"{_mark(sample.outcome_correct(p))}</summary>"
            f'<pre style="white-space:pre-wrap">{escape(_clip(p.text))}</pre></details>')
    return "".join(cards)


def snapshot_html(state: RunState, where: str = "") -> str:
    """The whole snapshot for ``state`` (what the Explorer shows right now)."""
    if state.status == "idle":
        body = "<p>No run yet.</p>"
    else:
        focused = state.focused
        title = (f"item {focused.item_index}: {escape(_clip(focused.question, 200))}"
                 if focused is not None else "")
        tree = static_tree(state, focused) if is_search_run(state) else ""
        body = (f"<p>{progress_text(state)}</p>{items_table(state)}"
                f"<p><b>{title}</b></p>{chart_svg(vote_chart_data(focused))}"
                f"{tree}{paths_html(focused)}")
    source = f" · traces in <code>{escape(where)}</code>" if where else ""
    return (f'{HIDE_WHEN_LIVE}<div class="wb-snapshot"><p><i>Inference Workbench Explorer: '
            f"static snapshot of the last result (the live widget is not loaded; run the "
            f"cell to bring it back){source}</i></p>{body}</div>")
