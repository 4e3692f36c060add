"""Budget controls and the problem picker; they turn widget values into a ``RunSpec``.

Sliders use ``continuous_update=False`` so they report on release only; the Explorer
debounces those reports (~300 ms) before it re-runs. Everything that decides *what* to run
is a pure function of plain values (:func:`spec_from_values`, :func:`pick_items`) so it is
testable without a browser.

Why the layout is what it is (issue 12.6): a slider is :data:`SLIDER_WIDTH` wide so its
track gives N = 1..16 about 18 px a step (the default 94 px track gave 6 px, too little to
hit a value; the readout also takes a typed value); only the knobs the chosen technique
declares in the registry are shown (the others are hidden, not greyed out); and the rows
wrap, so at ~1,000 px nothing scrolls sideways.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as W

from workbench.runner import RunSpec
from workbench.tasks.base import Problem
from workbench.techniques.params import PARAMS, VOTES, Param
from workbench.techniques.registry import get, names

BUDGET_LOG2 = (6.0, 12.0, 0.5)
"""The budget slider: 2**6 = 64 to 2**12 = 4096 tokens in steps of x1.41 (a log slider, so
its readout is editable and typed values like 300 are kept as typed)."""
BUDGETS = tuple(round(2 ** (BUDGET_LOG2[0] + i * BUDGET_LOG2[2])) for i in range(13))
"""The values the slider steps through: 64, 91, 128, 181, 256, ... 4096."""

PICK_MODES = ("index", "difficulty", "random wrong")
SLIDER_WIDTH = 460
"""Pixels per slider, description included: 460 - 110 (description) - ~60 (readout and
margins) leaves a ~290 px track, ~19 px per step for N = 1..16."""
DESCRIPTION_WIDTH = 110
WRAP = {"flex_flow": "row wrap", "grid_gap": "4px 16px"}
DIFFICULTY_KEYS = ("difficulty", "level")


def difficulty_of(problem: Problem) -> str | None:
    """The problem's difficulty label from its metadata (``difficulty`` or MATH ``level``)."""
    for key in DIFFICULTY_KEYS:
        if key in problem.meta and problem.meta[key] is not None:
            return str(problem.meta[key])
    return None


def pick_items(mode: str, problems: Sequence[Problem], *, start: int = 0, count: int = 1,
               difficulty: str | None = None, wrong: Sequence[int] = (),
               seed: int = 0) -> tuple[int, ...]:
    """Item indices to run: a range, the first ``count`` of one difficulty, or a random
    sample of items a stored run got wrong (falls back to the range when there are none)."""
    count = max(1, count)
    size = len(problems)
    if mode == "difficulty" and difficulty is not None:
        chosen = [p.index for p in problems if difficulty_of(p) == difficulty]
        if chosen:
            return tuple(chosen[:count])
    if mode == "random wrong":
        pool = sorted(set(wrong))
        if pool:
            return tuple(sorted(random.Random(seed).sample(pool, min(count, len(pool)))))
    first = min(max(0, start), max(0, size - 1))
    return tuple(range(first, min(size, first + count)))


DEDICATED = ("budget", "n", "rounds", "vote", "verifier")
"""Knobs with a hand-made control; every other registered knob gets one generated from
its declaration (:func:`knob_widget`), so a new technique's knobs appear by themselves."""
_SPEC_FIELDS = frozenset(RunSpec.__dataclass_fields__)


def knob_widget(param: Param) -> W.Widget:
    """A control for ``param`` from its type, range and choices (the registry's own)."""
    style = {"description_width": f"{DESCRIPTION_WIDTH}px"}
    common: dict[str, Any] = {"description": param.label or param.name,
                              "description_allow_html": False, "tooltip": param.help,
                              "style": style, "layout": W.Layout(width="280px")}
    if param.kind is str:
        return W.Dropdown(options=list(param.choices), value=param.default, **common)
    low = param.low if param.low is not None else 0
    high = param.high if param.high is not None else 1_000_000
    if param.kind is int:
        return W.BoundedIntText(value=param.default, min=int(low), max=int(high),
                                continuous_update=False, **common)
    return W.BoundedFloatText(value=param.default, min=float(low), max=float(high),
                              step=0.01, continuous_update=False, **common)


def spec_from_values(values: dict[str, Any], task: str,
                     items: tuple[int, ...] | None) -> RunSpec:
    """The RunSpec for the current control values (pure: no widgets, no model). Generated
    knobs go to their RunSpec field where it has one, else to ``RunSpec.knobs``."""
    temperature = None if values.get("auto_temperature", True) else float(values["temperature"])
    verifier = values.get("verifier") or None
    extra = dict(values.get("knobs") or {})
    fields = {k: extra.pop(k) for k in list(extra) if k in _SPEC_FIELDS}
    return RunSpec(**fields, knobs=extra,task=task, technique=str(values["technique"]), model=str(values["model"]),
                   verifier=verifier, budget=int(values["budget"]), n=int(values["n"]),
                   rounds=int(values["rounds"]), vote=str(values.get("vote", "majority")),
                   temperature=temperature,
                   seed=int(values.get("seed", 0)), items=items,
                   limit=None if items is not None else int(values.get("count", 1)))


def slider_layout() -> W.Layout:
    """A slider's own layout: :data:`SLIDER_WIDTH` wide, never wider than its container."""
    return W.Layout(width=f"{SLIDER_WIDTH}px", max_width="100%")


def model_options(model: str) -> list[str]:
    """The model picker: the given model, the local one and any configured short names."""
    names = [model, "local"]
    try:
        from workbench.config import load_config

        names += list(load_config().models)
    except Exception:  # a broken config file must not break the notebook UI
        pass
    return list(dict.fromkeys(names))


class Controls(W.VBox):
    """Sliders and pickers. ``values()`` is a plain dict; ``on_change(fn)`` is called on a
    committed change (slider release, picker selection)."""

    def __init__(self, *, model: str = "local", verifier: str | None = None,
                 difficulties: Sequence[str] = (), **kwargs: Any) -> None:
        style = {"description_width": f"{DESCRIPTION_WIDTH}px"}
        cu = {"continuous_update": False, "style": style}
        low, high, step = BUDGET_LOG2
        self.budget = W.FloatLogSlider(value=256, base=2, min=low, max=high, step=step,
                                       readout_format=".0f", description="CoT budget", **cu)
        n, rounds = PARAMS["n"], PARAMS["rounds"]
        self.n = W.IntSlider(value=n.default, min=int(n.low or 1), max=16,
                             description="N samples", **cu)
        self.rounds = W.IntSlider(value=2, min=int(rounds.low or 0), max=5,
                                  description="refine rounds", **cu)
        self.temperature = W.FloatSlider(value=0.7, min=0.0, max=1.5, step=0.1,
                                         description="temperature", **cu)
        self.auto_temperature = W.Checkbox(value=True, description="technique default temp",
                                           indent=False, layout=W.Layout(width="auto"))
        self.vote = W.Dropdown(options=list(VOTES), value=PARAMS["vote"].default,
                               description="vote", style=style)
        self.technique = W.Dropdown(options=list(names()), value="sc",
                                    description="technique", style=style)
        self.model = W.Combobox(options=model_options(model), value=model,
                                description="model", ensure_option=False, style=style,
                                continuous_update=False)
        self.verifier = W.Combobox(options=model_options(model), value=verifier or "",
                                   placeholder="(same as model)", description="verifier",
                                   ensure_option=False, style=style,
                                   continuous_update=False)
        self.mode = W.ToggleButtons(options=list(PICK_MODES), value="index",
                                    description="problems",
                                    style={**style, "button_width": "118px"})
        self.start = W.BoundedIntText(value=0, min=0, max=100_000, description="from index",
                                      style=style, continuous_update=False)
        self.count = W.IntSlider(value=1, min=1, max=40, description="how many", **cu)
        self.difficulty = W.Dropdown(options=list(difficulties) or ["(none)"],
                                     description="difficulty", style=style)
        self.seed = W.IntText(value=0, description="seed", style=style,
                              continuous_update=False)
        self.auto_run = W.Checkbox(value=True, description="re-run on change")
        self.run_button = W.Button(description="Run", icon="play", button_style="primary")
        self.run_button.add_class("wb-run-button")
        for slider in (self.budget, self.n, self.rounds, self.temperature, self.count):
            slider.layout = slider_layout()  # one Layout each: hiding one must not hide all
        for w, cls in ((self.budget, "wb-budget"), (self.n, "wb-n"),
                       (self.rounds, "wb-refine-rounds"), (self.temperature, "wb-temperature"),
                       (self.technique, "wb-technique"), (self.vote, "wb-vote"),
                       (self.model, "wb-model"), (self.verifier, "wb-verifier"),
                       (self.mode, "wb-pick-mode"), (self.count, "wb-count"),
                       (self.start, "wb-start")):
            w.add_class(cls)
        self.generated = {name: knob_widget(p) for name, p in PARAMS.items()
                          if name not in DEDICATED}
        knobs = W.VBox([self.technique, self.budget, self.n, self.rounds, self.vote,
                        *self.generated.values(), self.temperature, self.auto_temperature])
        picks = W.VBox([self.model, self.verifier, self.mode,
                        W.HBox([self.start, self.difficulty], layout=W.Layout(**WRAP)),
                        self.count, self.seed])
        super().__init__([W.HBox([knobs, picks], layout=W.Layout(**WRAP)),
                          W.HBox([self.run_button, self.auto_run])], **kwargs)
        self.add_class("wb-controls")
        self.technique.observe(lambda _c: self.sync_applicable(), names="value")
        self.sync_applicable()

    @property
    def per_technique(self) -> dict[str, W.Widget]:
        """The controls that only some techniques use, by registry knob name."""
        return {"budget": self.budget, "n": self.n, "rounds": self.rounds,
                "vote": self.vote, "verifier": self.verifier, **self.generated}

    def sync_applicable(self) -> None:
        """Show only the knobs the selected technique declares (the registry says which);
        the others are hidden and disabled, and keep their values for when they return."""
        info = get(str(self.technique.value))
        for knob, widget in self.per_technique.items():
            widget.disabled = not info.applies(knob)
            widget.layout.display = None if info.applies(knob) else "none"

    def visible_knobs(self) -> set[str]:
        """The per-technique knobs on screen now (what tests compare with the registry)."""
        return {k for k, w in self.per_technique.items() if w.layout.display != "none"}

    @property
    def knobs(self) -> list[W.Widget]:
        return [self.budget, self.n, self.rounds, self.vote, *self.generated.values(),
                self.temperature,
                self.auto_temperature, self.technique, self.model, self.verifier, self.mode, self.start,
                self.count, self.difficulty, self.seed]

    def values(self) -> dict[str, Any]:
        return {"technique": self.technique.value, "model": self.model.value.strip(),
                "verifier": self.verifier.value.strip(),
                "budget": int(round(self.budget.value)),
                "n": self.n.value, "rounds": self.rounds.value, "vote": self.vote.value,
                "temperature": self.temperature.value,
                "auto_temperature": self.auto_temperature.value, "mode": self.mode.value,
                "start": self.start.value, "count": self.count.value,
                "difficulty": self.difficulty.value, "seed": self.seed.value,
                "knobs": {k: w.value for k, w in self.generated.items()  # set, not default
                          if get(str(self.technique.value)).applies(k)
                          and w.value != PARAMS[k].default}}

    def on_change(self, fn: Callable[[], None]) -> None:
        """Call ``fn()`` after any committed change of a knob (not on the Run button)."""
        for w in self.knobs:
            w.observe(lambda _c: fn(), names="value")
