"""A search tree as static HTML: what the notebook snapshot and the offline report show.

Why static: the live tree (:mod:`widgets.tree`) is an anywidget that needs a kernel or a
widget manager; a saved notebook, an nbconvert page or the run report must still show the
search. So the same :class:`~workbench.analysis.search_tree.SearchTree` is drawn here as
nested lists of ``<details>`` (a step's one-line tail, click for its full text), built
only through :mod:`workbench.htmltext` (step text is model output). Kept, pruned and
unjudged steps differ by a text mark *and* by border style and weight, not by hue alone;
the colours that are used (blue, orange, grey) stay apart for colour-blind readers.
"""

from __future__ import annotations

from workbench.analysis.search_tree import SearchTree, TreeNode
from workbench.htmltext import Markup, html, join

TAIL_CHARS = 80
"""A node's summary line: the last line of its text, at most this many characters."""
MARKS = {"kept": "● kept", "pruned": "○ pruned", "unjudged": "◌ unjudged",
         "running": "… running"}
FINAL_MARK = "★ final"

CSS = """
.wb-tree { font-size: 12px; }
.wb-tree ul { list-style: none; margin: 0 0 0 14px; padding-left: 8px;
  border-left: 1px dotted #999; }
.wb-tree > ul { margin-left: 0; border-left: none; padding-left: 0; }
.wb-tree-node > details, .wb-tree-node > .wb-tree-box { border: 1px solid #bbb;
  border-radius: 4px; margin: 2px 0; padding: 1px 6px; background: #fff; }
.wb-tree-kept > details, .wb-tree-kept > .wb-tree-box { border: 2px solid #1f77b4; }
.wb-tree-pruned > details, .wb-tree-pruned > .wb-tree-box { border-style: dashed;
  color: #666; opacity: .8; }
.wb-tree-unjudged > details, .wb-tree-unjudged > .wb-tree-box { border-style: dotted; }
.wb-tree-final > details, .wb-tree-final > .wb-tree-box { border: 3px double #ff7f0e;
  font-weight: 600; }
.wb-tree-leading > details, .wb-tree-leading > .wb-tree-box { border: 3px dashed #ff7f0e; }
.wb-tree summary { cursor: pointer; white-space: nowrap; overflow: hidden;
  text-overflow: ellipsis; }
.wb-tree-text { white-space: pre-wrap; overflow-wrap: anywhere; margin: 2px 0;
  font-family: var(--jp-code-font-family, monospace); font-size: 11px; }
.wb-tree-mark { font-family: var(--jp-code-font-family, monospace); }
"""


def tail(text: str, n: int = TAIL_CHARS) -> str:
    """The last non-empty line of ``text``, its last ``n`` characters (why: a step's
    conclusion is at its end; the start is usually the same restated context)."""
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    last = lines[-1].strip() if lines else ""
    return last if len(last) <= n else "…" + last[-(n - 1):]


def score_text(node: TreeNode) -> str:
    """``score 0.9 (judge:m) · agg 0.8``, or ``unscored`` with who failed to score."""
    by = f" ({node.scorer})" if node.scorer else ""
    if node.score is None:
        return f"unscored{by}"
    agg = f" · agg {node.aggregate:.3g}" if node.aggregate is not None \
        and node.aggregate != node.score else ""
    return f"score {node.score:.3g}{by}{agg}"


def node_classes(status: str, final: bool, scored: bool) -> str:
    """CSS classes of a node: its status, and final (item scored) or leading (not yet)."""
    mark = (" wb-tree-final" if scored else " wb-tree-leading") if final else ""
    return f"wb-tree-node wb-tree-{status}{mark}"


def _node(tree: SearchTree, node_id: str, scored: bool) -> Markup:
    n = tree.nodes[node_id]
    kids = [_node(tree, c, scored) for c in n.children if c in tree.nodes]
    sub = html("<ul>{}</ul>", join("", kids)) if kids else Markup("")
    mark = MARKS[n.status] + (" " + FINAL_MARK if n.on_final_path and scored else "")
    answer = html(" · answer <b>{}</b>", n.answer) if n.answer is not None else Markup("")
    error = html('<div class="wb-tree-error">scorer error: {}</div>', n.score_error) \
        if n.score_error else Markup("")
    return html('<li class="{cls}" data-node-id="{id}" data-status="{status}"><details>'
                '<summary><span class="wb-tree-mark">{mark}</span> · step {step} · #{idx}'
                ' · {score}{answer} · <span class="wb-tree-tail">{tail}</span></summary>'
                '{error}<pre class="wb-tree-text">{text}</pre></details>{sub}</li>',
                cls=node_classes(n.status, n.on_final_path, scored), id=n.id,
                status=n.status, mark=mark, step=n.step, idx=n.index,
                score=score_text(n), answer=answer, tail=tail(n.text), error=error,
                text=n.text, sub=sub)


def tree_html(tree: SearchTree, *, scored: bool = True, css: bool = True) -> Markup:
    """The whole tree as nested lists. ``scored``: the item is finished, so the final
    path is marked final (before that it is only the leading chain)."""
    if not tree.nodes:
        return Markup('<div class="wb-tree wb-tree-empty">No search steps.</div>')
    counts = {s: sum(1 for n in tree.nodes.values() if n.status == s)
              for s in ("kept", "pruned", "unjudged")}
    legend = html('<div class="wb-tree-legend">{} steps · {} kept · {} pruned · {} unjudged'
                  " · {} marks the {}</div>", len(tree.nodes), counts["kept"],
                  counts["pruned"], counts["unjudged"], FINAL_MARK,
                  "final answer's path" if scored else "leading chain (search running)")
    roots = join("", (_node(tree, r, scored) for r in tree.roots))
    style = html("<style>{}</style>", Markup(CSS)) if css else Markup("")
    return html('{}<div class="wb-tree">{}<ul>{}</ul></div>', style, legend, roots)
