"""``wb.resume_run``: a stored run's missing items run under its id, nothing else does."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

import workbench as wb
from workbench.backends.scripted import ScriptedBackend
from workbench.errors import WorkbenchError
from workbench.events import Event, SampleScored
from workbench.runner import RunSpec, run
from workbench.store.recorder import Recorder
from workbench.store.store import Store

ITEMS = 6


def answer(req: Any, i: int) -> str:
    q = req.messages[-1]["content"]
    a, b = q.split("What is ", 1)[1].split("?")[0].split("+")
    return f"Adding them. The answer is {int(a) + int(b)}"


def task_file(tmp_path: Path) -> Path:
    path = tmp_path / "sums.jsonl"
    path.write_text("".join(json.dumps({"id": f"s{i}", "question": f"What is {i}+{i}?",
                                        "answer": str(2 * i)}) + "\n" for i in range(ITEMS)))
    return path


async def partial_run(spec: RunSpec, store: Store, stop_after: int, task: Any = None) -> str:
    """Start ``spec`` and cancel it once ``stop_after`` samples are scored (as Ctrl-C)."""
    box: dict[str, Any] = {}

    def stopper(event: Event) -> None:
        if isinstance(event, SampleScored):
            box["n"] = box.get("n", 0) + 1
            if box["n"] == stop_after:
                box["task"].cancel()

    def grab(event: Event) -> None:
        box.setdefault("run_id", event.run_id)

    recorder = Recorder(store)
    box["task"] = asyncio.ensure_future(run(spec, ScriptedBackend(answer), [
        recorder, grab, stopper], task=task))
    with pytest.raises(asyncio.CancelledError):
        await box["task"]
    recorder.close()
    return str(box["run_id"])


async def test_resume_runs_only_the_missing_items(tmp_path: Path) -> None:
    db = tmp_path / "r.duckdb"
    spec = RunSpec(task=str(task_file(tmp_path)), technique="cot", model="m", budget=32,
                   limit=None, concurrency=1)
    with Store.open(db) as store:
        run_id = await partial_run(spec, store, stop_after=2)
        assert store.runs()["status"].to_list() == ["cancelled"]
        done = set(store.samples()["item_index"].to_list())
    backend = ScriptedBackend(answer)
    result = await wb.resume_run_async(run_id, db=db, backend=backend)
    assert backend.call_count == ITEMS - len(done)  # one call per missing item
    asked = {c.request.messages[-1]["content"].split("What is ")[1] for c in backend.calls}
    assert not any(asked_q.startswith(f"{i}+{i}") for i in done for asked_q in asked)
    assert result.run_id == run_id and result.status == "ok"
    assert result.n_samples == ITEMS - len(done)
    with Store.open(db, read_only=True) as store:
        samples = store.samples(run_id)
        assert sorted(samples["item_index"].to_list()) == list(range(ITEMS))
        assert samples["correct"].all() and store.runs().height == 1
        assert store.runs()["status"].to_list() == ["ok"]
        assert store.paths()["path_id"].n_unique() == store.paths().height

    again = ScriptedBackend(answer)  # nothing missing: nothing sent, status kept
    result = await wb.resume_run_async(run_id, db=db, backend=again)
    assert again.call_count == 0 and result.n_samples == 0 and result.status == "ok"


async def test_resume_refuses_what_it_cannot_do_safely(tmp_path: Path) -> None:
    db = tmp_path / "r.duckdb"
    path = task_file(tmp_path)
    spec = RunSpec(task=str(path), technique="cot", model="m", budget=32, limit=None,
                   concurrency=1)
    with Store.open(db) as store:
        run_id = await partial_run(spec, store, stop_after=3)
    with pytest.raises(WorkbenchError, match="No run 'nosuch'.*workbench runs"):
        await wb.resume_run_async("nosuch", db=db, backend=ScriptedBackend(answer))
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[1], lines[0], *lines[2:]]) + "\n")  # items reordered
    with pytest.raises(WorkbenchError, match="changed since run"):
        await wb.resume_run_async(run_id, db=db, backend=ScriptedBackend(answer))
    with Store.open(db) as store:  # a run "running" in a live process (this one)
        rec = Recorder(store)
        from workbench.events import RunStarted

        rec(RunStarted(run_id="live", technique="cot", model="m", task=str(path),
                       params={"task": str(path), "technique": "cot"}, n_items=ITEMS))
        rec.close()
        with pytest.raises(WorkbenchError, match="still running"):
            await wb.resume_run_async("live", store=store, backend=ScriptedBackend(answer))


def test_blocking_resume_and_a_run_killed_after_its_last_sample(tmp_path: Path) -> None:
    db = tmp_path / "r.duckdb"
    spec = RunSpec(task=str(task_file(tmp_path)), technique="cot", model="m", budget=32,
                   limit=None)
    with Store.open(db) as store:
        result = wb.run_experiment(spec, store=store, backend=ScriptedBackend(answer))
        # as if killed after the last sample: the final status row never made it
        store.con.execute("DELETE FROM run_status WHERE status <> 'running'")
        store.con.execute("UPDATE run_status SET pid = NULL")
    with Store.open(db, read_only=True) as store:  # readers change nothing
        assert store.runs()["status"].to_list() == ["running"]
    backend = ScriptedBackend(answer)
    done = wb.resume_run(result.run_id, db=db, backend=backend)
    assert backend.call_count == 0 and done.status == "ok"
    with Store.open(db, read_only=True) as store:  # interrupted on open, then finished
        log = store.query('SELECT status FROM run_status ORDER BY "at", rowid')
        assert log["status"].to_list() == ["running", "interrupted", "ok"]
        assert store.runs()["status"].to_list() == ["ok"]
