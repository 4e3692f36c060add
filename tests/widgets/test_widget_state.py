"""RunState: the fold of events the views draw from."""

from __future__ import annotations

from widgets.state import RunState, answer_colors
from workbench.events import (
    PathFinished,
    PathStarted,
    RoundFinished,
    RunFinished,
    RunStarted,
    SampleScored,
    TokenDelta,
    Voted,
)

R, S = "r", "r-00003"


def test_fold_paths_forced_answers_votes_and_progress() -> None:
    st = RunState()
    assert st.apply(RunStarted(run_id=R, technique="sc", model="m", task="t", n_items=2))
    st.apply(PathStarted(run_id=R, sample_id=S, path_id="a", role="path", index=0))
    st.apply(PathStarted(run_id=R, sample_id=S, path_id="b", role="path", index=1))
    st.apply(TokenDelta(run_id=R, sample_id=S, path_id="a", text="so 4"))
    assert st.focus == S and st.samples[S].paths["a"].status == "running"
    st.apply(PathFinished(run_id=R, sample_id=S, path_id="a", text="so 4", answer="4",
                          correct=True, tokens_out=3))
    st.apply(PathFinished(run_id=R, sample_id=S, path_id="b", text="cut", truncated=True,
                          finish_reason="length", tokens_out=64))
    st.apply(PathStarted(run_id=R, sample_id=S, path_id="bf", role="forced_answer",
                         parent_id="b", index=1))
    st.apply(PathFinished(run_id=R, sample_id=S, path_id="bf", text="5", answer="5",
                          correct=False, tokens_out=2))
    s = st.samples[S]
    assert s.outcome_answer(s.paths["b"]) == "5" and s.paths["b"].status == "truncated"
    assert s.live_counts() == {"4": 1, "5": 1}
    st.apply(Voted(run_id=R, sample_id=S, method="majority", counts={"4": 1.0, "5": 1.0},
                   winner="4", tie=True, tie_break="first-seen", n_paths=2))
    st.apply(RoundFinished(run_id=R, sample_id=S, round=0, path_id="a", answer="4"))
    stale = st.apply(SampleScored(run_id=R, sample_id=S, item_id="x", item_index=3,
                                  gold="4", answer="4", correct=True, tokens_out=69))
    assert {"paths", "votes", "rounds", "scaling"} <= stale
    assert st.summary() == {"run_id": R, "status": "running", "done": 1, "total": 2,
                            "correct": 1, "tokens_out": 69, "cost_usd": 0.0}
    assert st.sample_options() == [("item 3 ✓", S)]
    st.apply(RunFinished(run_id=R, status="ok"))
    assert st.status == "ok" and st.progress.tokens_per_s() > 0


def test_events_of_other_runs_are_ignored_and_cancel_marks_stopped() -> None:
    st = RunState()
    st.apply(RunStarted(run_id=R, technique="cot", model="m", task="t", n_items=1))
    assert st.apply(TokenDelta(run_id="zzz", sample_id=S, path_id="a", text="x")) == set()
    st.apply(PathStarted(run_id=R, sample_id=S, path_id="a", role="path"))
    st.apply(PathFinished(run_id=R, sample_id=S, path_id="a", text="part",
                          finish_reason="cancelled", error="cancelled"))
    assert st.samples[S].paths["a"].status == "stopped"
    assert st.samples.keys() == {S}


def test_answer_colors_are_stable_in_first_seen_order() -> None:
    c = answer_colors(["7", None, "3", "7"])
    assert list(c) == ["7", "3"] and c["7"] != c["3"]


def test_live_counts_use_the_last_refinement_round() -> None:
    st = RunState()
    st.apply(RunStarted(run_id=R, technique="refine", model="m", task="t", n_items=1))
    for pid, role, rnd, ans in (("a", "path", 0, "5"), ("c", "critique", 0, None),
                                ("b", "refine", 1, "6")):
        st.apply(PathStarted(run_id=R, sample_id=S, path_id=pid, role=role, round=rnd))
        st.apply(PathFinished(run_id=R, sample_id=S, path_id=pid, text="t", answer=ans))
    assert st.samples[S].live_counts() == {"6": 1}
