"""The Explorer remembers by default, and answers from the store whenever it can.

With no ``db=`` runs land in the CLI's default file (``$WORKBENCH_DB``, set per test by the
conftest), so a new session recomputes from the last one; ``db=":memory:"`` keeps nothing.
Instant answers are checked against the *live* run of the same spec: a replayed rule
(SC@k, adaptive stopping, best-of-N) must give the answers, marks and sample counts the
technique itself gives on the same samples, with no backend call.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from widgets.explorer import Explorer
from workbench.backends.base import GenRequest
from workbench.backends.scripted import ScriptedBackend
from workbench.runner import RunSpec

_Q = re.compile(r"What is (\d+)\+(\d+)\?")


def indexed_script(req: GenRequest, choice: int) -> str:
    """Answers by absolute sample index (as a seeded model would): item 2 is wrong at
    indices 1 and 5; the scorer's score depends on the index, so best-of-N has a choice."""
    text = "\n".join(m["content"] for m in req.messages)
    a, b = (int(x) for x in _Q.findall(text)[-1])
    idx = req.sample_index + choice
    if "SCORE" in req.messages[-1]["content"]:
        return f"Looks fine. SCORE: {(idx * 7) % 10}"
    answer = a + b + (1 if a == 2 and idx % 4 == 1 else 0)
    return f"First {a} then add {b}. So we get {answer}. The answer is {answer}."


def backend() -> ScriptedBackend:
    return ScriptedBackend(indexed_script, delay_s=0.0)


def spec(technique: str, n: int, items: tuple[int, ...] = (1, 2)) -> RunSpec:
    return RunSpec(task="toy", technique=technique, model="toy-model", n=n, items=items,
                   seed=3)


def make(toy_task: Any, be: ScriptedBackend, **kw: Any) -> Explorer:
    ex = Explorer(task=toy_task, model="toy-model", backend=be, **kw)
    ex.controls.auto_run.value = False
    return ex


def digest(ex: Explorer) -> list[tuple[Any, ...]]:
    """Per item: answer, mark, samples the vote used, winner (what a user compares)."""
    out = []
    for s in sorted(ex.state.samples.values(), key=lambda s: s.item_index or 0):
        vote = s.vote
        out.append((s.item_index, s.answer, s.correct, vote.n_paths if vote else None,
                    vote.winner if vote else None, vote.stopped_early if vote else None))
    return out


async def test_no_db_records_into_the_default_file_and_a_new_session_reuses_it(
        toy_task) -> None:
    default = os.path.realpath(os.environ["WORKBENCH_DB"])
    be = backend()
    ex = make(toy_task, be)
    assert ex.store.path == default and default in ex.children[0].value
    await ex.start(spec("sc", 8))
    ex.close()
    assert Path(default).is_file()
    later = backend()
    again = make(toy_task, later)  # a new kernel, same default: the 8 paths are there
    assert again.try_instant(spec("sc", 4))
    assert later.call_count == 0 and "no model call" in again.status.value
    assert again.frame.height >= 1  # the Traces tab lists the stored run without a click
    again.close()


async def test_memory_opts_out_and_keeps_nothing(toy_task) -> None:
    ex = make(toy_task, backend(), db=":memory:")
    await ex.start(spec("cot", 1, (1,)))
    assert "in memory only" in ex.children[0].value
    ex.close()
    assert not Path(os.environ["WORKBENCH_DB"]).exists()


@pytest.mark.parametrize(("technique", "stored_n", "n", "items"), [
    ("sc", 8, 3, (1, 2)),
    ("sc", 8, 8, (2,)),            # a subset of the stored items
    ("adaptive-sc", 8, 8, (1, 2)),  # item 1 stops after one wave, item 2 draws all 8
    ("adaptive-sc", 8, 5, (1, 2)),
    ("best-of-n", 8, 2, (1, 2)),   # the best score among 2 is a wrong path on item 2
    ("best-of-n", 8, 8, (1, 2)),
])
async def test_instant_answer_equals_the_live_run(toy_task, store, technique, stored_n, n,
                                                  items) -> None:
    source = "best-of-n" if technique == "best-of-n" else "sc"
    ex = make(toy_task, backend(), store=store)
    await ex.start(spec(source, stored_n))
    live_ex = make(toy_task, backend(), db=":memory:")
    await live_ex.start(spec(technique, n, items))
    live = digest(live_ex)
    quiet = backend()
    ex.backend = quiet
    assert ex.try_instant(spec(technique, n, items)), technique
    assert quiet.call_count == 0 and "no model call" in ex.status.value
    assert digest(ex) == live
    assert ex.state.started is not None and ex.state.started.technique == technique
    live_ex.close()


async def test_adaptive_says_how_many_samples_its_rule_used(toy_task, store) -> None:
    ex = make(toy_task, backend(), store=store)
    await ex.start(spec("sc", 8))
    assert ex.try_instant(spec("adaptive-sc", 8))
    assert [d[3] for d in digest(ex)] == [4, 8] and [d[5] for d in digest(ex)] == [True, False]
    assert "used 6.0 of 8 samples" in ex.status.value


async def test_what_the_store_cannot_answer_runs_and_says_why(toy_task, store) -> None:
    be = backend()
    ex = make(toy_task, be, store=store)
    await ex.start(spec("sc", 4))
    for other in (spec("sc", 5), spec("refine", 4), spec("best-of-n", 2),
                  RunSpec(**{**vars(spec("sc", 2)), "vote": "logprob"}),
                  spec("sc", 2, (1, 3))):
        assert not ex.try_instant(other), other
    ex.debounce_s = 0.02
    ex.controls.seed.value, ex.controls.start.value, ex.controls.count.value = 3, 1, 2
    ex.controls.auto_run.value = True
    calls = be.call_count
    ex.controls.n.value = 6  # more than stored: the model runs, and the status says why
    await asyncio.sleep(0.15)
    assert "running the model" in ex.status.value and "≥ 6" in ex.status.value
    await ex.wait()
    assert be.call_count > calls
    ex.controls.n.value = 5  # now 6 are stored: instant
    await asyncio.sleep(0.15)
    assert "no model call" in ex.status.value


HOLD = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
print("held", flush=True)
time.sleep(60)
"""


async def test_a_default_file_held_by_another_process_goes_to_a_spool(toy_task) -> None:
    default = os.environ["WORKBENCH_DB"]
    holder = subprocess.Popen([sys.executable, "-c", HOLD, default], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        ex = make(toy_task, backend())
        assert ex.store.path != os.path.realpath(default)
        assert "in use by another process" in ex.children[0].value
        result = await ex.start(spec("cot", 1, (1,)))
        assert result is not None and result.status == "ok"
        ex.close()
    finally:
        holder.kill()
        holder.wait(10)


async def test_an_unreadable_default_file_falls_back_to_memory_and_is_kept(toy_task) -> None:
    default = Path(os.environ["WORKBENCH_DB"])
    default.write_text("not a database: keep me")
    t0 = time.monotonic()
    ex = make(toy_task, backend())
    assert ex.store.path == ":memory:" and time.monotonic() - t0 < 10
    title = ex.children[0].value
    assert "could not open the trace file" in title and "in memory only" in title
    result = await ex.start(spec("cot", 1, (1,)))
    assert result is not None and result.status == "ok"
    ex.close()
    assert default.read_text() == "not a database: keep me"


async def test_a_reopened_notebook_redraws_its_last_run_from_the_trace_file(toy_task) -> None:
    ex = make(toy_task, backend())
    result = await ex.start(spec("sc", 4))
    assert result is not None
    shown = digest(ex)
    ex.close()
    later = backend()
    again = make(toy_task, later)  # the cell re-run after a kernel restart
    assert again.state.run_id == result.run_id and digest(again) == shown
    assert later.call_count == 0 and "redrawn from the trace file" in again.status.value
    assert len(again.live.paths.paths) >= 4  # the paths are on screen, not just numbers
    again.close()
    other = Explorer(task=toy_task, model="another-model", backend=backend())
    assert other.state.run_id is None  # another model's runs are not passed off as its own
    other.close()
