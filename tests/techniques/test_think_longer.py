"""think-longer against a scripted backend: the cue is appended to the same assistant
message, the chain stops at the min / max bounds, the answer is forced when it must be,
and the stored rows show the extension chain."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.backends.base import GenRequest
from workbench.backends.scripted import ScriptedBackend
from workbench.events import Event, PathFinished, PathStarted, SampleScored
from workbench.runner import RunSpec, run
from workbench.store.recorder import Recorder
from workbench.store.store import Store
from workbench.techniques.think_longer import ThinkLonger

FORCED = "The answer is 99"


def script(first: str, more: str):
    """``first`` for the opening chain, ``more`` for every continuation; the forced-answer
    request gets FORCED."""
    def answer(req: GenRequest, choice: int) -> str:
        last = req.messages[-1]
        if last["role"] == "user" and "run out of reasoning budget" in last["content"]:
            return FORCED
        return more if last["role"] == "assistant" else first
    return answer


async def go(technique: ThinkLonger, backend: ScriptedBackend, toy_task, sinks=(),
             **spec) -> list[Event]:
    events: list[Event] = []
    await run(RunSpec(task="toy", technique="think-longer", limit=1, offset=2, **spec),
              backend, [events.append, *sinks], task=toy_task, technique=technique)
    return events


def finished(events: list[Event]) -> list[PathFinished]:
    return [e for e in events if isinstance(e, PathFinished)]


async def test_cue_is_appended_to_the_same_message_until_min_tokens(toy_task):
    backend = ScriptedBackend(script("two plus two The answer is 4",  # 7 words
                                     ", checking again The answer is 4"))  # 7 words
    events = await go(ThinkLonger(budget=100, min_tokens=15, extensions=5), backend, toy_task)
    reqs = [c.request for c in backend.calls]
    assert len(reqs) == 3  # 7 -> 14 -> 21 >= 15: two extensions, no forced answer
    assert [r.continue_final for r in reqs] == [False, True, True]
    assert reqs[1].messages[-1] == {"role": "assistant",
                                    "content": "two plus two The answer is 4\n\nWait"}
    assert reqs[2].messages[-1]["content"] == (
        "two plus two The answer is 4\n\nWait, checking again The answer is 4\n\nWait")
    assert reqs[1].messages[:-1] == reqs[0].messages  # the same conversation, continued
    assert [r.max_tokens for r in reqs] == [100, 93, 86]  # what is left of the budget
    (scored,) = [e for e in events if isinstance(e, SampleScored)]
    assert scored.answer == "4" and scored.correct and scored.tokens_out == 21


async def test_stops_at_max_extensions_and_forces_when_the_last_segment_has_no_answer(
        toy_task):
    backend = ScriptedBackend(script("short The answer is 4", ", hmm let me see"))
    events = await go(ThinkLonger(budget=1000, min_tokens=500, extensions=2), backend,
                      toy_task)
    paths = finished(events)
    assert [p.finish_reason for p in paths] == ["stop", "stop", "stop", "stop"]
    assert len(backend.calls) == 4  # chain + 2 extensions (the cap) + forced answer
    forced = backend.calls[-1].request
    assert forced.messages[-2]["content"] == (
        "short The answer is 4\n\nWait, hmm let me see\n\nWait, hmm let me see")
    (scored,) = [e for e in events if isinstance(e, SampleScored)]
    assert scored.answer == "99"  # forced: the last continuation trailed off


async def test_budget_cut_stops_extending_and_forces_the_answer(toy_task):
    backend = ScriptedBackend(script("a b c The answer is 4",  # 7 words
                                     ", " + " ".join(["more"] * 20)))
    events = await go(ThinkLonger(budget=10, min_tokens=50, extensions=5), backend, toy_task)
    reqs = [c.request for c in backend.calls]
    assert [r.max_tokens for r in reqs[:2]] == [10, 3]
    chain, ext, forced = finished(events)
    assert ext.finish_reason == "length" and ext.truncated and ext.tokens_out == 3
    assert forced.answer == "99"
    (scored,) = [e for e in events if isinstance(e, SampleScored)]
    assert scored.answer == "99" and scored.tokens_out == 7 + 3 + 4


async def test_a_chain_long_enough_is_not_extended(toy_task):
    backend = ScriptedBackend(script("one two three four The answer is 4", "never"))
    events = await go(ThinkLonger(budget=100, min_tokens=5, extensions=3), backend, toy_task)
    assert len(backend.calls) == 1
    assert [e.answer for e in events if isinstance(e, SampleScored)] == ["4"]


async def test_zero_extensions_is_plain_cot(toy_task):
    backend = ScriptedBackend(script("The answer is 4", "never"))
    await go(ThinkLonger(budget=100, min_tokens=50, extensions=0), backend, toy_task)
    assert len(backend.calls) == 1


async def test_the_cue_is_a_prompt_template(toy_task):
    backend = ScriptedBackend(script("x The answer is 4", " ok The answer is 4"))
    await go(ThinkLonger(budget=100, min_tokens=6, extensions=1), backend, toy_task,
             prompts={"wait": "Hmm, hold on."})
    assert backend.calls[1].request.messages[-1]["content"].endswith("\n\nHmm, hold on.")


async def test_stored_rows_show_the_extension_chain(toy_task, tmp_path: Path):
    backend = ScriptedBackend(script("two plus two The answer is 4",
                                     ", checking again The answer is 4"))
    with Store.open(tmp_path / "t.duckdb") as store:
        events = await go(ThinkLonger(budget=100, min_tokens=15, extensions=5), backend,
                          toy_task, sinks=[Recorder(store)])
        rows = store.paths().sort("started_at").to_dicts()
    started = {e.path_id: e for e in events if isinstance(e, PathStarted)}
    assert [r["role"] for r in rows] == ["path", "extension", "extension"]
    assert [r["round"] for r in rows] == [0, 1, 2]
    assert rows[0]["parent_id"] is None
    assert [r["parent_id"] for r in rows[1:]] == [rows[0]["path_id"], rows[1]["path_id"]]
    assert [r["text"] for r in rows] == ["two plus two The answer is 4",
                                         ", checking again The answer is 4",
                                         ", checking again The answer is 4"]
    assert started[rows[2]["path_id"]].prompt.endswith("[assistant] two plus two The answer "
                                                       "is 4\n\nWait, checking again The "
                                                       "answer is 4\n\nWait")


@pytest.mark.local_model
async def test_think_longer_on_the_embedded_model(tmp_path: Path) -> None:
    """2 items on llama.cpp: every chain that stopped early was continued as the same
    message (prefill): the continuation is new text, not the chain again."""
    from workbench.api import run_experiment_async

    spec = RunSpec(task="arithmetic", technique="think-longer", limit=2, budget=96,
                   temperature=0.0)
    with Store.open(tmp_path / "local.duckdb") as store:
        result = await run_experiment_async(
            spec, store=store, technique=ThinkLonger(budget=96, min_tokens=80,
                                                     extensions=1))
        rows = store.paths(result.run_id).sort("started_at").to_dicts()
    assert result.n_samples == 2 and result.n_errors == 0
    ext = [r for r in rows if r["role"] == "extension"]
    assert ext, "a 0.5B model often stops before 80 tokens: some chain must be extended"
    by_id = {r["path_id"]: r for r in rows}
    for r in ext:
        parent = by_id[r["parent_id"]]
        assert parent["role"] in ("path", "extension") and r["round"] == parent["round"] + 1
        assert r["text"].strip() and not r["text"].startswith(parent["text"][:40])
