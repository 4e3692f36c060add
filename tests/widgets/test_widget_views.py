"""Each view's pure data and its synced traits / messages, without a browser."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

import polars as pl

from widgets.browser import TableWidget, cell, sample_events, table_rows
from widgets.controls import BUDGETS, Controls, pick_items, spec_from_values
from widgets.diff import RefinementView, flip, round_rows, rounds_html, word_diff_html
from widgets.paths import PathsView, path_cards
from widgets.progress import ProgressView, progress_text
from widgets.prompt_lab import overrides, parse_fewshot, variant_specs
from widgets.scaling import ScalingView, live_point, points_from_frame
from widgets.state import RunState
from widgets.svgchart import Bar, bar_chart_svg, log_ticks, nice_ticks
from widgets.votes import VoteChart, vote_chart_data
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
from workbench.runner import RunSpec
from workbench.tasks.base import Problem

R, S = "r", "r-00001"


def small_run() -> RunState:
    st = RunState()
    for e in [RunStarted(run_id=R, technique="sc", model="m", task="t", n_items=1),
              *[PathStarted(run_id=R, sample_id=S, path_id=f"p{i}", role="path", index=i)
                for i in range(3)],
              TokenDelta(run_id=R, sample_id=S, path_id="p0", text="a"),
              PathFinished(run_id=R, sample_id=S, path_id="p0", text="so 2", answer="2",
                           correct=True),
              PathFinished(run_id=R, sample_id=S, path_id="p1", text="so 3", answer="3",
                           correct=False),
              PathFinished(run_id=R, sample_id=S, path_id="p2", text="so 2", answer="2",
                           correct=True)]:
        st.apply(e)
    return st


def svg_nodes(markup: str, tag: str) -> list[ET.Element]:
    """Parse a chart's markup (it must be well-formed XML) and list its ``tag`` elements."""
    root = ET.fromstring(markup)
    return list(root.iter(f"{{http://www.w3.org/2000/svg}}{tag}"))


def vote_bars(chart: VoteChart) -> list[dict[str, str]]:
    return [dict(g.attrib) for g in svg_nodes(chart.chart.value, "g")
            if "wb-vote-bar" in g.get("class", "").split()]


def capture(widget: Any) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []
    widget.send = lambda content, buffers=None: sent.append(content)
    return sent


def test_paths_view_cards_traits_and_delta_messages() -> None:
    st = small_run()
    cards = path_cards(st.focused)
    assert [c["answer"] for c in cards] == ["2", "3", "2"]
    assert cards[0]["color"] == cards[2]["color"] != cards[1]["color"]
    assert [c["badge"] for c in cards] == ["✓ correct", "✗ wrong", "✓ correct"]
    view = PathsView()
    sent = capture(view)
    view.update(st, {"paths"}, [{"path": "p0", "offset": 0, "text": "so 2"}])
    assert view.paths == cards and "3 paths" in view.header
    assert sent == [{"type": "deltas", "items": [{"path": "p0", "offset": 0, "text": "so 2"}]}]
    assert view.texts == {"p0": "so 2", "p1": "so 3", "p2": "so 2"}  # new item: synced now
    view.update(st, set(), [])
    assert len(sent) == 1  # nothing new, nothing sent
    state = view.get_state()
    assert "paths" in state and "texts" in state
    assert "msg:custom" in str(view._esm)  # the front-end module itself was loaded


def test_paths_view_syncs_full_texts_only_when_a_front_end_could_lack_them() -> None:
    st, view, now = RunState(), PathsView(), [100.0]
    view.clock = lambda: now[0]
    capture(view)

    def step(event: Any, dt: float = 1.0) -> None:
        """Fold one event and flush it the way WidgetSink does (delta offset = old length)."""
        path = st.samples[S].paths.get(event.path_id) if S in st.samples and \
            isinstance(event, TokenDelta) else None
        deltas = [{"path": event.path_id, "offset": len(path.text), "text": event.text}] \
            if path is not None else []
        now[0] += dt
        view.update(st, st.apply(event), deltas)

    step(RunStarted(run_id=R, technique="sc", model="m", task="t", n_items=1))
    step(PathStarted(run_id=R, sample_id=S, path_id="p0", role="path"))
    assert view.texts_syncs == 1  # a new item is shown: synced at once
    step(PathStarted(run_id=R, sample_id=S, path_id="p1", role="path"))
    for word in ["two ", "plus ", "two"] * 4:  # 1.2 s of streaming
        step(TokenDelta(run_id=R, sample_id=S, path_id="p0", text=word), dt=0.1)
    assert view.texts_syncs == 1 and view.messages_sent == 12  # deltas only, however long
    step(PathFinished(run_id=R, sample_id=S, path_id="p0", text="2 + 2 = 4"), dt=0.1)
    assert view.texts == {"p0": "2 + 2 = 4", "p1": ""}  # the final text differs: resent
    step(PathFinished(run_id=R, sample_id=S, path_id="p1", text="4"), dt=0.1)
    assert view.texts_syncs == 2  # differs too, but 0.1 s after the last sync: later ...
    view._handle_custom_msg({"type": "resync"}, [])  # (and a late front-end saw a gap)
    step(PathStarted(run_id=R, sample_id=S, path_id="p2", role="path"), dt=0.5)
    assert view.texts_syncs == 3 and view.texts["p1"] == "4"  # ... one sync for both
    step(RunFinished(run_id=R, status="ok"))
    view._handle_custom_msg({"type": "resync"}, [])  # idle: answered at once, if needed
    assert view.texts_syncs == 3  # nothing changed since: no resend


def test_vote_chart_live_then_voted_with_gold_and_adaptive_stop() -> None:
    st = small_run()
    d = vote_chart_data(st.focused)
    assert (d.answers, d.counts, d.method, d.winner) == (["2", "3"], [2.0, 1.0], "live", "2")
    assert d.gold_index == 0
    st.apply(Voted(run_id=R, sample_id=S, method="adaptive", counts={"2": 2.0, "3": 1.0},
                   winner="2", n_paths=3, stopped_early=True, samples_saved=5,
                   tokens_saved_est=640))
    chart = VoteChart()
    assert vote_bars(chart) == [] and "No answers yet" in chart.chart.value
    chart.update(st.focused)
    bars = vote_bars(chart)
    assert [(b["data-answer"], b["data-count"]) for b in bars] == [("2", "2"), ("3", "1")]
    assert [(b["data-gold"], b["data-winner"]) for b in bars] == \
        [("true", "true"), ("false", "false")]
    texts = [t.text for t in svg_nodes(chart.chart.value, "tspan")]
    assert texts == ["winner", "★ gold"]  # both tags sit over the first bar
    outlined = [r for r in svg_nodes(chart.chart.value, "rect") if r.get("stroke-width")]
    assert len(outlined) == 1  # the winner
    assert "saved 5 paths (~640 tokens)" in chart.caption.value
    assert "wb-vote-chart" in chart._dom_classes
    state = json.dumps(chart.chart.get_state())
    assert 'data-answer=\\"3\\"' in state and len(state) < 10_000  # the picture is the state


def test_bar_chart_escapes_model_text_and_scales_ticks() -> None:
    evil = '<img src=x onerror="alert(1)">&'
    markup = bar_chart_svg([Bar(label=evil, value=2.5, color="#123456", tags=(evil,),
                                attrs=(("data-answer", evil),))], title="t", y_title="v")
    assert "<img" not in markup and "&lt;img" in markup
    (bar,) = [g for g in svg_nodes(markup, "g") if "wb-bar" in g.get("class", "").split()]
    assert bar.get("data-answer") == evil  # escaped in markup, intact once parsed
    assert nice_ticks(6) == [0, 2, 4, 6] and nice_ticks(7)[-1] == 8 and nice_ticks(0) == [0, 1]
    assert nice_ticks(0.5) == [0.0, 0.1, 0.2, 0.3, 0.4, 0.5]
    assert log_ticks(40, 3000) == [50, 100, 200, 500, 1000, 2000]


def test_vote_chart_shows_gold_even_when_no_path_found_it() -> None:
    st = RunState()
    st.apply(RunStarted(run_id=R, technique="sc", model="m", task="t", n_items=1))
    st.apply(PathStarted(run_id=R, sample_id=S, path_id="p", role="path"))
    st.apply(PathFinished(run_id=R, sample_id=S, path_id="p", text="9", answer="9",
                          correct=False))
    st.apply(SampleScored(run_id=R, sample_id=S, item_id="i", item_index=1, gold="4",
                          answer="9", correct=False))
    d = vote_chart_data(st.focused)
    assert d.answers == ["9", "4"] and d.counts == [1.0, 0.0] and d.gold_index == 1


def test_word_diff_marks_insertions_and_deletions_and_escapes() -> None:
    out = word_diff_html("so x is 5 <b>", "so x is 6 <b>")
    assert '<del class="wb-diff-del"' in out and ">5</del>" in out
    assert '<ins class="wb-diff-ins"' in out and ">6</ins>" in out
    assert "&lt;b&gt;" in out and "<b>" not in out
    assert word_diff_html("same text", "same text") == "same text"
    assert flip(True, False) == "right→wrong" and flip(False, True) == "wrong→right"
    assert flip(True, True) is None and flip(None, False) is None


def test_refinement_view_rows_flips_and_critique() -> None:
    st = RunState()
    st.apply(RunStarted(run_id=R, technique="refine", model="m", task="t", n_items=1))
    for pid, text in (("s0", "x is 5"), ("s1", "x is 6")):
        st.apply(PathStarted(run_id=R, sample_id=S, path_id=pid, role="path"))
        st.apply(PathFinished(run_id=R, sample_id=S, path_id=pid, text=text))
    st.apply(RoundFinished(run_id=R, sample_id=S, round=0, path_id="s0", answer="5",
                           critique="VERDICT: INCORRECT <bad>", correct=False))
    st.apply(RoundFinished(run_id=R, sample_id=S, round=1, path_id="s1", answer="6",
                           accepted=True, critique="VERDICT: CORRECT", correct=True))
    rows = round_rows(st.focused)
    assert [r.flip for r in rows] == [None, "wrong→right"]
    view = RefinementView()
    view.update(st.focused)
    assert 'class="wb-flip wb-flip-w2r"' in view.value and "&lt;bad&gt;" in view.value
    assert "wb-diff-ins" in view.value and "wb-diff-del" in view.value
    assert "No refinement rounds" in rounds_html([])


def test_progress_view_text_bar_and_stop() -> None:
    stopped: list[bool] = []
    view = ProgressView(on_stop=lambda: stopped.append(True))
    st = small_run()
    st.apply(SampleScored(run_id=R, sample_id=S, item_id="i", item_index=1, correct=True,
                          tokens_out=30, cost_usd=0.002))
    view.update(st)
    assert (view.bar.value, view.bar.max) == (1, 1) and not view.stop_button.disabled
    assert "1/1 samples" in view.label.value and "acc 100%" in view.label.value
    view.stop_button.click()
    assert stopped == [True]
    st.apply(RunFinished(run_id=R, status="cancelled"))
    view.update(st)
    assert view.stop_button.disabled and view.bar.bar_style == "warning"
    assert "wb-stop-button" in view.stop_button._dom_classes
    assert "wb-progress" in view.bar._dom_classes
    assert progress_text(RunState()) == "Idle."


def test_scaling_points_and_live_star() -> None:
    frame = pl.DataFrame({"run_id": ["a", "b"], "technique": ["cot", "sc"],
                          "budget_tokens": [256, 256], "n": [1, 8], "items": [10, 10],
                          "accuracy": [0.5, 0.8], "tokens_per_item": [200.0, 1600.0]})
    pts = points_from_frame(frame)
    assert pts.x == [200.0, 1600.0] and pts.y == [0.5, 0.8] and pts.run_ids == ["a", "b"]
    scored = [SampleScored(run_id=R, sample_id=f"s{i}", item_id="i", item_index=i,
                           correct=i % 2 == 0, tokens_out=100) for i in range(4)]
    assert live_point(scored) == (100.0, 0.5) and live_point([]) is None
    view = ScalingView()
    assert "No scored runs yet" in view.chart.value
    view.set_runs(frame)
    view.update_live(scored)
    dots = svg_nodes(view.chart.value, "circle")
    titles = [c.findtext("{http://www.w3.org/2000/svg}title") for c in dots]
    assert [t for t in titles if t] == ["cot · budget 256 · N=1 · 10 items\n200 tokens/item · "
                                        "acc 50%", "sc · budget 256 · N=8 · 10 items\n"
                                        "1600 tokens/item · acc 80%"]
    cy = [float(c.get("cy", 0)) for c in dots if c.get("class") == "wb-scaling-point"]
    assert cy[0] > cy[1]  # higher accuracy is drawn higher up
    (star,) = [p for p in svg_nodes(view.chart.value, "polygon")]
    assert "acc 50%" in (star.findtext("{http://www.w3.org/2000/svg}title") or "")


def test_controls_values_to_spec_and_problem_picking() -> None:
    c = Controls(model="m")
    assert (BUDGETS[0], BUDGETS[4], BUDGETS[-1]) == (64, 256, 4096)
    assert c.budget.value == 256 and c.budget.continuous_update is False
    c.technique.value, c.budget.value, c.n.value = "adaptive-sc", 1024, 12
    spec = spec_from_values(c.values(), "arith", (3, 4))
    assert spec == RunSpec(task="arith", technique="adaptive-sc", model="m", budget=1024,
                           n=12, rounds=2, temperature=None, items=(3, 4), limit=None)
    c.auto_temperature.value = False
    c.temperature.value = 0.3
    assert spec_from_values(c.values(), "arith", (0,)).temperature == 0.3
    probs = [Problem(id=str(i), index=i, question="q", answer="1",
                     meta={"difficulty": 1 + i % 2}) for i in range(6)]
    assert pick_items("index", probs, start=4, count=5) == (4, 5)
    assert pick_items("difficulty", probs, difficulty="2", count=2) == (1, 3)
    assert set(pick_items("random wrong", probs, wrong=[1, 2, 5], count=2)) <= {1, 2, 5}
    assert pick_items("random wrong", probs, wrong=[], start=1, count=1) == (1,)
    assert "wb-run-button" in c.run_button._dom_classes
    calls: list[int] = []
    c.on_change(lambda: calls.append(1))
    c.n.value = 3
    assert calls == [1]


def test_prompt_lab_overrides_and_variant_specs() -> None:
    assert parse_fewshot("Q: 1+1?\nA: 2\n\nQ: 2+2?\nA: 4") == (("1+1?", "2"), ("2+2?", "4"))
    assert overrides({"system": "Be terse.", "fewshot": ""}) == {"system": "Be terse."}
    a, b = variant_specs(RunSpec(items=(1, 2), seed=7), {}, {"reasoning": "Think."})
    assert a.items == b.items and a.seed == b.seed == 7
    assert a.prompts == {} and b.prompts == {"reasoning": "Think."}
    assert {k: v for k, v in vars(a).items() if k != "prompts"} == \
        {k: v for k, v in vars(b).items() if k != "prompts"}


def test_table_widget_rows_and_cells() -> None:
    frame = pl.DataFrame({"run_id": ["x"], "acc": [float("nan")], "text": ["y" * 500]})
    rows = table_rows(frame)
    assert rows == [["x", None, "y" * 199 + "…"]]
    assert cell(True) is True and cell(3) == 3
    t = TableWidget(columns=["run_id"], rows=[["x"]])
    json.dumps(t.get_state())
    ev = [RunStarted(run_id=R, technique="t", model="m", task="t"),
          PathStarted(run_id=R, sample_id="a", path_id="1", role="path"),
          PathStarted(run_id=R, sample_id="b", path_id="2", role="path"),
          RunFinished(run_id=R, status="ok")]
    assert [type(e).__name__ for e in sample_events(ev, "b")] == \
        ["RunStarted", "PathStarted", "RunFinished"]
