"""Every technique against a scripted backend: votes, ties, adaptive stop, refinement
stop, budget forcing, and the events each emits."""

from __future__ import annotations

import pytest

from workbench.backends.base import GenRequest
from workbench.backends.scripted import ScriptedBackend
from workbench.errors import WorkbenchError
from workbench.events import Event, PathFinished, RoundFinished, SampleScored, Voted
from workbench.runner import RunSpec, run


def last_user(req: GenRequest) -> str:
    return req.messages[-1]["content"]


def by_index(texts: list[str]):
    """Path i of every item answers texts[i % len]; forced-answer calls say 'answer is 0'."""
    def script(req: GenRequest, choice: int) -> str:
        if "run out of reasoning budget" in last_user(req):
            return "The answer is 0"
        return texts[(req.seed_index + choice) % len(texts)]  # type: ignore[attr-defined]
    return script


async def go(spec: RunSpec, backend: ScriptedBackend, task) -> tuple[list[Event], object]:
    events: list[Event] = []
    result = await run(spec, backend, [events.append], task=task)
    return events, result


def of(events: list[Event], kind: type) -> list:
    return [e for e in events if isinstance(e, kind)]


async def test_cot_correct_and_events(toy_task):
    backend = ScriptedBackend(lambda req, i: "one plus one is two so The answer is 2")
    events, result = await go(RunSpec(task="toy", technique="cot", limit=2, budget=64),
                              backend, toy_task)
    scored = of(events, SampleScored)
    assert [s.answer for s in scored] == ["2", "2"]
    assert [s.correct for s in sorted(scored, key=lambda s: s.item_index)] == [False, True]
    assert result.n_samples == 2 and result.n_correct == 1
    assert events[0].kind == "run_started" and events[-1].kind == "run_finished"
    assert all(s.tokens_out > 0 and s.n_calls == 1 for s in scored)


async def test_budget_forcing_records_truncation(toy_task):
    long = " ".join(["thinking"] * 100) + " The answer is 2"
    backend = ScriptedBackend(
        lambda req, i: "The answer is 2" if "run out" in last_user(req) else long)
    events, _ = await go(RunSpec(task="toy", technique="cot", limit=2, budget=10, offset=1),
                         backend, toy_task)
    paths = of(events, PathFinished)
    chains = [p for p in paths if p.truncated]
    assert len(chains) == 2 and all(p.finish_reason == "length" for p in chains)
    assert all(p.answer is None for p in chains)
    scored = of(events, SampleScored)
    assert [s.answer for s in scored] == ["2", "2"] and scored[0].n_calls == 2
    assert backend.call_count == 4


async def test_budget_must_be_positive(toy_task):
    backend = ScriptedBackend(lambda req, i: "x")
    for bad in (0, -5):
        with pytest.raises(WorkbenchError, match="positive"):
            await go(RunSpec(task="toy", technique="cot", budget=bad), backend, toy_task)
    with pytest.raises(WorkbenchError, match="from 1 to"):
        await go(RunSpec(task="toy", technique="sc", n=0), backend, toy_task)
    with pytest.raises(WorkbenchError, match="Unknown technique"):
        await go(RunSpec(task="toy", technique="magic"), backend, toy_task)
    assert backend.call_count == 0


def answers_script(answers: list[str]):
    def script(req: GenRequest, choice: int) -> str:
        return f"reasoning The answer is {answers[choice % len(answers)]}"
    return script


async def test_sc_majority_vote(toy_task):
    backend = ScriptedBackend(answers_script(["4", "5", "4", "4", "5"]))
    events, _ = await go(RunSpec(task="toy", technique="sc", n=5, limit=1, offset=2),
                         backend, toy_task)
    (v,) = of(events, Voted)
    assert v.counts == {"4": 3.0, "5": 2.0} and v.winner == "4" and not v.tie
    (s,) = of(events, SampleScored)
    assert s.answer == "4" and s.correct
    assert backend.calls[0].request.n == 5  # one request, n native where possible


async def test_sc_tie_is_deterministic_and_recorded(toy_task):
    backend = ScriptedBackend(answers_script(["7", "4", "4", "7"]))
    events, _ = await go(RunSpec(task="toy", technique="sc", n=4, limit=1, offset=2),
                         backend, toy_task)
    (v,) = of(events, Voted)
    assert v.tie and v.tie_break == "first-seen" and v.winner == "7"


async def test_sc_logprob_weighted(toy_task):
    from workbench.techniques.voting import vote
    r = vote(["4", "5", "5"], lambda a, b: a == b, weights=[0.9, 0.2, 0.3])
    assert r.winner == "4" and r.counts == {"4": 0.9, "5": 0.5}
    r = vote(["4", "5", "5"], lambda a, b: a == b, weights=[0.5, 0.25, 0.25])
    assert r.winner == "5" and r.tie and r.tie_break == "more votes"


async def test_adaptive_sc_stops_early_and_records_savings(toy_task):
    backend = ScriptedBackend(answers_script(["4"]))
    events, _ = await go(RunSpec(task="toy", technique="adaptive-sc", n=16, limit=1,
                                 offset=2), backend, toy_task)
    (v,) = of(events, Voted)
    assert v.stopped_early and v.n_paths == 4 and v.samples_saved == 12
    assert v.tokens_saved_est == 12 * 5
    assert len([p for p in of(events, PathFinished)]) == 4


async def test_adaptive_sc_keeps_sampling_when_split(toy_task):
    backend = ScriptedBackend(answers_script(["4", "5"]))
    events, _ = await go(RunSpec(task="toy", technique="adaptive-sc", n=8, limit=1,
                                 offset=2), backend, toy_task)
    (v,) = of(events, Voted)
    assert v.n_paths == 8 and not v.stopped_early and v.samples_saved == 0


def refine_script(verdicts: list[str], answers: list[str]):
    state = {"critique": 0, "solve": 0}

    def script(req: GenRequest, choice: int) -> str:
        text = last_user(req)
        if text.startswith("Check the proposed solution"):
            v = verdicts[min(state["critique"], len(verdicts) - 1)]
            state["critique"] += 1
            return f"checked VERDICT: {v}"
        a = answers[min(state["solve"], len(answers) - 1)]
        state["solve"] += 1
        return f"so The answer is {a}"
    return script


async def test_refine_stops_when_verifier_accepts(toy_task):
    backend = ScriptedBackend(refine_script(["INCORRECT", "CORRECT"], ["3", "4", "9"]))
    events, _ = await go(RunSpec(task="toy", technique="refine", rounds=3, limit=1, offset=2,
                                 verifier="judge"), backend, toy_task)
    rounds = of(events, RoundFinished)
    assert [(r.round, r.answer, r.accepted, r.correct) for r in rounds] == [
        (0, "3", False, False), (1, "4", True, True)]
    critiques = [c for c in backend.calls if last_user(c.request).startswith("Check the")]
    assert {c.request.model for c in critiques} == {"judge"}
    (s,) = of(events, SampleScored)
    assert s.answer == "4" and s.correct


async def test_refine_runs_all_rounds_when_never_accepted(toy_task):
    backend = ScriptedBackend(refine_script(["INCORRECT"], ["3", "4", "5", "6"]))
    events, _ = await go(RunSpec(task="toy", technique="refine", rounds=2, limit=1,
                                 offset=2), backend, toy_task)
    rounds = of(events, RoundFinished)
    assert [r.round for r in rounds] == [0, 1, 2]
    assert [r.correct for r in rounds] == [False, True, False]  # a right->wrong flip
    assert rounds[-1].critique_path_id is None
    with pytest.raises(WorkbenchError, match="rounds"):
        await go(RunSpec(task="toy", technique="refine", rounds=-1), backend, toy_task)


async def test_best_of_n_picks_highest_score(toy_task):
    def script(req: GenRequest, choice: int) -> str:
        text = last_user(req)
        if "SCORE" in text:
            return "SCORE: 9" if "answer is 4" in text else "SCORE: 2"
        return f"The answer is {['5', '4', '5'][choice]}"
    backend = ScriptedBackend(script)
    events, _ = await go(RunSpec(task="toy", technique="best-of-n", n=3, limit=1, offset=2),
                         backend, toy_task)
    (v,) = of(events, Voted)
    assert v.method == "verifier" and v.winner == "4" and v.counts == {"5": 0.2, "4": 0.9}
    scores = [p.score for p in of(events, PathFinished) if p.score is not None]
    assert sorted(scores) == [0.2, 0.2, 0.9]


async def test_sc_over_refine_composition(toy_task):
    backend = ScriptedBackend(refine_script(["CORRECT"], ["4"]))
    events, _ = await go(RunSpec(task="toy", technique="sc-refine", n=3, rounds=2, limit=1,
                                 offset=2), backend, toy_task)
    (v,) = of(events, Voted)
    assert v.counts == {"4": 3.0}
    assert len(of(events, RoundFinished)) == 3


async def test_provider_error_recorded_with_partial_text(toy_task):
    backend = ScriptedBackend(lambda req, i: "half a thought!error:RateLimit 429")
    events, result = await go(RunSpec(task="toy", technique="cot", limit=2), backend,
                              toy_task)
    paths = of(events, PathFinished)
    assert all(p.error == "RateLimit 429" and p.text == "half a thought" for p in paths)
    scored = of(events, SampleScored)
    assert len(scored) == 2 and all("429" in (s.error or "") for s in scored)
    assert result.status == "failed" and result.n_errors == 2  # every sample failed


async def test_prompt_override_changes_hash(toy_task):
    backend = ScriptedBackend(lambda req, i: "The answer is 0")
    e1, _ = await go(RunSpec(task="toy", technique="cot", limit=1), backend, toy_task)
    e2, _ = await go(RunSpec(task="toy", technique="cot", limit=1,
                             prompts={"system": "Be terse."}), backend, toy_task)
    assert e1[0].prompt_hash != e2[0].prompt_hash
    assert backend.calls[-1].request.messages[0]["content"] == "Be terse."
    with pytest.raises(WorkbenchError, match="Unknown prompt template"):
        await go(RunSpec(task="toy", technique="cot", prompts={"sytem": "x"}), backend,
                 toy_task)


async def test_seed_reproducible_per_path(toy_task):
    backend = ScriptedBackend(lambda req, i: "The answer is 0")
    await go(RunSpec(task="toy", technique="sc", n=2, limit=2, seed=7), backend, toy_task)
    await go(RunSpec(task="toy", technique="sc", n=2, limit=2, seed=7), backend, toy_task)
    seeds = [c.request.seed for c in backend.calls]
    assert sorted(seeds[:2]) == sorted(seeds[2:]) and len(set(seeds[:2])) == 2
