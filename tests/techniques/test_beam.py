"""Beam search on scripted steps with known scores: which beams survive, when chains stop,
what is answered, how aggregations rank, and what every step's row says."""

from __future__ import annotations

import pytest
from search_kit import TableScorer, backend

from workbench.events import Event, PathFinished, PathStarted, SampleScored, Voted
from workbench.runner import RunSpec, run
from workbench.techniques import beam
from workbench.techniques.aggregation import aggregate, top

# step 0: two roots x 3 -> idx 0..5; kept 1, 3. step 1: 6..8 (from 1), 9..11 (from 3);
# step 2 (final answers): 12..14 from 9, 15..17 from 10. Chains: 13 = [3, 9, 13],
# 15 = [3, 10, 15].
SCORES = {0: .1, 1: .9, 2: .3, 3: .8, 4: .2, 5: .5,
          6: .4, 7: .1, 8: .2, 9: .7, 10: .95, 11: .3,
          12: .5, 13: .75, 14: .1, 15: .99, 16: .2, 17: .3}


async def _run(technique, task, script_backend=None, limit: int = 1) -> list[Event]:
    events: list[Event] = []
    spec = RunSpec(task="toy", technique="beam", limit=limit, offset=1)
    await run(spec, script_backend or backend(), [events.append], task=task,
              technique=technique)
    return events


def _steps(events: list[Event]) -> dict[int, PathFinished]:
    """Step rows by path index."""
    idx = {e.path_id: e.index for e in events if isinstance(e, PathStarted)
           and e.role == "step"}
    return {idx[e.path_id]: e for e in events if isinstance(e, PathFinished)
            and e.path_id in idx}


def _kept(events: list[Event], step: int) -> set[int]:
    starts = {e.path_id: e for e in events if isinstance(e, PathStarted)}
    return {starts[e.path_id].index for e in events if isinstance(e, PathFinished)
            and e.kept and starts[e.path_id].step == step}


async def test_beam_keeps_the_best_width_each_step(toy_task):
    scorer = TableScorer(SCORES)
    events = await _run(beam(width=2, expansions=3, max_steps=3, scorer=scorer), toy_task)
    steps = _steps(events)
    assert sorted(steps) == list(range(18))  # 2 beams x 3 expansions x 3 steps
    assert _kept(events, 0) == {1, 3}
    assert _kept(events, 1) == {9, 10}  # both children of beam 3: beam 1 dies out
    assert _kept(events, 2) == {13, 15}
    starts = {e.path_id: e for e in events if isinstance(e, PathStarted)}
    by_idx = {s.index: s for s in starts.values() if s.role == "step"}
    assert by_idx[10].parent_id == by_idx[3].path_id  # a step's parent is the step before
    assert by_idx[0].parent_id is None and by_idx[0].step == 0
    # width 2: step 2 expands the survivors 9 and 10 (indices 12..14 from 9, 15..17 from 10)
    assert {by_idx[i].parent_id for i in (12, 13, 14)} == {by_idx[9].path_id}
    assert all(steps[i].score == SCORES[i] and steps[i].scorer == "table" for i in steps)
    assert all(steps[i].kept is False for i in steps if i not in {1, 3, 9, 10, 13, 15})
    (scored,) = [e for e in events if isinstance(e, SampleScored)]
    assert scored.answer == "15"  # best last-step score among surviving leaves
    (vote,) = [e for e in events if isinstance(e, Voted)]
    assert vote.method == "beam" and vote.winner == "15" and vote.counts == {
        "13": .75, "15": .99}


@pytest.mark.parametrize(("how", "winner"), [
    ("last", "13"),     # .75 > .72
    ("min", "15"),      # min(.8, .95, .72) = .72 > min(.8, .7, .75) = .7
    ("product", "15"),  # .8 * .95 * .72 = .547 > .8 * .7 * .75 = .42
    ("mean", "15"),     # 2.47 / 3 > 2.25 / 3
])
async def test_aggregation_decides_the_winner(toy_task, how, winner):
    events = await _run(beam(width=2, expansions=3, max_steps=3, aggregate=how,
                             scorer=TableScorer({**SCORES, 15: .72})), toy_task)
    (scored,) = [e for e in events if isinstance(e, SampleScored)]
    assert scored.answer == winner


async def test_stops_at_max_steps_and_forces_an_answer(toy_task):
    events = await _run(beam(width=2, expansions=2, max_steps=2, scorer=TableScorer(SCORES)),
                        toy_task, backend(final_at=None))
    steps = _steps(events)
    assert max(e.index for e in events if isinstance(e, PathStarted) and e.role == "step"
               ) < 8 and len(steps) == 8  # 2 beams x 2 x 2 steps, then stop
    forced = [e for e in events if isinstance(e, PathStarted) and e.role == "forced_answer"]
    assert len(forced) == 1
    best = max((i for i in steps if steps[i].kept and i >= 4), key=lambda i: SCORES[i])
    assert forced[0].parent_id == steps[best].path_id
    (scored,) = [e for e in events if isinstance(e, SampleScored)]
    assert scored.answer == "99"


async def test_a_step_with_no_score_is_kept_last_and_search_goes_on(toy_task):
    table = {k: v for k, v in SCORES.items() if k not in (1, 3)}  # best two unscored
    events = await _run(beam(width=2, expansions=3, max_steps=3, scorer=TableScorer(table)),
                        toy_task)
    assert _kept(events, 0) == {5, 2}  # scored ones first; unscored rank below
    steps = _steps(events)
    assert steps[1].score is None and steps[1].scorer == "table" and steps[1].kept is False
    assert any(isinstance(e, SampleScored) and e.answer is not None for e in events)


async def test_every_step_row_is_written_once_and_finished(toy_task):
    events = await _run(beam(width=2, expansions=3, max_steps=3, scorer=TableScorer(SCORES)),
                        toy_task)
    started = [e.path_id for e in events if isinstance(e, PathStarted)]
    finished = [e.path_id for e in events if isinstance(e, PathFinished)]
    assert sorted(started) == sorted(finished) and len(set(finished)) == len(finished)


def test_aggregations_are_exact():
    xs = [0.5, None, 0.25, 1.0]
    assert aggregate(xs, "last") == 1.0
    assert aggregate(xs, "min") == 0.25
    assert aggregate(xs, "product") == 0.125
    assert aggregate(xs, "mean") == pytest.approx(1.75 / 3, abs=0, rel=1e-15)
    assert aggregate([None, None], "min") is None and aggregate([], "last") is None
    assert aggregate([0.3, None], "last") == 0.3  # last *scored* step
    with pytest.raises(ValueError, match="aggregation"):
        aggregate([1.0], "max")
    assert top([0.2, None, 0.9, 0.2], 2) == [0, 2]  # tie at 0.2: the earlier one
    assert top([None, None, 0.1], 2) == [0, 2]


def test_knobs_are_checked():
    from workbench.errors import WorkbenchError
    with pytest.raises(WorkbenchError, match="width"):
        beam(width=0)
    with pytest.raises(WorkbenchError, match="scorer"):
        beam(scorer="oracle")
    with pytest.raises(WorkbenchError, match="aggregate"):
        beam(aggregate="max")
