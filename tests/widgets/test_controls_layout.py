"""Controls and views that fit a notebook (issue 12.6), checked on the widgets themselves.

Only the knobs the registry declares for the chosen technique are on screen; sliders are
long enough to hit a value; the idle Stop is not red; no status glyph that fonts draw as
an empty box; answer colours never read as right/wrong; cards start at the top; the
refinement view is full width and reports the verifier's accuracy per round.
"""

from __future__ import annotations

import colorsys
import re
from pathlib import Path

import pytest

from widgets.controls import DESCRIPTION_WIDTH, SLIDER_WIDTH, Controls
from widgets.diff import RefinementView, verifier_accuracy, verifier_html
from widgets.live import LiveView
from widgets.paths import BADGES, path_cards
from widgets.progress import STATUS_ICONS, ProgressView, progress_text
from widgets.state import PALETTE, RunState, answer_colors
from widgets.votes import vote_chart_data
from workbench.events import PathFinished, PathStarted, RoundFinished, RunStarted
from workbench.techniques.params import PARAMS
from workbench.techniques.registry import REGISTRY, names

STATIC = Path(__file__).resolve().parents[2] / "widgets" / "static"
READOUT_PX = 60  # the readout box and the slider's margins


@pytest.mark.parametrize("technique", names())
def test_only_the_techniques_own_knobs_are_visible(technique: str) -> None:
    c = Controls(model="m")
    c.technique.value = technique
    offered = set(c.per_technique)
    assert c.visible_knobs() == set(REGISTRY[technique].params) & offered
    for knob, widget in c.per_technique.items():
        shown = knob in REGISTRY[technique].params
        assert (widget.layout.display != "none") == shown and widget.disabled != shown
    # every registered knob has a control: hand-made or generated from its declaration,
    # so a new technique's knobs appear without touching the widgets
    assert set(PARAMS) == offered


def test_hiding_a_knob_hides_nothing_else_and_values_survive() -> None:
    c = Controls(model="m")
    c.technique.value, c.n.value = "sc", 5
    c.technique.value = "cot"  # N hidden; budget (shared style, own layout) still shown
    assert c.n.layout.display == "none" and c.budget.layout.display != "none"
    assert c.temperature.layout.display != "none" and c.count.layout.display != "none"
    c.technique.value = "sc"
    assert c.n.value == 5 and c.visible_knobs() == {"budget", "n", "vote"}


def test_the_vote_picker_reaches_the_spec() -> None:
    from widgets.controls import spec_from_values

    c = Controls(model="m")
    c.vote.value = "logprob"
    assert spec_from_values(c.values(), "toy", (0,)).vote == "logprob"


def test_sliders_give_at_least_15_px_per_step() -> None:
    c = Controls(model="m")
    for slider in (c.n, c.rounds, c.count, c.budget, c.temperature):
        assert slider.layout.width == f"{SLIDER_WIDTH}px" and slider.layout.max_width == "100%"
        assert slider.readout  # and the readout takes a typed value (ipywidgets 8)
    track = SLIDER_WIDTH - DESCRIPTION_WIDTH - READOUT_PX
    assert c.n.min == 1 and c.n.max == 16 and track / (c.n.max - c.n.min) >= 15
    rows = [w for w in c.children if hasattr(w, "layout")]
    assert rows[0].layout.flex_flow == "row wrap"  # the two columns wrap under 1000 px


def test_stop_is_red_only_while_it_can_stop() -> None:
    view = ProgressView()
    assert view.stop_button.button_style == "" and view.stop_button.disabled
    st = RunState()
    st.apply(RunStarted(run_id="r", technique="sc", model="m", task="t", n_items=1))
    view.update(st)
    assert view.stop_button.button_style == "danger" and not view.stop_button.disabled
    st.status = "ok"
    view.update(st)
    assert view.stop_button.button_style == "" and view.stop_button.disabled


def _boxy(ch: str) -> bool:
    """Code points JupyterLab's default fonts lack (drawn as an empty box): the emoji-style
    Miscellaneous Technical block (⏳ ⌛ ⏱ ...) and everything from U+1F000."""
    return 0x2300 <= ord(ch) <= 0x23FF or ord(ch) >= 0x1F000


def test_status_text_uses_words_and_common_glyphs() -> None:
    marks = "".join(STATUS_ICONS.values()) + "".join(BADGES.values())
    assert [ch for ch in marks if _boxy(ch)] == []
    st = RunState()
    st.apply(RunStarted(run_id="r", technique="sc", model="m", task="t", n_items=2))
    text = str(progress_text(st))
    assert text.startswith("running · sc · m") and "⏳" not in text


def _hue_sat(color: str) -> tuple[float, float]:
    r, g, b = (int(color[i:i + 2], 16) / 255 for i in (1, 3, 5))
    h, _l, s = colorsys.rgb_to_hls(r, g, b)
    return h * 360, s


def test_answer_colours_are_neither_green_nor_red() -> None:
    for color in PALETTE:
        hue, sat = _hue_sat(color)
        if sat < 0.15:  # grey
            continue
        assert not 70 <= hue <= 170, f"{color} reads as green ({hue:.0f}°)"
        assert 25 <= hue <= 335, f"{color} reads as red ({hue:.0f}°)"
    assert len(set(PALETTE)) == len(PALETTE) >= 8


def test_cards_and_chart_take_answer_colours_from_the_palette() -> None:
    st = RunState()
    st.apply(RunStarted(run_id="r", technique="sc", model="m", task="t", n_items=1))
    for i in range(10):  # ten distinct answers: the palette wraps, never to green or red
        st.apply(PathStarted(run_id="r", sample_id="s", path_id=f"p{i}", index=i,
                              role="path"))
        st.apply(PathFinished(run_id="r", sample_id="s", path_id=f"p{i}", text="t",
                              answer=str(i), correct=i == 0))
    cards = path_cards(st.focused)
    assert {c["color"] for c in cards} <= set(PALETTE)
    assert cards[0]["badge"] == "✓ correct" and cards[1]["badge"] == "✗ wrong"  # the mark
    assert set(vote_chart_data(st.focused).colors) <= set(PALETTE)
    assert answer_colors(["1", "2"]) == {"1": PALETTE[0], "2": PALETTE[1]}


def test_cards_start_at_the_top_and_size_to_their_text() -> None:
    css = (STATIC / "paths.css").read_text()
    grid = re.search(r"\.wb-paths \{([^}]*)\}", css)
    assert grid is not None and "align-items: start" in grid.group(1)  # no row stretch
    js = (STATIC / "paths.js").read_text()
    assert "scrollTop = 0" in js  # a finished card shows the start of its reasoning


def _round(sid: str, r: int, accepted: bool, correct: bool, last: bool = False
           ) -> RoundFinished:
    return RoundFinished(run_id="r", sample_id=sid, round=r, path_id=f"{sid}-{r}",
                         critique_path_id=None if last else f"{sid}-c{r}",
                         critique="" if last else "VERDICT", accepted=accepted,
                         correct=correct)


def test_verifier_accuracy_per_round_over_every_item() -> None:
    st = RunState()
    st.apply(RunStarted(run_id="r", technique="refine", model="m", task="t", n_items=3))
    for e in (_round("a", 0, False, False), _round("a", 1, True, True),   # right, right
              _round("b", 0, True, False),                                # accepted wrong
              _round("c", 0, False, True), _round("c", 1, False, False),  # rejected right
              _round("c", 2, False, True, last=True)):                    # no verdict
        st.apply(e)
    rounds = verifier_accuracy(st.samples.values())
    assert [(v.round, v.right, v.judged, v.accepted_wrong, v.rejected_right)
            for v in rounds] == [(0, 1, 3, 1, 1), (1, 2, 2, 0, 0)]
    shown = str(verifier_html(rounds))
    assert 'data-round="0" data-right="1" data-judged="3"' in shown and "1/3 (33%)" in shown
    view = RefinementView()
    view.update(st.samples["a"], st.samples.values())
    assert "wb-round" in view.value and "wb-verifier-accuracy" in view.value
    assert (view.layout.width, view.layout.align_self) == ("auto", "stretch")


def test_refinement_view_is_a_full_width_row_of_its_own() -> None:
    live = LiveView()
    assert live.rounds in live.children and live.votes in live.children  # not side by side
    assert (live.rounds.layout.width, live.rounds.layout.align_self) == ("auto", "stretch")


def test_generated_knobs_reach_the_run_spec() -> None:
    """A knob with no hand-made control (adaptive-sc's confidence, sc-stop's rule, beam's
    width) is set through its generated control and lands in the spec the run uses."""
    from widgets.controls import spec_from_values
    from workbench.runner import build_technique

    c = Controls(model="m")
    c.technique.value = "adaptive-sc"
    c.generated["confidence"].value = 0.8
    spec = spec_from_values(c.values(), "arithmetic", None)
    assert spec.knobs == {"confidence": 0.8}
    assert build_technique(spec).describe()["confidence"] == 0.8
    c.technique.value = "beam"
    c.generated["width"].value = 2
    spec = spec_from_values(c.values(), "arithmetic", None)
    assert spec.width == 2 and "width" not in spec.knobs and "confidence" not in spec.knobs
