"""``sc-stop`` on a scripted backend with known answers: it stops early, records what it
saved, and its rows come back through the store's pool query."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.backends.base import GenRequest
from workbench.backends.scripted import ScriptedBackend
from workbench.events import Event, Voted
from workbench.runner import RunSpec, run
from workbench.store.pools import sample_pools
from workbench.store.recorder import Recorder
from workbench.store.store import Store, decode_json
from workbench.techniques import build


def answers(seq: list[str]):
    """Sample i of an item answers seq[i] (forced-answer calls answer 0)."""
    def script(req: GenRequest, choice: int) -> str:
        if "run out of reasoning budget" in req.messages[-1]["content"]:
            return "The answer is 0"
        return f"reasoning The answer is {seq[(req.sample_index + choice) % len(seq)]}"
    return script


async def go(toy_task, backend: ScriptedBackend, sinks: list | None = None, **knobs):
    events: list[Event] = []
    spec = RunSpec(task="toy", technique="sc-stop", n=knobs.get("n", 16), limit=1, offset=2)
    result = await run(spec, backend, [events.append, *(sinks or [])], task=toy_task,
                       technique=build("sc-stop", **knobs))
    return events, result


async def test_beta_stops_after_four_agreeing_samples(toy_task) -> None:
    backend = ScriptedBackend(answers(["4"]))
    events, result = await go(toy_task, backend, n=16, rule="beta", threshold=0.95, window=1)
    (v,) = [e for e in events if isinstance(e, Voted)]
    # 1 - 0.5^(a+1) first reaches 0.95 at a = 4
    assert v.stopped_early and v.n_paths == 4 and v.samples_saved == 12
    assert v.tokens_saved_est == 12 * 5 and v.method == "adaptive"
    assert backend.call_count == 4  # window 1: one sample per request
    assert result.n_correct == 1


async def test_esc_stops_at_the_first_agreeing_window(toy_task) -> None:
    backend = ScriptedBackend(answers(["4", "5", "4", "4", "4", "4", "5", "5"]))
    events, _ = await go(toy_task, backend, n=8, rule="esc", window=2)
    (v,) = [e for e in events if isinstance(e, Voted)]
    # windows: (4 5) no, (4 4) yes -> 4 samples in 2 requests of 2
    assert v.n_paths == 4 and v.samples_saved == 4 and v.winner == "4"
    assert [c.request.n for c in backend.calls] == [2, 2]


async def test_a_split_vote_draws_everything(toy_task) -> None:
    backend = ScriptedBackend(answers(["4", "5"]))
    events, _ = await go(toy_task, backend, n=6, rule="sprt", threshold=0.9, window=1)
    (v,) = [e for e in events if isinstance(e, Voted)]
    assert v.n_paths == 6 and not v.stopped_early and v.samples_saved == 0


def test_knobs_are_validated() -> None:
    from workbench.errors import WorkbenchError

    with pytest.raises(WorkbenchError, match="rule"):
        build("sc-stop", rule="magic")
    with pytest.raises(WorkbenchError, match="threshold"):
        build("sc-stop", threshold=1.5)


async def test_rows_stored_and_read_back_as_a_pool(toy_task, tmp_path: Path) -> None:
    db = tmp_path / "t.duckdb"
    long = " ".join(["step"] * 12) + " The answer is 4"
    seq = ["4", "4", "4", "4"]

    def script(req: GenRequest, choice: int) -> str:
        if "run out of reasoning budget" in req.messages[-1]["content"]:
            return "The answer is 4"
        i = req.sample_index + choice
        return long if i == 1 else f"so The answer is {seq[i % 4]}"

    with Store.open(db) as store:
        _, result = await go(toy_task, ScriptedBackend(script), [Recorder(store)], n=16,
                             rule="beta", threshold=0.95, window=1, budget=8)
    with Store.open(db, read_only=True) as store:
        votes = store.votes(result.run_id)
        assert votes["stopped_early"].to_list() == [True]
        assert votes["samples_saved"].to_list() == [12]
        params = decode_json(store.runs(result.run_id), "params")[0]
        assert params["rule"] == "beta" and params["window"] == 1
        pool = sample_pools(store, result.run_id)
    assert pool["idx"].to_list() == [0, 1, 2, 3]
    # draw 1 was cut at 8 tokens and force-finished: its answer and tokens are folded in
    assert pool["forced"].to_list() == [False, True, False, False]
    assert pool["answer"].to_list() == ["4"] * 4 and pool["correct"].all()
    assert pool["tokens_out"].to_list() == [5, 8 + 4, 5, 5]
    assert set(pool["technique"]) == {"sc-stop"} and set(pool["item_id"]) == {"toy-2"}
