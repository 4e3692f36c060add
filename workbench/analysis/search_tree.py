"""A stored search as a tree: pure code from step rows to nodes a view can draw.

Input: the frame of :meth:`workbench.store.store.Store.search_steps` (one row per step:
``path_id``, ``parent_id``, ``step``, ``idx``, ``text``, ``score``, ``scorer``, ``kept``,
answers and the scorer's error). Output: per item a :class:`SearchTree` whose nodes carry
their text, step score, aggregate score along their chain, kept / pruned / unjudged, and
whether they lie on the final answer's path.

The final path is found by the rule the search itself used
(:func:`workbench.techniques.search.final_choice`): among surviving leaves (kept steps with
no children), the best aggregate of those with an answer, else the best overall; ties go
to the lower path index. The aggregation must be the run's (``runs.params.aggregate``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from workbench.techniques.aggregation import aggregate, rank_key


@dataclass(frozen=True)
class TreeNode:
    """One step of the search."""

    id: str
    parent: str | None
    step: int
    index: int
    text: str
    answer: str | None
    score: float | None
    scorer: str | None
    kept: bool | None  # True kept, False pruned, None never judged (search cut short)
    aggregate: float | None
    score_error: str | None = None
    children: tuple[str, ...] = ()
    on_final_path: bool = False

    @property
    def status(self) -> str:
        return {True: "kept", False: "pruned", None: "unjudged"}[self.kept]


@dataclass(frozen=True)
class SearchTree:
    """The steps of one item, by id in generation order, with roots and the final leaf."""

    sample_id: str
    nodes: dict[str, TreeNode] = field(default_factory=dict)
    roots: tuple[str, ...] = ()
    final_leaf: str | None = None

    def final_path(self) -> list[TreeNode]:
        """Root to final leaf."""
        return [n for n in self.nodes.values() if n.on_final_path]


def _chain_scores(rows: Mapping[str, dict[str, Any]], node_id: str) -> list[float | None]:
    out: list[float | None] = []
    seen: set[str] = set()
    cur: str | None = node_id
    while cur is not None and cur in rows and cur not in seen:
        seen.add(cur)
        out.append(rows[cur]["score"])
        cur = rows[cur]["parent_id"]
    return out[::-1]


def _final_leaf(rows: Mapping[str, dict[str, Any]], children: Mapping[str, list[str]],
                aggs: Mapping[str, float | None]) -> str | None:
    leaves = [i for i, r in rows.items() if r["kept"] and not children.get(i)]
    answered = [i for i in leaves if _answer(rows[i]) is not None]
    pool = answered or leaves
    if not pool:
        return None
    return min(pool, key=lambda i: rank_key(aggs[i], int(rows[i]["idx"] or 0)))


def _answer(row: Mapping[str, Any]) -> str | None:
    return row.get("stored_answer", row.get("answer"))  # what the search saw, not regrades


def build_tree(steps: pl.DataFrame, how: str = "last") -> SearchTree:
    """The tree of one item's step rows (``steps`` filtered to one ``sample_id``)."""
    return tree_from_rows(list(steps.iter_rows(named=True)), how)


def tree_from_rows(steps: Sequence[Mapping[str, Any]], how: str = "last") -> SearchTree:
    """The tree of one item's step rows given as dicts with the columns of
    :meth:`~workbench.store.store.Store.search_steps`: why not only frames: the live
    tree view folds events into rows and must draw exactly what the stored rows give."""
    if not steps:
        return SearchTree(sample_id="")
    rows = {r["path_id"]: dict(r) for r in steps}
    children: dict[str, list[str]] = {}
    for pid, r in rows.items():
        if r["parent_id"] in rows:
            children.setdefault(r["parent_id"], []).append(pid)
    aggs = {pid: aggregate(_chain_scores(rows, pid), how) for pid in rows}
    leaf = _final_leaf(rows, children, aggs)
    on_path = set()
    cur = leaf
    while cur is not None and cur in rows and cur not in on_path:
        on_path.add(cur)
        cur = rows[cur]["parent_id"]
    nodes = {pid: TreeNode(
        id=pid, parent=r["parent_id"] if r["parent_id"] in rows else None,
        step=int(r["step"] or 0), index=int(r["idx"] or 0), text=r["text"] or "",
        answer=_answer(r), score=r["score"], scorer=r["scorer"], kept=r["kept"],
        aggregate=aggs[pid], score_error=r.get("score_error"),
        children=tuple(children.get(pid, ())), on_final_path=pid in on_path)
        for pid, r in rows.items()}
    roots = tuple(pid for pid, n in nodes.items() if n.parent is None)
    first = next(iter(rows.values()))
    return SearchTree(sample_id=str(first["sample_id"]), nodes=nodes, roots=roots,
                      final_leaf=leaf)


def build_trees(steps: pl.DataFrame, how: str = "last") -> dict[str, SearchTree]:
    """One tree per item (``sample_id``) of a run's step rows."""
    if steps.height == 0:
        return {}
    return {str(sid): build_tree(g, how)
            for (sid,), g in steps.group_by("sample_id", maintain_order=True)}


def tree_frame(tree: SearchTree) -> pl.DataFrame:
    """The nodes as a frame (id, parent, step, index, text, answer, score, scorer, status,
    aggregate, on_final_path, n_children): for tables and exports."""
    schema = {"id": pl.String, "parent": pl.String, "step": pl.Int64, "index": pl.Int64,
              "text": pl.String, "answer": pl.String, "score": pl.Float64,
              "scorer": pl.String, "status": pl.String, "aggregate": pl.Float64,
              "on_final_path": pl.Boolean, "n_children": pl.Int64}
    return pl.DataFrame([{
        "id": n.id, "parent": n.parent, "step": n.step, "index": n.index, "text": n.text,
        "answer": n.answer, "score": n.score, "scorer": n.scorer, "status": n.status,
        "aggregate": n.aggregate, "on_final_path": n.on_final_path,
        "n_children": len(n.children)} for n in tree.nodes.values()], schema=schema)
