"""The recorder maps events to rows, commits per sample, and never duplicates."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from workbench.errors import WorkbenchError
from workbench.events import PathFinished, PathStarted, RunFinished, SampleScored, TokenDelta
from workbench.store.recorder import Recorder, record_all
from workbench.store.replay import replay
from workbench.store.store import Store, counts_long, decode_json, with_json_struct
from workbench.store.synthetic import Clock, run_started, sample_events, synthetic_run


def test_rows_from_a_synthetic_run(mem_store: Store) -> None:
    events = synthetic_run("r1", n_items=3, n_paths=4, rounds=2)
    rec = record_all(mem_store, events)
    assert mem_store.counts() == {"runs": 1, "run_status": 2, "samples": 3,
                                  "paths": 3 * (4 + 2 * 2), "votes": 3, "rounds": 6,
                                  "path_requests": 3 * 4}
    assert 2 <= rec.commits <= 3 + 2  # run start, samples (grouped under load), run end

    run = mem_store.runs().row(0, named=True)
    assert (run["technique"], run["model"], run["task"], run["seed"], run["n_items"]) == (
        "refine", "scripted", "toy", 7, 3)
    assert (run["budget_tokens"], run["n_samples"], run["rounds"], run["temperature"],
            run["sweep_id"]) == (256, 4, 2, 0.7, "sweep-1")
    assert run["status"] == "ok" and run["wall_ms"] == 1234.5
    assert json.loads(run["params"])["vote"] == "majority"
    assert json.loads(run["prompts"]) == {"cot": "Think step by step. {question}"}
    assert decode_json(mem_store.runs(), "versions") == [{"workbench": "0.1.0"}]
    assert with_json_struct(mem_store.samples(), "meta")["meta"].struct.field(
        "level").to_list() == [0, 1, 2]

    paths = mem_store.paths("r1", "r1-s0")
    first = paths.filter(paths["path_id"] == "r1-s0-p0").row(0, named=True)
    assert first["role"] == "path" and first["idx"] == 0 and first["prompt"].startswith("Q0")
    assert first["text"] == "Let me think. 2+2 is 4. The answer is 4."
    assert first["started_at"] < first["finished_at"]
    refine = paths.filter(paths["role"] == "refine").sort("round")
    assert refine["parent_id"].to_list() == ["r1-s0-c1", "r1-s0-c2"]

    requests = mem_store.query("SELECT * FROM path_requests WHERE path_id = 'r1-s0-p0'")
    assert requests.select("request_key", "cached").row(0) == ("key-r1-s0-0", True)

    votes = counts_long(mem_store.votes(sample_id="r1-s1"))
    assert dict(zip(votes["answer"], votes["count"], strict=True)) == {"4": 3.0, "5": 1.0}
    rounds = mem_store.rounds("r1", "r1-s2")
    assert rounds["round"].to_list() == [1, 2] and rounds["accepted"].to_list() == [False, True]


def test_read_filters(mem_store: Store) -> None:
    record_all(mem_store, synthetic_run("a", n_items=2, n_paths=2))
    record_all(mem_store, synthetic_run("b", n_items=1, n_paths=3))
    assert mem_store.paths(["a", "b"]).height == 7
    assert mem_store.paths([]).height == 0
    assert mem_store.paths("b", role="path").height == 3
    assert "text" not in mem_store.paths(text=False).columns
    assert mem_store.samples(item_id="toy-1")["run_id"].to_list() == ["a"]
    assert mem_store.samples(correct=False).height == 0
    assert mem_store.runs("b")["run_id"].to_list() == ["b"]


def test_each_scored_sample_commits_its_rows(mem_store: Store) -> None:
    clock = Clock()
    rec = Recorder(mem_store)
    rec(run_started("r", clock, n_items=2))
    assert mem_store.counts()["runs"] == 1  # the run row is durable before any model call
    events = list(sample_events("r", 0, clock, n_paths=3))
    for e in events[:-1]:
        rec(e)
    assert mem_store.counts()["paths"] == 0  # buffered until the sample is scored
    rec.flush()
    assert mem_store.counts()["paths"] == 0  # not handed over: the sample is not scored
    rec(events[-1])
    rec.flush()  # the writer commits in the background; flush() is the barrier
    counts = mem_store.counts()
    assert (counts["paths"], counts["votes"], counts["samples"]) == (3, 1, 1)


def test_same_path_or_sample_twice_is_stored_once(mem_store: Store) -> None:
    events = synthetic_run("r", n_items=2, n_paths=3)
    doubled = [e for e in events for _ in range(2 if not isinstance(e, RunFinished) else 1)]
    record_all(mem_store, doubled)
    ids = mem_store.paths()["path_id"]
    assert ids.len() == 6 and ids.n_unique() == 6
    assert mem_store.samples().height == 2
    assert mem_store.votes().height == 2  # votes of the repeated SampleScored are dropped

    record_all(mem_store, events)  # a resumed run replaying what is already stored
    counts = mem_store.counts()
    assert (counts["runs"], counts["paths"], counts["samples"]) == (1, 6, 2)
    assert mem_store.runs()["status"].to_list() == ["ok"]


def test_cancelled_run_keeps_partial_traces(mem_store: Store) -> None:
    clock = Clock()
    rec = Recorder(mem_store)
    rec(run_started("r", clock, n_items=2))
    for e in sample_events("r", 0, clock, n_paths=2):
        rec(e)
    rec(PathStarted(run_id="r", ts=clock(), sample_id="r-s1", path_id="done", role="path"))
    rec(PathFinished(run_id="r", ts=clock(), sample_id="r-s1", path_id="done", text="full"))
    rec(PathStarted(run_id="r", ts=clock(), sample_id="r-s1", path_id="open", role="path",
                    index=1, prompt="p"))
    rec(TokenDelta(run_id="r", ts=clock(), sample_id="r-s1", path_id="open", text="half "))
    rec(TokenDelta(run_id="r", ts=clock(), sample_id="r-s1", path_id="open", text="way"))
    finished = RunFinished(run_id="r", ts=clock(), status="cancelled", n_samples=1,
                           n_correct=1, error="stopped by user", wall_ms=5.0)
    rec(finished)

    assert mem_store.samples()["sample_id"].to_list() == ["r-s0"]
    s1 = mem_store.paths("r", "r-s1").sort("idx")
    assert s1["path_id"].to_list() == ["done", "open"]
    open_row = s1.row(1, named=True)
    assert open_row["text"] == "half way" and open_row["finished_at"] is None
    assert open_row["error"].startswith("unfinished: the run ended (cancelled)")
    run = mem_store.runs().row(0, named=True)
    assert (run["status"], run["error"]) == ("cancelled", "stopped by user")
    replayed = replay(mem_store, "r")
    assert replayed[-1] == RunFinished(**{**finished.__dict__, "ts": replayed[-1].ts})
    assert [e.path_id for e in replayed if isinstance(e, PathFinished)][-1] == "done"
    assert [e.text for e in replayed if isinstance(e, TokenDelta)][-1] == "half way"


def test_close_without_run_finished_flushes_everything(db_path: Path) -> None:
    clock = Clock()
    with Store.open(db_path) as store:
        rec = Recorder(store)
        rec(run_started("r", clock))
        for e in list(sample_events("r", 0, clock, n_paths=2))[:-1]:  # never scored
            rec(e)
        rec.close()
    with Store.open(db_path, read_only=True) as store:
        assert store.paths().height == 2 and store.samples().height == 0
        assert store.runs()["status"].to_list() == ["running"]


def test_commits_group_samples_under_load(mem_store: Store) -> None:
    rec = record_all(mem_store, synthetic_run("r", n_items=200, n_paths=2))
    assert mem_store.counts()["samples"] == 200 and mem_store.counts()["paths"] == 400
    assert rec.commits < 100  # a commit takes milliseconds; samples arrive in microseconds


def test_writer_thread_stops_after_the_run(mem_store: Store) -> None:
    def writers() -> int:
        return sum(t.name == "workbench-recorder" for t in threading.enumerate())

    before = writers()
    rec = Recorder(mem_store)
    events = synthetic_run("r", n_items=2, n_paths=2)
    for e in events[:-1]:
        rec(e)
    assert writers() == before + 1
    rec(events[-1])
    assert writers() == before
    for e in synthetic_run("r2", n_items=1, n_paths=1):  # restarts for the next run
        rec(e)
    assert writers() == before and mem_store.counts()["runs"] == 2


def test_store_close_commits_what_a_live_recorder_holds(db_path: Path) -> None:
    clock = Clock()
    store = Store.open(db_path)
    rec = Recorder(store)
    rec(run_started("r", clock))
    events = list(sample_events("r", 0, clock, n_paths=2))
    for e in events:
        rec(e)
    for e in list(sample_events("r", 1, clock, n_paths=2))[:-1]:
        rec(e)
    store.close()  # e.g. the notebook closes the store while a run is cancelled
    with Store.open(db_path, read_only=True) as again:
        assert again.samples().height == 1 and again.paths().height == 4


def test_a_failed_commit_is_reported_and_keeps_the_rows(db_path: Path) -> None:
    clock = Clock()
    store = Store.open(db_path)
    rec = Recorder(store)
    rec(run_started("r", clock))
    bad = PathStarted(run_id="r", ts=clock(), sample_id="s", path_id="p", role="path",
                      round="not a number")  # type: ignore[arg-type]
    rec(bad)
    rec(PathFinished(run_id="r", ts=clock(), sample_id="s", path_id="p", text="t"))
    rec(SampleScored(run_id="r", ts=clock(), sample_id="s", item_id="i", item_index=0))
    with pytest.raises(WorkbenchError, match="Recording to .* failed"):
        rec.flush()
    assert rec.pending_rows() == 2  # the path and the samples row, kept in memory
    with pytest.raises(WorkbenchError, match="failed"):
        rec(SampleScored(run_id="r", ts=clock(), sample_id="s2", item_id="j", item_index=1))
    with pytest.raises(WorkbenchError):
        store.close()  # reports the failure, but still releases the file
    assert store.closed
    with Store.open(db_path) as again:
        assert again.samples().height == 0 and again.runs().height == 1


def test_recorder_refuses_a_read_only_store(db_path: Path) -> None:
    Store.open(db_path).close()
    with Store.open(db_path, read_only=True) as store, pytest.raises(WorkbenchError,
                                                                     match="read-only"):
        Recorder(store)
