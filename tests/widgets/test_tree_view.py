"""The live search tree: folded from a scripted beam run with known scores (which steps
exist, their parents, kept / pruned, the final path), streamed node by node, replayed from
a real store into the same tree the stored rows give, and escaped in its static HTML."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "techniques"))
from search_kit import TableScorer, backend  # noqa: E402

from widgets.live import LiveView  # noqa: E402
from widgets.snapshot import snapshot_html  # noqa: E402
from widgets.state import RunState  # noqa: E402
from widgets.tree import (  # noqa: E402
    TreeView,
    is_search_run,
    sample_tree,
    static_tree,
    tree_nodes,
)
from workbench.analysis.search_tree import SearchTree, build_trees  # noqa: E402
from workbench.backends.scripted import ScriptedBackend  # noqa: E402
from workbench.events import (  # noqa: E402
    Event,
    PathFinished,
    PathStarted,
    SampleScored,
    TokenDelta,
)
from workbench.export.html import run_report_html  # noqa: E402
from workbench.runner import RunSpec, run  # noqa: E402
from workbench.store.recorder import Recorder  # noqa: E402
from workbench.store.replay import replay  # noqa: E402
from workbench.store.store import Store  # noqa: E402
from workbench.techniques import beam, cot, dvts  # noqa: E402

# The scores of tests/techniques/test_beam.py: width 2, 3 expansions, 3 steps. Step 0:
# idx 0..5, kept 1 and 3; step 1: 6..8 (from 1), 9..11 (from 3), kept 9 and 10; step 2:
# 12..14 (from 9), 15..17 (from 10), kept 13 and 15. Final chain 3 -> 10 -> 15.
SCORES = {0: .1, 1: .9, 2: .3, 3: .8, 4: .2, 5: .5,
          6: .4, 7: .1, 8: .2, 9: .7, 10: .95, 11: .3,
          12: .5, 13: .75, 14: .1, 15: .99, 16: .2, 17: .3}
KEPT = {1, 3, 9, 10, 13, 15}
HOSTILE = "<img src=x onerror=alert(1)>"


async def _run(technique: Any, task: Any, name: str = "beam", b: Any = None,
               sinks: tuple[Any, ...] = (), limit: int = 1) -> list[Event]:
    events: list[Event] = []
    spec = RunSpec(task="toy", technique=name, limit=limit, offset=1)
    await run(spec, b or backend(), [events.append, *sinks], task=task, technique=technique)
    return events


def _fold(events: list[Event]) -> RunState:
    st = RunState()
    for e in events:
        st.apply(e)
    return st


def _beam() -> Any:
    return beam(width=2, expansions=3, max_steps=3, scorer=TableScorer(SCORES))


def _by_index(tree: SearchTree) -> dict[int, Any]:
    return {n.index: n for n in tree.nodes.values()}


async def test_fold_of_a_scripted_beam_is_exact(toy_task) -> None:
    st = _fold(await _run(_beam(), toy_task))
    assert is_search_run(st)
    tree = sample_tree(st, st.focused)
    nodes = _by_index(tree)
    assert sorted(nodes) == list(range(18))
    assert sorted(tree.nodes[r].index for r in tree.roots) == [0, 1, 2, 3, 4, 5]
    parent = {i: nodes[tree.nodes[n.parent].index if n.parent else None]
              if n.parent else None for i, n in nodes.items()}
    assert [parent[i].index for i in (6, 7, 8)] == [1, 1, 1]  # type: ignore[union-attr]
    assert [parent[i].index for i in (9, 10, 11)] == [3, 3, 3]  # type: ignore[union-attr]
    assert [parent[i].index for i in (12, 13, 14)] == [9, 9, 9]  # type: ignore[union-attr]
    assert [parent[i].index for i in (15, 16, 17)] == [10] * 3  # type: ignore[union-attr]
    assert {i for i, n in nodes.items() if n.status == "kept"} == KEPT
    assert {i for i, n in nodes.items() if n.status == "pruned"} == set(range(18)) - KEPT
    assert all(n.score == SCORES[i] and n.scorer == "table" for i, n in nodes.items())
    assert [n.index for n in tree.final_path()] == [3, 10, 15]
    assert nodes[15].answer == "15" and st.focused is not None and st.focused.answer == "15"
    drawn = {d["index"]: d for d in tree_nodes(st, st.focused)}
    assert {i for i, d in drawn.items() if d["final"]} == {3, 10, 15}
    assert all(d["scored"] and d["status"] != "running" for d in drawn.values())
    assert drawn[15]["score"] == "score 0.99 (table)" and drawn[15]["tail"].endswith("15")


async def test_the_tree_grows_node_by_node_as_events_arrive(toy_task) -> None:
    events = await _run(_beam(), toy_task)
    live, sent = LiveView(), []
    live.tree.send = lambda content, buffers=None: sent.append(content)  # type: ignore
    first = next(i for i, e in enumerate(events) if isinstance(e, PathStarted))
    live.sink.feed(events[:first + 1])
    assert live.tree.layout.display is None  # a search: the tree is on screen
    (node,) = live.tree.nodes
    assert node["status"] == "running" and node["text"] == "" and node["score"] == ""
    seen_running, seen_text = 1, False  # the first node, checked above
    for e in events[first + 1:]:
        live.sink(e)
        live.sink.flush()
        if isinstance(e, PathStarted) and e.role == "step":
            assert e.path_id in {n["id"] for n in live.tree.nodes}  # appears at once
            seen_running += any(n["id"] == e.path_id and n["status"] == "running"
                                for n in live.tree.nodes)
        if isinstance(e, TokenDelta) and e.path_id in {n["id"] for n in live.tree.nodes}:
            seen_text = True  # text goes as a delta message, not a node re-sync
            assert sent and sent[-1]["items"][-1]["path"] == e.path_id
        if isinstance(e, PathFinished) and e.kept is not None:
            (n,) = [n for n in live.tree.nodes if n["id"] == e.path_id]
            assert n["status"] == ("kept" if e.kept else "pruned")
            assert n["score"].startswith("score ") and n["text"] == e.text
        if isinstance(e, SampleScored):
            assert [n["index"] for n in live.tree.nodes if n["final"]] == [3, 10, 15]
    assert seen_running == 18 and seen_text
    assert "6 kept" in live.tree.header and "answer 15 ✗" in live.tree.header


async def test_the_tree_marks_the_leading_chain_before_the_item_is_scored(toy_task) -> None:
    events = await _run(_beam(), toy_task)
    cut = next(i for i, e in enumerate(events) if isinstance(e, SampleScored))
    st = _fold(events[:cut])
    drawn = tree_nodes(st, st.focused)
    assert [d["index"] for d in drawn if d["final"]] == [3, 10, 15]
    assert not any(d["scored"] for d in drawn)
    page = str(static_tree(st, st.focused))
    assert page.count("wb-tree-leading\"") == 3 and "wb-tree-final\"" not in page
    assert "★ final" not in page.split("</style>")[1].split("</div>", 1)[1]


async def test_replay_from_a_store_gives_the_live_tree(toy_task, tmp_path: Path) -> None:
    store = Store.open(tmp_path / "t.duckdb")
    try:
        events = await _run(_beam(), toy_task, sinks=(Recorder(store),), limit=2)
        store.con.execute("CHECKPOINT")
        run_id = events[0].run_id
        live, again = _fold(events), _fold(replay(store, run_id))
        stored = build_trees(store.search_steps(run_id), "last")
        assert len(live.samples) == 2 and set(stored) == set(live.samples)
        for sid, sample in live.samples.items():
            tree = sample_tree(live, sample)
            assert len(tree.nodes) == 18 and tree.final_leaf is not None
            assert sample_tree(again, again.samples[sid]) == tree  # replay == live
            assert stored[sid] == tree  # the stored rows' builder agrees node by node
            assert tree_nodes(again, again.samples[sid]) == tree_nodes(live, sample)
        view = LiveView()
        view.show(replay(store, run_id))
        assert view.tree.layout.display is None and len(view.tree.nodes) == 18
    finally:
        store.close()


async def test_dvts_draws_independent_subtrees(toy_task) -> None:
    st = _fold(await _run(dvts(width=2, expansions=3, max_steps=3,
                               scorer=TableScorer(SCORES)), toy_task, name="dvts"))
    tree = sample_tree(st, st.focused)
    assert len(tree.roots) == 6
    kept_per_step = {}
    for n in tree.nodes.values():
        kept_per_step[n.step] = kept_per_step.get(n.step, 0) + (n.status == "kept")
    assert kept_per_step == {0: 2, 1: 2, 2: 2}  # one survivor per subtree per step
    assert len(tree.final_path()) == 3


async def test_a_run_that_is_not_a_search_hides_the_tree(toy_task) -> None:
    b = ScriptedBackend(lambda req, i: "The answer is 2")
    live = LiveView()
    live.show(await _run(cot(budget=32), toy_task, name="cot", b=b))
    assert not is_search_run(live.state)
    assert live.tree.layout.display == "none" and live.tree.nodes == []
    assert "wb-tree" not in snapshot_html(live.state)


def _hostile_backend() -> ScriptedBackend:
    def script(req: Any, choice: int) -> str:
        if req.messages[-1]["role"] == "assistant":
            return f"{HOSTILE} so The answer is {HOSTILE}"
        return f"{HOSTILE} step\n\nnever reached"
    return ScriptedBackend(script)


async def test_hostile_step_text_is_escaped_everywhere(toy_task, tmp_path: Path) -> None:
    store = Store.open(tmp_path / "t.duckdb")
    try:
        events = await _run(beam(width=2, expansions=2, max_steps=2,
                                 scorer=TableScorer({i: i / 10 for i in range(8)})),
                            toy_task, b=_hostile_backend(), sinks=(Recorder(store),))
        st = _fold(events)
        pages = {"static tree": str(static_tree(st, st.focused)),
                 "snapshot": snapshot_html(st),
                 "run report": run_report_html(store, events[0].run_id)}
        for name, page in pages.items():
            assert "<img" not in page, name
            assert "&lt;img src=x onerror=alert(1)&gt;" in page, name
        assert "Search tree" in pages["run report"]
        assert pages["static tree"].count('data-status="kept"') == 4
        # the live widget gets text as JSON data (written with textContent in tree.js)
        assert any(HOSTILE in n["text"] for n in tree_nodes(st, st.focused))
    finally:
        store.close()


def test_the_front_end_module_is_loaded_and_sets_text_only() -> None:
    view = TreeView()
    js = str(view._esm)
    assert "msg:custom" in js and "textContent" in js
    assert "innerHTML" not in js and "insertAdjacentHTML" not in js
    assert ".wb-tree-final" in str(view._css)


@pytest.mark.parametrize("status", ["kept", "pruned", "unjudged"])
def test_statuses_differ_by_a_text_mark_not_only_by_colour(status: str) -> None:
    from workbench.export.tree_html import CSS, MARKS

    assert MARKS[status].split()[-1] == status  # the word itself is on the node
    assert f".wb-tree-{status}" in CSS


async def test_the_explorer_shows_the_tree_for_a_search_run_and_its_replay(toy_task,
                                                                           store) -> None:
    from widgets.explorer import Explorer

    ex = Explorer(task=toy_task, model="toy-model", backend=backend(), store=store)
    ex.controls.auto_run.value = False
    spec = RunSpec(task="toy", technique="beam", model="toy-model", items=(1,), width=2,
                   expansions=2, max_steps=2, scorer="judge")
    result = await ex.start(spec)
    assert result is not None and result.status == "ok"
    tree = ex.live.tree
    assert tree.layout.display is None and len(tree.nodes) == 8  # 2 beams x 2 x 2 steps
    assert {n["status"] for n in tree.nodes} <= {"kept", "pruned"}
    assert sum(n["status"] == "kept" for n in tree.nodes) == 4
    live_nodes = tree.nodes
    await ex.start(RunSpec(task="toy", technique="cot", model="toy-model", items=(1,)))
    assert tree.layout.display == "none" and tree.nodes == []
    ex.replay(result.run_id)
    assert tree.layout.display is None and tree.nodes == live_nodes
    assert "wb-tree-node" in ex.snapshot()
    ex.close()


def test_the_registry_says_which_techniques_are_drawn_as_trees() -> None:
    from workbench.techniques.registry import REGISTRY, register, view_of

    assert {n for n, i in REGISTRY.items() if i.view == "tree"} == {"beam", "dvts"}
    assert view_of("beam") == "tree" and view_of("sc") == "paths"
    assert view_of("no-such-technique") == "paths" and view_of(None) == "paths"
    with pytest.raises(ValueError, match="view"):
        register("tmp-tree-x", "x", params=(), rank=999, view="graph")
