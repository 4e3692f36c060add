"""DVTS on scripted steps: each subtree keeps its own best step, subtrees never compete,
and one subtree's scores cannot change what another samples or keeps."""

from __future__ import annotations

from search_kit import TableScorer, backend, step_script

from workbench.backends.base import GenRequest
from workbench.backends.scripted import ScriptedBackend
from workbench.events import Event, PathFinished, PathStarted, SampleScored, Voted
from workbench.runner import RunSpec, run
from workbench.techniques import beam, dvts

# width 2 subtrees x 3 expansions, 3 steps; subtree 0 draws indices 0..8, subtree 1 9..17.
SUB0 = {0: .1, 1: .2, 2: .15, 3: .3, 4: .6, 5: .1, 6: .4, 7: .1, 8: .5}
SUB1 = {9: .9, 10: .8, 11: .95, 12: .7, 13: .99, 14: .2, 15: .3, 16: .1, 17: .6}


async def _run(technique, task, steps=None) -> list[Event]:
    events: list[Event] = []
    await run(RunSpec(task="toy", technique="dvts", limit=1, offset=1), steps or backend(),
              [events.append], task=task, technique=technique)
    return events


def _subtree1_ends_at_once() -> ScriptedBackend:
    normal = step_script()

    def script(req: GenRequest, choice: int) -> str:
        k = req.sample_index + choice
        return f"s{k} so The answer is {k}" if k >= 9 else normal(req, choice)
    return ScriptedBackend(script)


def _nodes(events: list[Event]) -> dict[int, tuple[PathStarted, PathFinished]]:
    starts = {e.path_id: e for e in events if isinstance(e, PathStarted) and e.role == "step"}
    return {starts[e.path_id].index: (starts[e.path_id], e) for e in events
            if isinstance(e, PathFinished) and e.path_id in starts}


def _subtree(nodes: dict[int, tuple[PathStarted, PathFinished]], lo: int, hi: int
             ) -> list[tuple[int, str, bool | None, float | None]]:
    return [(i, f.text, f.kept, f.score) for i, (_, f) in sorted(nodes.items()) if lo <= i < hi]


async def test_each_subtree_keeps_its_own_best(toy_task):
    events = await _run(dvts(width=2, expansions=3, max_steps=3,
                             scorer=TableScorer({**SUB0, **SUB1})), toy_task)
    nodes = _nodes(events)
    assert sorted(nodes) == list(range(18))
    kept = sorted(i for i, (_, f) in nodes.items() if f.kept)
    # step 0: 1 (.2 beats .1, .15) and 11; step 1: 4 and 13; step 2: 8 and 17
    assert kept == [1, 4, 8, 11, 13, 17]
    by_idx = {i: s for i, (s, _) in nodes.items()}
    assert by_idx[4].parent_id == by_idx[1].path_id and by_idx[13].parent_id == by_idx[11].path_id
    assert by_idx[0].parent_id is None and by_idx[9].parent_id is None  # two roots
    (scored,) = [e for e in events if isinstance(e, SampleScored)]
    assert scored.answer == "17"  # .6 > .5 (last-step aggregate)
    (vote,) = [e for e in events if isinstance(e, Voted)]
    assert vote.method == "dvts" and vote.counts == {"8": .5, "17": .6}


async def test_beam_at_the_same_knobs_lets_one_subtree_win(toy_task):
    """The contrast: beam keeps the global best two, which all come from one root."""
    table = {0: .1, 1: .2, 2: .15, 3: .9, 4: .8, 5: .95}
    events = await _run(beam(width=2, expansions=3, max_steps=1, scorer=TableScorer(table)),
                        toy_task)
    assert sorted(i for i, (_, f) in _nodes(events).items() if f.kept) == [3, 5]


async def test_subtrees_are_independent(toy_task):
    """Changing every score of subtree 1 leaves subtree 0's texts, scores and verdicts
    exactly as they were (and vice versa)."""
    a = _nodes(await _run(dvts(width=2, expansions=3, max_steps=3,
                               scorer=TableScorer({**SUB0, **SUB1})), toy_task))
    flipped = {k: 1.0 - v for k, v in SUB1.items()}
    b = _nodes(await _run(dvts(width=2, expansions=3, max_steps=3,
                               scorer=TableScorer({**SUB0, **flipped})), toy_task))
    assert _subtree(a, 0, 9) == _subtree(b, 0, 9)
    assert _subtree(a, 9, 18) != _subtree(b, 9, 18)
    # a subtree that ends at once (its first step states an answer) changes nothing either
    early = _nodes(await _run(dvts(width=2, expansions=3, max_steps=3,
                                   scorer=TableScorer({**SUB0, **SUB1})), toy_task,
                              _subtree1_ends_at_once()))
    assert sorted(i for i in early if i >= 9) == [9, 10, 11]  # subtree 1 stopped at once
    assert _subtree(early, 0, 9) == _subtree(a, 0, 9)


async def test_same_compute_as_beam(toy_task):
    """At equal width and expansions both generate width x expansions steps a round."""
    table = {i: 1.0 / (1 + i) for i in range(40)}
    e_beam = await _run(beam(width=2, expansions=3, max_steps=3, scorer=TableScorer(table)),
                        toy_task)
    e_dvts = await _run(dvts(width=2, expansions=3, max_steps=3, scorer=TableScorer(table)),
                        toy_task)
    assert len(_nodes(e_beam)) == len(_nodes(e_dvts)) == 18
