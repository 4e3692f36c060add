"""The budget planner: never over budget, probes evenly, gives samples to the uncertain."""

from __future__ import annotations

import pytest
from alloc_kit import pool_frame

from workbench.allocation.planner import BudgetPlanner, allocate_offline, sample_gain
from workbench.allocation.pools import STORED_ORDER, pools_from_frame


def test_gain_is_larger_for_a_split_vote() -> None:
    assert sample_gain(1, 1) > sample_gain(2, 0) > sample_gain(6, 0) > 0
    assert sample_gain(3, 1, lookahead=1) == 0.0  # one draw cannot flip 3-1 ...
    assert sample_gain(3, 1, lookahead=3) > 0.0  # ... three can


def test_probe_round_robin_then_the_uncertain_item() -> None:
    p = BudgetPlanner(["A", "B"], 1000, reserve=10, probe=2)
    order = []
    for key in ("x", "x", "x", "y"):  # A: x x (agree); B: x y (split)
        item = p.next()
        assert item is not None
        order.append(item)
        p.observe(item, key, 10)
    assert order == ["A", "B", "A", "B"]
    assert p.next() == "B"
    assert p.plan() == {"A": 2, "B": 2} and p.spent == 40


def test_caps_and_an_empty_budget() -> None:
    p = BudgetPlanner(["A"], 1000, reserve=10, probe=2, n_max=2)
    for _ in range(2):
        p.observe(p.next() or "", "x", 10)
    assert p.next() is None  # capped
    one = BudgetPlanner(["A"], 1000, reserve=10, probe=1, n_max=2)
    one.observe("A", "x", 10)
    assert one.next() is None  # one last draw cannot change a 1-0 vote: no gain
    assert BudgetPlanner(["A"], 9, reserve=10).next() is None


@pytest.mark.parametrize(("budget", "spent"), [(95, 90), (100, 100), (7, 0), (30, 30)])
def test_offline_allocation_never_exceeds_the_budget(budget: int, spent: int) -> None:
    frame = pool_frame({f"i{k}": ([str(k % 2), "1", "0", "1"] * 4, [True] * 16, [10] * 16)
                        for k in range(3)})
    for r in (0, 1, 2):  # every replicate spends exactly this
        rep = allocate_offline(pools_from_frame(frame), budget, probe=2, replicates=(r,))
        assert rep.tokens.sum() == spent and rep.draws.sum() == spent / 10


def test_offline_allocation_spends_on_the_split_item() -> None:
    frame = pool_frame({
        "easy": (["1"] * 8, [True] * 8, [10] * 8),
        "split": (["1", "2"] * 4, [True, False] * 4, [10] * 8),
    })
    rep = allocate_offline(pools_from_frame(frame), 100, probe=2,
                           replicates=(STORED_ORDER,))
    assert rep.tokens.sum() == 100
    assert rep.draws[1] > rep.draws[0] >= 2
