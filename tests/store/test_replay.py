"""A stored run replays as the same event stream it was recorded from."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.errors import WorkbenchError
from workbench.events import PathFinished, PathStarted, RunFinished, RunStarted, TokenDelta
from workbench.store.recorder import Recorder, record_all
from workbench.store.replay import events_equal, normalize, replay
from workbench.store.store import Store
from workbench.store.synthetic import Clock, run_started, sample_events, synthetic_run


def test_replay_equals_the_recorded_events(db_path: Path) -> None:
    events = synthetic_run("r", n_items=3, n_paths=3, rounds=2)
    with Store.open(db_path) as store:
        record_all(store, events)
    with Store.open(db_path, read_only=True) as store:
        replayed = replay(store, "r")
    assert normalize(replayed) == normalize(events)
    assert isinstance(replayed[0], RunStarted) and isinstance(replayed[-1], RunFinished)
    assert replayed[-1].n_samples == 3 and replayed[-1].n_correct == 3
    # one delta per path holding the full text, right before its PathFinished
    deltas = [e for e in replayed if isinstance(e, TokenDelta)]
    assert len(deltas) == sum(isinstance(e, PathFinished) for e in events)
    # timestamps survive to the microsecond
    assert all(abs(a.ts - b.ts) < 2e-6 for a, b in zip(
        [e for e in events if not isinstance(e, TokenDelta)],
        [e for e in replayed if not isinstance(e, TokenDelta)], strict=True))


def test_interleaved_samples_replay_in_recorded_order(mem_store: Store) -> None:
    clock = Clock()
    a = list(sample_events("r", 0, clock, n_paths=2))
    b = list(sample_events("r", 1, clock, n_paths=2))
    b_clock = [type(e)(**{**e.__dict__, "ts": e.ts - 0.0005}) for e in b]  # overlap in time
    merged = sorted(a + b_clock, key=lambda e: e.ts)
    events = [run_started("r", Clock(1.0), n_items=2), *merged]
    record_all(mem_store, events)
    assert normalize(replay(mem_store, "r")) == normalize(events)


def test_unfinished_run_replays_without_run_finished(mem_store: Store) -> None:
    clock = Clock()
    rec = Recorder(mem_store)
    events = [run_started("r", clock), *sample_events("r", 0, clock, n_paths=2),
              PathStarted(run_id="r", ts=clock(), sample_id="r-s1", path_id="x", role="path"),
              TokenDelta(run_id="r", ts=clock(), sample_id="r-s1", path_id="x", text="partial")]
    for e in events:
        rec(e)
    rec.close()  # e.g. the kernel is shut down mid-run
    replayed = replay(mem_store, "r")
    assert events_equal(replayed, events)
    assert not isinstance(replayed[-1], RunFinished)


def test_events_equal_sees_differences() -> None:
    events = synthetic_run("r", n_items=1, n_paths=2)
    changed = list(events)
    i = next(i for i, e in enumerate(changed) if isinstance(e, PathFinished))
    changed[i] = PathFinished(**{**changed[i].__dict__, "answer": "5"})
    assert not events_equal(events, changed)
    assert not events_equal(events, events[:-1])
    a, b = [i for i, e in enumerate(events) if isinstance(e, PathStarted)][:2]
    swapped = list(events)
    swapped[a], swapped[b] = swapped[b], swapped[a]
    assert not events_equal(events, swapped)


def test_replay_of_unknown_run(mem_store: Store) -> None:
    with pytest.raises(WorkbenchError, match="No run 'nope'"):
        replay(mem_store, "nope")
