"""A step-level search, live, as a tree: the Explorer's view of ``beam`` / ``dvts`` runs.

The same fold as every view: :class:`~widgets.state.RunState` keeps each path with its
``step``, ``score``, ``scorer`` and ``kept``; :func:`step_rows` turns one item's step paths
into the rows :meth:`Store.search_steps` returns for a stored run, and
:func:`~workbench.analysis.search_tree.tree_from_rows` builds the tree from either, so the
live tree, a replay and the stored tree are one computation. Nodes appear on
``PathStarted`` (running), their text grows with ``TokenDelta`` (sent to the front-end as
delta messages, like the paths view), and a step's ``PathFinished`` (released by the search
once it is scored and judged) gives its score, scorer and kept / pruned. The chain the
search would answer from is marked "leading" while the item runs and "final" once scored.

The node list (with texts) is a synced trait, re-sent when the tree's structure or a
verdict changes (at most at the sink's 20 Hz); streamed text goes as delta messages in
between. Step texts are short (one step's token budget), so a full re-send is cheap and a
late-displayed view needs no resync protocol: the next node sync repairs any gap. All
model text is set with ``textContent`` in ``static/tree.js``; the static picture for
snapshots and exports is :func:`workbench.export.tree_html.tree_html`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anywidget
import traitlets

from widgets.sink import Delta
from widgets.state import RunState, SampleView
from workbench.analysis.search_tree import SearchTree, tree_from_rows
from workbench.export.tree_html import CSS, score_text, tail, tree_html
from workbench.htmltext import Markup
from workbench.techniques.registry import view_of

STATIC = Path(__file__).parent / "static"
STEP_ROLE = "step"
WIDGET_CSS = CSS + """
.wb-tree-header { font-weight: 600; margin: 4px 0; }
.wb-tree-kids:empty { display: none; }
.wb-tree-error { color: #8c564b; }
.wb-tree-error[hidden] { display: none; }
"""
"""The static tree's rules (one source for both pictures) plus the widget's own."""


def is_search_run(state: RunState) -> bool:
    """The run's technique is drawn as a tree (``TechniqueInfo.view``, from the registry)."""
    if state.started is None:
        return False
    import workbench.techniques  # noqa: F401  (registers every technique)

    return view_of(state.started.technique) == "tree"


def aggregation(state: RunState) -> str:
    """The run's step-score aggregation (it decides the final chain), ``last`` if unsaid."""
    params = state.started.params if state.started is not None else {}
    return str(params.get("aggregate") or "last")


def step_rows(sample: SampleView) -> list[dict[str, Any]]:
    """One item's step paths as :meth:`Store.search_steps` rows (the columns the tree
    builder reads), with each step's scorer errors joined as the store joins them."""
    errors: dict[str, list[str]] = {}
    for p in sample.paths.values():
        if p.role == "score" and p.parent_id is not None and p.error:
            errors.setdefault(p.parent_id, []).append(p.error)
    return [{"sample_id": sample.sample_id, "path_id": p.path_id, "parent_id": p.parent_id,
             "step": p.step, "idx": p.index, "text": p.text, "answer": p.answer,
             "stored_answer": p.answer, "score": p.score, "scorer": p.scorer,
             "kept": p.kept, "score_error": "; ".join(errors[p.path_id])
             if p.path_id in errors else None}
            for p in sample.paths.values() if p.role == STEP_ROLE]


def sample_tree(state: RunState, sample: SampleView | None) -> SearchTree:
    """The search tree of one item as folded so far."""
    if sample is None:
        return SearchTree(sample_id="")
    return tree_from_rows(step_rows(sample), aggregation(state))


def tree_nodes(state: RunState, sample: SampleView | None) -> list[dict[str, Any]]:
    """The node list the front-end draws (JSON-ready), parents before children."""
    if sample is None:
        return []
    tree = sample_tree(state, sample)
    out = []
    for nid, n in tree.nodes.items():
        path = sample.paths[nid]
        status = n.status if path.done else "running"
        out.append({"id": nid, "parent": n.parent, "step": n.step, "index": n.index,
                    "text": n.text, "tail": tail(n.text), "status": status,
                    "score": score_text(n) if path.done else "",
                    "answer": n.answer, "error": n.score_error,
                    "final": n.on_final_path, "scored": sample.scored})
    return out


def tree_header(state: RunState, sample: SampleView | None) -> str:
    """One line above the tree: item, steps so far, verdict counts, the answer."""
    if sample is None:
        return "Waiting for the search…"
    nodes = [p for p in sample.paths.values() if p.role == STEP_ROLE]
    kept = sum(1 for p in nodes if p.kept)
    pruned = sum(1 for p in nodes if p.kept is False)
    parts = [f"item {sample.item_index}" if sample.item_index is not None else "item",
             f"{len(nodes)} steps", f"{kept} kept", f"{pruned} pruned",
             f"aggregate {aggregation(state)}"]
    if sample.scored:
        parts.append(f"answer {sample.answer} {'✓' if sample.correct else '✗'}")
    return " · ".join(parts)


def static_tree(state: RunState, sample: SampleView | None) -> Markup:
    """The tree of one item as static HTML (the notebook snapshot and exports)."""
    return tree_html(sample_tree(state, sample), scored=bool(sample and sample.scored))


class TreeView(anywidget.AnyWidget):
    """The focused item's search tree; hidden unless the run is a search. Call
    :meth:`update` from the sink's renderer."""

    _esm = STATIC / "tree.js"
    _css = WIDGET_CSS
    nodes = traitlets.List(traitlets.Dict()).tag(sync=True)
    header = traitlets.Unicode("").tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.add_class("wb-tree-widget")
        self.layout.display = "none"
        self.messages_sent = 0

    def update(self, state: RunState, stale: set[str], deltas: list[Delta]) -> None:
        """Apply one flush: show or hide, node list if stale, step deltas as one message."""
        shown = is_search_run(state)
        self.layout.display = None if shown else "none"
        if not shown:
            if self.nodes:
                self.nodes, self.header = [], ""
            return
        if "paths" in stale:
            self.header = tree_header(state, state.focused)
            self.nodes = tree_nodes(state, state.focused)
        sample = state.focused
        steps = [d for d in deltas if sample is not None and d["path"] in sample.paths
                 and sample.paths[d["path"]].role == STEP_ROLE]
        if steps:
            self.send({"type": "deltas", "items": steps})
            self.messages_sent += 1
