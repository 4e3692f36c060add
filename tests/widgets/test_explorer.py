"""The Explorer end to end against a ScriptedBackend, on the test's running event loop."""

from __future__ import annotations

import asyncio
import json

import ipywidgets
import pytest
from widget_toys import toy_script

from widgets.explorer import Explorer
from workbench.backends.scripted import ScriptedBackend
from workbench.runner import RunSpec

SC = RunSpec(task="toy", technique="sc", model="toy-model", n=8, items=(1, 2), seed=3)


def explorer(task, backend, store=None) -> Explorer:
    ex = Explorer(task=task, model="toy-model", backend=backend, store=store)
    ex.controls.auto_run.value = False
    return ex


async def test_sc_run_streams_paths_and_counts_votes(toy_task, scripted, store) -> None:
    ex = explorer(toy_task, scripted, store)
    result = await ex.start(SC)
    assert result is not None and result.status == "ok" and result.n_samples == 2
    st = ex.state
    assert st.status == "ok" and st.summary()["done"] == 2
    focused = st.focused
    assert focused is not None and focused.item_index == 1
    cards = ex.live.paths.paths
    assert len([c for c in cards if c["role"] == "path"]) == 8
    # choices 2 and 5 are scripted wrong: 6 votes for gold "2", 2 for "3"
    assert ex.live.votes.data.answers == ["2", "3"]
    assert ex.live.votes.data.counts == [6.0, 2.0]
    assert ex.live.votes.data.winner == "2" and ex.live.votes.data.gold_index == 0
    texts = ex.live.paths.texts
    assert all("The answer is" in texts[c["id"]] for c in cards)
    assert ex.live.progress.bar.value == 2 and ex.live.progress.stop_button.disabled
    assert [label for label, _ in ex.live.picker.options] == ["item 1 ✓", "item 2 ✓"]
    ex.live.picker.value = ex.live.picker.options[1][1]
    assert ex.live.paths.header.startswith("item 2")
    assert ex.scaling.live is not None and ex.scaling.live[1] == 1.0
    assert "this run" in ex.scaling.chart.value
    assert store.runs().height == 1  # recorded


async def test_refine_run_shows_diff_with_ins_and_del(toy_task, scripted, store) -> None:
    ex = explorer(toy_task, scripted, store)
    spec = RunSpec(task="toy", technique="refine", model="toy-model", rounds=2, items=(2,))
    await ex.start(spec)
    html = ex.live.rounds.value
    assert "wb-diff-ins" in html and "wb-diff-del" in html
    assert "wrong→right" in html and "VERDICT: INCORRECT" in html
    assert [r.round for r in ex.live.rounds.rows] == [0, 1]


async def test_cancel_in_flight_run_leaves_loop_usable(toy_task, store) -> None:
    slow = ScriptedBackend(toy_script(words=400), delay_s=0.01)
    ex = explorer(toy_task, slow, store)
    task = ex.start(SC)
    await asyncio.sleep(0.3)
    assert ex.state.status == "running"
    focused = ex.state.focused
    assert focused is not None and any(p.text for p in focused.paths.values())
    ex.live.progress.stop_button.click()  # the Stop button cancels the task
    assert await ex.wait() is None and task.cancelled()
    assert ex.state.status == "cancelled"
    assert {c["status"] for c in ex.live.paths.paths} == {"stopped"}
    status = store.runs()["status"].to_list()
    assert status == ["cancelled"]
    # the loop still runs other work, and a new run completes
    assert await asyncio.wait_for(asyncio.sleep(0, result="alive"), 1) == "alive"
    fast = RunSpec(task="toy", technique="cot", model="toy-model", items=(1,))
    ex.backend = ScriptedBackend(toy_script(), delay_s=0.0)
    result = await ex.start(fast)
    assert result is not None and result.status == "ok"


async def test_new_start_cancels_previous_run(toy_task, store) -> None:
    ex = explorer(toy_task, ScriptedBackend(toy_script(words=300), delay_s=0.01), store)
    first = ex.start(SC)
    await asyncio.sleep(0.1)
    second = ex.start(RunSpec(task="toy", technique="cot", model="toy-model", items=(1,)))
    await asyncio.wait([first, second], timeout=20)
    result = second.result()
    assert first.cancelled() and result is not None and result.status == "ok"
    assert ex.state.run_id == result.run_id and ex.state.status == "ok"


async def test_debounced_slider_runs_once(toy_task, scripted, store) -> None:
    ex = explorer(toy_task, scripted, store)
    ex.debounce_s = 0.1
    ex.controls.technique.value = "cot"
    ex.controls.start.value = 1
    ex.controls.auto_run.value = True
    for budget in (128, 192, 256):  # three slider releases in quick succession
        ex.controls.budget.value = budget
    assert scripted.call_count == 0
    await asyncio.sleep(0.3)
    await ex.wait()
    assert scripted.call_count == 1
    assert store.runs()["budget_tokens"].to_list() == [256]


async def test_instant_recompute_from_stored_paths_makes_no_backend_call(
        toy_task, scripted, store) -> None:
    ex = explorer(toy_task, scripted, store)
    await ex.start(SC)
    calls = scripted.call_count
    smaller = RunSpec(task="toy", technique="sc", model="toy-model", n=4, items=(1, 2), seed=3)
    assert ex.try_instant(smaller)
    assert scripted.call_count == calls
    assert ex.state.summary()["done"] == 2
    assert ex.live.votes.data.counts == [3.0, 1.0]  # first 4 paths: choice 2 is wrong
    assert len([c for c in ex.live.paths.paths if c["role"] == "path"]) == 4
    assert "no model call" in ex.status.value
    # what the store cannot answer is not faked: more paths, another seed, another budget
    for spec in (RunSpec(**{**vars(smaller), "n": 9}), RunSpec(**{**vars(smaller), "seed": 4}),
                 RunSpec(**{**vars(smaller), "budget": 512}),
                 RunSpec(**{**vars(smaller), "items": (1, 3)})):
        assert not ex.try_instant(spec)
    # through the controls: releasing the N slider recomputes instead of running
    ex.debounce_s = 0.05
    ex.controls.seed.value = 3
    ex.controls.start.value = 1
    ex.controls.count.value = 2
    ex.controls.auto_run.value = True
    ex.controls.n.value = 5
    await asyncio.sleep(0.2)
    assert scripted.call_count == calls and str(ex.state.run_id).endswith("@k5")


async def test_replay_shows_a_stored_run_without_the_model(toy_task, scripted, store) -> None:
    ex = explorer(toy_task, scripted, store)
    result = await ex.start(SC)
    assert result is not None
    votes = ex.live.votes.data
    unused = ScriptedBackend(toy_script())
    fresh = explorer(toy_task, unused, store)
    events = fresh.replay(result.run_id)
    assert events[0].run_id == result.run_id
    assert (fresh.state.summary()["done"], fresh.live.votes.data) == (2, votes)
    assert unused.call_count == 0


async def test_trace_browser_filters_sql_and_row_click(toy_task, scripted, store) -> None:
    ex = explorer(toy_task, scripted, store)
    result = await ex.start(SC)
    assert result is not None
    runs = ex.browser.show_runs()
    assert runs["run_id"].to_list() == [result.run_id] and ex.frame is runs
    ex.browser.technique.value = "refine"
    assert ex.browser.show_runs().height == 0
    frame = ex.browser.run_sql("SELECT run_id, sample_id, item_index FROM samples "
                               "ORDER BY item_index")
    assert frame.height == 2 and ex.browser.table.rows[1][2] == 2
    ex.browser.table.selected = 1  # what a click in the browser does
    detail = ex.browser.detail.state
    assert detail.focus == frame["sample_id"][1]
    assert detail.focused is not None and len(detail.focused.paths) == 8
    assert "wb-diff" not in ex.browser.detail.rounds.value  # sc has no rounds
    bad = ex.browser.run_sql("DELETE FROM runs")
    assert bad is frame and "read-only" in ex.browser.message.value
    assert store.runs().height == 1


async def test_prompt_lab_runs_two_variants_on_the_same_items(toy_task, scripted, store
                                                              ) -> None:
    ex = explorer(toy_task, scripted, store)
    ex.controls.technique.value = "cot"
    ex.controls.start.value = 1
    ex.controls.count.value = 2
    ex.lab.b.areas["system"].value = "Answer like a pirate."
    task = ex.lab.start()
    assert task is not None
    await task
    runs = store.runs()
    assert runs.height == 2 and runs["prompt_hash"].n_unique() == 2
    assert runs["seed"].n_unique() == 1
    items = store.query("SELECT run_id, list(item_index ORDER BY item_index) AS items "
                        "FROM samples GROUP BY run_id")
    assert [list(x) for x in items["items"].to_list()] == [[1, 2], [1, 2]]
    assert "wb-lab-row" in ex.lab.table.value
    ex.lab.a.areas["fewshot"].value = "not a Q/A block"
    assert ex.lab.start() is None and "Few-shot" in ex.lab.message.value


async def test_widget_state_holds_no_secret(monkeypatch, toy_task, scripted, store) -> None:
    canary = "sk-canary-5f1d2c9e0b7a"
    monkeypatch.setenv("OPENAI_API_KEY", canary)
    monkeypatch.setenv("ANTHROPIC_API_KEY", canary)
    ex = explorer(toy_task, scripted, store)
    await ex.start(SC)
    ex.browser.show_runs()
    state = json.dumps(ipywidgets.Widget.get_manager_state(drop_defaults=False),
                       default=str)
    assert "toy-model" in state  # the state is really there...
    assert canary not in state  # ...and no key is in it


async def test_errors_surface_in_the_ui_not_the_kernel(toy_task, scripted) -> None:
    ex = explorer(toy_task, scripted)
    task = ex.start(RunSpec(task="toy", technique="sc", model="toy-model", n=2,
                            temperature=5.0, items=(1,)))
    await asyncio.wait([task])
    assert "temperature must be between 0 and 2" in ex.live.progress.error.value
    with pytest.raises(Exception, match="nope"):
        ex.replay("nope")
    ex.close()
