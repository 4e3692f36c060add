"""The Explorer's Compare tab (widgets/compare.py) on real stores, no browser.

Two synthetic runs (workbench/store/synthetic.py) with known wrong items make every cell of
the outcome table predictable; the numbers shown must be the ones analysis.compare_store
computes (the CLI prints the same), and a click on a disagreeing item must show both runs'
paths side by side with B's text diffed against A's.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from widgets.compare import CompareView, default_pair, run_label
from widgets.explorer import Explorer
from workbench.analysis.compare import compare_store
from workbench.events import Event, RunStarted
from workbench.runner import RunSpec
from workbench.store.recorder import Recorder
from workbench.store.store import Store
from workbench.store.synthetic import Clock, synthetic_run

N = 8
WRONG_A, WRONG_B = {1, 2, 5}, {2, 3}  # only B right: 1, 5; only A right: 3; both wrong: 2
TEXT_B = "Let me see. 2 and 2 make 4. The answer is 4."


def record(store: Store, events: list[Event]) -> None:
    rec = Recorder(store)
    for e in events:
        rec(e)
    rec.close()


def restart(events: list[Event], **changes: Any) -> list[Event]:
    """The same run with other RunStarted fields (another model, technique, budget)."""
    return [dataclasses.replace(e, **changes) if isinstance(e, RunStarted) else e
            for e in events]


@pytest.fixture
def two_runs(tmp_path: Path) -> Iterator[Store]:
    store = Store.open(tmp_path / "compare.duckdb")
    clock = Clock()
    record(store, synthetic_run("run-a", n_items=N, wrong=WRONG_A, clock=clock))
    record(store, synthetic_run("run-b", n_items=N, wrong=WRONG_B, clock=clock, text=TEXT_B))
    yield store
    store.close()


def test_compare_view_shows_what_analysis_computes(two_runs: Store) -> None:
    view = CompareView(two_runs, task="toy")
    assert (view.run_a.value, view.run_b.value) == ("run-a", "run-b")  # B: the newest
    expected = compare_store(two_runs, "run-a", "run-b")
    cmp = view.comparison
    assert cmp is not None and cmp.summary.equals(expected.summary)
    counts = dict(re.findall(r'data-outcome="([^"]+)" data-items="(\d+)"', view.outcomes.value))
    assert counts == {"both right": "4", "only A": "1", "only B": "2", "both wrong": "1"}
    s = expected.summary.row(0, named=True)
    head = view.headline.value
    assert f"A <b class=\"wb-compare-acc-a\">{s['accuracy_a']:.1%}" in head  # 62.5%
    assert f"{s['accuracy_b']:.1%}" in head and "+12.5 points" in head
    assert f"[{100 * s['ci_low']:+.1f}, {100 * s['ci_high']:+.1f}]" in head
    assert f"p = {s['mcnemar_p']:.3g}" in head and "3 discordant" in head
    metrics = re.findall(r'data-metric="([^"]+)"', view.deltas.value)
    assert metrics == [m for m in expected.deltas["metric"].to_list()]
    assert "tokens_out per item" in metrics
    assert view.table.columns == ["item", "outcome", "answer A", "answer B"]
    assert view.table.rows == [[1, "only B", "5 ✗", "4 ✓"], [3, "only A", "4 ✓", "5 ✗"],
                               [5, "only B", "5 ✗", "4 ✓"]]


def test_click_on_a_disagreement_shows_both_runs_paths_diffed(two_runs: Store) -> None:
    view = CompareView(two_runs, task="toy")
    assert view.detail.value == ""
    view.table.selected = 1  # what a click on the second row does (item 3, only A)
    shown = view.detail.value
    assert 'data-item="3"' in shown and "(only A)" in shown
    assert shown.count('class="wb-compare-pair"') == 4  # 4 paths per item, paired
    assert "Let me think." in shown  # A's text as it is
    assert '<del class="wb-diff-del"' in shown and ">think.</del>" in shown  # B vs A
    assert '<ins class="wb-diff-ins"' in shown and ">see.</ins>" in shown
    assert "A answered <b>4</b> ✓, B answered <b>5</b> ✗" in shown
    assert view.open_item(99) is None and view.detail.value == shown  # out of range: kept


@pytest.mark.parametrize("change", [{"model": "other-model"}, {"technique": "cot"},
                                    {"params": {"budget_tokens": 1024, "n": 1}}])
def test_any_two_runs_of_the_task_compare(tmp_path: Path, change: dict[str, Any]) -> None:
    with Store.open(tmp_path / "t.duckdb") as store:
        clock = Clock()
        record(store, synthetic_run("base", n_items=4, wrong={0}, clock=clock))
        record(store, restart(synthetic_run("other", n_items=4, wrong={1}, clock=clock),
                              **change))
        view = CompareView(store, task="toy")
        assert view.comparison is not None and view.comparison.summary["n_items"][0] == 4
        labels = dict((v, k) for k, v in view.run_a.options)
        assert labels["other"] != labels["base"] and labels["other"] == run_label(
            store.run_choices("toy").row(0, named=True))
        assert [r[1] for r in view.table.rows] == ["only B", "only A"]


def test_refinement_runs_compare_and_show_their_rounds(tmp_path: Path) -> None:
    with Store.open(tmp_path / "t.duckdb") as store:
        clock = Clock()
        record(store, synthetic_run("sc", n_items=2, wrong={0}, clock=clock))
        record(store, synthetic_run("refined", n_items=2, rounds=1, clock=clock))
        view = CompareView(store, task="toy")
        assert (view.run_a.value, view.run_b.value) == ("sc", "refined")
        assert "refine" in dict((v, k) for k, v in view.run_b.options)["refined"]
        shown = view.open_item(0) or ""
        assert "critique r1" in shown and "refine r1" in shown and "(no path)" in shown


def test_a_pick_is_kept_and_the_default_follows_new_runs(two_runs: Store) -> None:
    view = CompareView(two_runs, task="toy")
    view.swap()
    assert (view.run_a.value, view.run_b.value) == ("run-b", "run-a")
    assert view.comparison is not None and view.comparison.run_a == "run-b"
    record(two_runs, synthetic_run("run-c", n_items=N, clock=Clock(1_767_225_700.0)))
    view.refresh()  # the user's pair stays
    assert (view.run_a.value, view.run_b.value) == ("run-b", "run-a")
    fresh = CompareView(two_runs, task="toy")  # never picked: the newest two
    assert (fresh.run_a.value, fresh.run_b.value) == ("run-b", "run-c")
    assert default_pair(two_runs.run_choices("toy")) == ("run-b", "run-c")
    assert CompareView(two_runs, task="another task").comparison is None


def test_fewer_than_two_runs_or_no_store_say_so(tmp_path: Path) -> None:
    assert "No store" in CompareView(None).message.value
    with Store.open(tmp_path / "t.duckdb") as store:
        view = CompareView(store, task="toy")
        assert "Pick two stored runs" in view.message.value and view.table.rows == []
        record(store, synthetic_run("only", n_items=2))
        view.refresh()
        assert view.comparison is None and "Pick two" in view.message.value


async def test_the_explorer_compares_its_last_two_runs(toy_task: Any, scripted: Any,
                                                       store: Store) -> None:
    """Greedy CoT (scripted wrong) then SC@5 on the same items: the Compare tab, with no
    click, pairs them and B fixes what A got wrong."""
    ex = Explorer(task=toy_task, model="toy-model", backend=scripted, store=store)
    ex.controls.auto_run.value = False
    assert ex.tabs.titles[-1] == "Compare" and ex.tabs.children[-1] is ex.compare_view
    items = (1, 2, 3)
    cot = await ex.start(RunSpec(task="toy", technique="cot", model="toy-model", items=items))
    sc = await ex.start(RunSpec(task="toy", technique="sc", model="toy-model", n=5,
                                items=items))
    assert cot is not None and sc is not None
    view = ex.compare_view
    assert (view.run_a.value, view.run_b.value) == (cot.run_id, sc.run_id)
    assert 'data-outcome="only B" data-items="3"' in view.outcomes.value
    view.table.selected = 0
    assert view.detail.value.count('class="wb-compare-pair"') == 5  # 1 CoT path vs 5 SC
    ex.close()
