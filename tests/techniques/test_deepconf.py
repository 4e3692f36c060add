"""DeepConf: the confidence arithmetic on hand-made logprobs, filtering, the weighted vote,
the online stop below the learned threshold (with the tokens it saved), the stored rows."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from workbench.backends.base import GenRequest, TokenLogprob
from workbench.backends.scripted import ScriptedBackend
from workbench.context import Ctx, RunSettings
from workbench.errors import WorkbenchError
from workbench.events import Event, PathFinished, SampleScored, TokenDelta, Voted
from workbench.prompts import Prompts
from workbench.runner import RunSpec, run
from workbench.store.recorder import Recorder
from workbench.store.store import Store
from workbench.techniques.confidence import (
    group_confidences,
    path_confidence,
    percentile,
    token_confidence,
    token_confidences,
)
from workbench.techniques.deepconf import DeepConf, running_stop

SURE = TokenLogprob(-0.01, (-0.01, -5.0, -7.0))  # confidence (0.01 + 5 + 7) / 3 = 4.0033..
UNSURE = TokenLogprob(-0.7, (-0.7, -0.8, -0.9))  # confidence 0.8
C_SURE, C_UNSURE = 12.01 / 3, 0.8


def test_token_confidence_is_minus_the_mean_of_the_top_k():
    assert token_confidence(SURE) == pytest.approx(C_SURE)
    assert token_confidence(UNSURE) == pytest.approx(C_UNSURE)


def test_without_alternatives_the_chosen_tokens_probability_stands_in():
    assert token_confidence(TokenLogprob(-0.5)) == pytest.approx(math.exp(-0.5))
    assert token_confidence(TokenLogprob(-0.5, (-0.5,))) == pytest.approx(math.exp(-0.5))
    assert token_confidences([SURE, UNSURE])[1] == "top-k"
    assert token_confidences([TokenLogprob(-0.1)])[1] == "chosen"
    assert token_confidences([SURE, TokenLogprob(-0.1)])[1] == "mixed"


def test_group_confidences_slide_one_token_at_a_time():
    assert group_confidences([1, 2, 3, 4, 5], 2) == [1.5, 2.5, 3.5, 4.5]
    assert group_confidences([1, 2, 3, 4, 5], 5) == [3.0]
    assert group_confidences([1, 2, 3], 8) == [2.0]  # shorter than the window: one group
    assert group_confidences([], 4) == []


def test_path_measures_are_exact():
    conf = [5.0, 4.0, 1.0, 2.0, 6.0, 6.0]
    # windows of 2: 4.5, 2.5, 1.5, 4.0, 6.0
    assert path_confidence(conf, "lowest", 2) == pytest.approx(1.5)
    assert path_confidence(conf, "bottom10", 2) == pytest.approx(1.5)  # ceil(0.5) = 1 group
    assert path_confidence(conf * 4, "bottom10", 2) == pytest.approx((1.5 + 1.5) / 2)
    assert path_confidence(conf, "tail", 2) == pytest.approx(6.0)
    assert path_confidence(conf, "tail", 2, tail=3) == pytest.approx(14 / 3)
    assert path_confidence(conf, "mean", 2) == pytest.approx(4.0)
    assert path_confidence([], "lowest", 2) is None


def test_percentile_interpolates_like_numpy():
    assert percentile([4, 1, 3, 2], 25) == pytest.approx(1.75)
    assert percentile([1, 2], 50) == pytest.approx(1.5)
    assert percentile([7.0], 90) == 7.0
    assert percentile([1, 2, 3, 4, 5, 6, 7, 8], 90) == pytest.approx(7.3)


def test_running_stop_triggers_when_the_last_window_falls_below():
    rule = running_stop(2.0, 2)
    conf = {3.0: TokenLogprob(-0.1, (-3.0, -3.0)), 1.0: TokenLogprob(-0.1, (-1.0, -1.0))}
    tokens = [conf[3.0]]
    assert not rule(tokens)  # fewer than a window: never stops
    tokens.append(conf[3.0])
    assert not rule(tokens)  # mean 3
    tokens.append(conf[1.0])
    assert not rule(tokens)  # mean (3 + 1) / 2 = 2: not below
    tokens += [conf[1.0], conf[3.0]]  # two tokens at once (one network read)
    assert rule(tokens)  # windows (1, 1) = 1 and then (1, 3) = 2: the first one stops it


def test_running_stop_judges_every_window_of_a_batch():
    low, high = TokenLogprob(-0.1, (-1.0, -1.0)), TokenLogprob(-0.1, (-3.5, -3.5))
    assert running_stop(2.0, 2)([high, low, low, high])  # (1, 1) inside the batch
    assert not running_stop(2.0, 2)([high, low, high, low])  # every window is 2.25
    assert not running_stop(2.0, 3)([low, low])  # never before a full window


def sure_of(*samples: int):
    """Token logprobs: the given samples are sure of every token; the rest are unsure."""
    def logprobs(req: GenRequest, choice: int, pos: int, word: str) -> TokenLogprob:
        return SURE if req.sample_index + choice in samples else UNSURE
    return logprobs


def answers(by_sample: dict[int, str], default: str):
    def script(req: GenRequest, choice: int) -> str:
        if "run out of reasoning budget" in req.messages[-1]["content"]:
            return "The answer is 0"
        return by_sample.get(req.sample_index + choice, default)
    return script


async def go(technique: DeepConf, backend: ScriptedBackend, toy_task, sinks=()
             ) -> list[Event]:
    events: list[Event] = []
    await run(RunSpec(task="toy", technique=technique.name, n=technique.n, limit=1, offset=3),
              backend, [events.append, *sinks], task=toy_task, technique=technique)
    return events


def one(events: list[Event], kind: type):
    (found,) = [e for e in events if isinstance(e, kind)]
    return found


async def test_offline_keep_low_keeps_only_the_confident_path(toy_task):
    # sample 0 is sure and right (6); samples 1..3 are unsure and agree on 7.
    backend = ScriptedBackend(answers({0: "sure so The answer is 6"}, "hmm The answer is 7"),
                              token_logprobs=sure_of(0))
    events = await go(DeepConf(n=4, keep=0.1), backend, toy_task)
    (req,) = [c.request for c in backend.calls]
    assert req.logprobs and req.top_logprobs == 5 and req.n == 4
    voted = one(events, Voted)
    assert voted.method == "deepconf" and voted.n_paths == 1
    assert voted.counts == {"6": pytest.approx(C_SURE)}
    assert one(events, SampleScored).answer == "6"


async def test_offline_keep_high_weights_the_vote_by_confidence(toy_task):
    backend = ScriptedBackend(answers({0: "sure so The answer is 6"}, "hmm The answer is 7"),
                              token_logprobs=sure_of(0))
    events = await go(DeepConf(n=4, keep=0.9), backend, toy_task)
    voted = one(events, Voted)
    assert voted.n_paths == 4  # three tied lowest confidences sit on the 10th percentile
    assert voted.counts == {"6": pytest.approx(C_SURE), "7": pytest.approx(3 * C_UNSURE)}
    assert voted.winner == "6"  # 4.00 > 2.40, though plain majority says 7
    scores = [e.score for e in events if isinstance(e, PathFinished)]
    assert scores == [pytest.approx(C_SURE)] + [pytest.approx(C_UNSURE)] * 3


async def test_offline_keep_filters_the_bottom_fraction(toy_task):
    # samples 0 and 2 sure (answer 6), 1 and 3 unsure (7 and 8): keep 0.5 drops 1 and 3
    backend = ScriptedBackend(answers({0: "The answer is 6", 1: "The answer is 7",
                                       2: "The answer is 6"}, "The answer is 8"),
                              token_logprobs=sure_of(0, 2))
    voted = one(await go(DeepConf(n=4, keep=0.5), backend, toy_task), Voted)
    assert voted.n_paths == 2 and voted.counts == {"6": pytest.approx(2 * C_SURE)}


async def test_without_logprobs_the_vote_falls_back_to_majority(toy_task):
    backend = ScriptedBackend(answers({0: "The answer is 6"}, "The answer is 7"))
    events = await go(DeepConf(n=3, keep=0.1), backend, toy_task)
    voted = one(events, Voted)
    assert voted.counts == {"6": 1.0, "7": 2.0} and voted.winner == "7"


LONG = " ".join(["step"] * 12) + " The answer is 6"  # 16 words


async def test_online_stops_a_path_below_the_threshold_and_records_tokens_saved(
        toy_task, tmp_path: Path):
    # warm-up: sample 0 sure, sample 1 unsure -> threshold = median of (4.0033, 0.8);
    # later: sample 2 sure (finishes, votes), sample 3 unsure (stopped after 2 tokens).
    backend = ScriptedBackend(answers({}, LONG), token_logprobs=sure_of(0, 2))
    technique = DeepConf(n=4, keep=0.5, window=2, online=True, warmup=2)
    with Store.open(tmp_path / "t.duckdb") as store:
        events = await go(technique, backend, toy_task, sinks=[Recorder(store)])
        rows = {r["idx"]: r for r in store.paths().to_dicts()}
        vote_row = store.votes().to_dicts()[0]
    assert [c.request.n for c in backend.calls] == [2, 1, 1]
    assert all(c.request.top_logprobs == 5 for c in backend.calls)
    assert rows[3]["finish_reason"] == "stopped" and rows[3]["tokens_out"] == 2
    assert rows[3]["text"] == "step step" and rows[3]["answer"] is None
    assert rows[3]["score"] == pytest.approx(C_UNSURE)
    assert [rows[i]["finish_reason"] for i in (0, 1, 2)] == ["stop"] * 3
    stopped = [e for e in events if isinstance(e, PathFinished) and e.finish_reason == "stopped"]
    deltas = [e for e in events if isinstance(e, TokenDelta) and e.path_id == stopped[0].path_id]
    assert "".join(d.text for d in deltas) == "step step"  # nothing streamed after the stop
    voted = one(events, Voted)
    assert voted.method == "deepconf-online" and voted.stopped_early
    assert voted.n_paths == 2  # warm-up 0 (above the threshold) and sample 2
    assert voted.counts == {"6": pytest.approx(2 * C_SURE)}
    assert voted.tokens_saved_est == 16 - 2  # the finished chains' mean length, minus 2
    assert vote_row["stopped_early"] and vote_row["tokens_saved_est"] == 14
    scored = one(events, SampleScored)
    assert scored.answer == "6" and scored.tokens_out == 3 * 16 + 2


async def test_online_keeps_every_path_that_stays_above(toy_task):
    backend = ScriptedBackend(answers({}, LONG), token_logprobs=lambda *a: SURE)
    events = await go(DeepConf(n=4, keep=0.9, window=2, online=True, warmup=2), backend,
                      toy_task)
    assert not any(isinstance(e, PathFinished) and e.finish_reason == "stopped"
                   for e in events)
    voted = one(events, Voted)
    assert voted.n_paths == 4 and not voted.stopped_early and voted.tokens_saved_est == 0


async def test_should_stop_needs_one_path_per_request(toy_task):
    ctx = Ctx(settings=RunSettings(run_id="r", model="m", verifier=None, temperature=0.0,
                                   seed=0, prompts=Prompts()),
              backend=ScriptedBackend(lambda r, i: "x"), emit=lambda e: None,
              task=toy_task, problem=toy_task.problems[0], sample_id="s")
    with pytest.raises(WorkbenchError, match="n=1"):
        await ctx.generate([{"role": "user", "content": "q"}], n=2,
                           should_stop=lambda toks: False)


@pytest.mark.local_model
async def test_deepconf_on_the_embedded_model(tmp_path: Path) -> None:
    """2 items on llama.cpp, offline and online: top-5 logprobs come back while streaming
    (every path's confidence is at least ln 5, which the chosen-token fallback, at most
    1, can never reach), and the online run finishes with its vote recorded."""
    from workbench.api import run_experiment_async

    with Store.open(tmp_path / "local.duckdb") as store:
        for technique in (DeepConf(budget=48, n=2, keep=0.5, window=8),
                          DeepConf(budget=48, n=3, keep=0.9, window=8, online=True,
                                   warmup=2)):
            spec = RunSpec(task="arithmetic", technique=technique.name, n=technique.n,
                           limit=2, budget=48)
            result = await run_experiment_async(spec, store=store, technique=technique)
            assert result.n_samples == 2 and result.n_errors == 0
            paths = store.paths(result.run_id).filter(
                store.paths(result.run_id)["role"] == "path").to_dicts()
            assert len(paths) == 2 * technique.n
            assert all(p["score"] is not None and p["score"] >= math.log(5) - 1e-9
                       for p in paths)
            for p in paths:
                if p["finish_reason"] == "stopped":
                    assert p["answer"] is None and p["tokens_out"] < 48
            assert store.votes(result.run_id).height == 2
