"""The knobs a technique can take, declared once: type, range, default and what it means.

Why a module of its own: the CLI's options, the Explorer's sliders, ``workbench
techniques``, the README table and validation all describe the same knobs. Declaring each
knob here (and which techniques it applies to in :mod:`workbench.techniques.registry`)
means a new knob or a new range is one edit, and every error message says the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from workbench.errors import WorkbenchError

MAX_SAMPLES = 1000
MAX_ROUNDS = 20
VOTES = ("majority", "logprob", "verifier")
STOP_RULES = ("beta", "dirichlet", "sprt", "esc")
"""Stopping rules of ``sc-stop`` (:mod:`workbench.allocation.stopping`)."""
SCORERS = ("judge", "prm", "logprob")  # step scorers (workbench.techniques.scorers)
AGGREGATIONS = ("last", "min", "product", "mean")  # of step scores (techniques.aggregation)
MAX_WIDTH = 64
MEASURES = ("lowest", "bottom10", "tail", "mean")
"""DeepConf's path confidences: lowest group, mean of the bottom 10% of groups, the tail
(last ``window`` tokens), the whole path's mean token confidence."""


@dataclass(frozen=True)
class Param:
    """One knob. ``low``/``high`` bound numbers (None: unbounded), ``choices`` bound
    strings; ``builds`` is False for knobs that reach the run settings rather than the
    technique's factory (the verifier model)."""

    name: str
    kind: type
    default: Any
    help: str
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    label: str | None = None
    unit: str = "integer"
    hint: str = ""
    open_interval: bool = False
    builds: bool = True

    def check(self, value: Any) -> Any:
        """``value`` if it is a valid setting of this knob, else a clear WorkbenchError."""
        if self.kind is str:
            return self._check_str(value)
        if self.kind is int:
            ok = isinstance(value, int) and not isinstance(value, bool)
        else:
            ok = isinstance(value, int | float) and not isinstance(value, bool)
        if ok and self._in_range(float(value)):
            return value
        raise WorkbenchError(self._range_error(value))

    def _check_str(self, value: Any) -> Any:
        if value is None and self.default is None:
            return value
        if self.choices and value not in self.choices:
            raise WorkbenchError(f"Unknown {self.name} {value!r}; choose one of {self.choices}.")
        if not isinstance(value, str):
            raise WorkbenchError(f"{self.name} must be a string (got {value!r}).")
        return value

    def _in_range(self, v: float) -> bool:
        if self.open_interval:
            return (self.low is None or v > self.low) and (self.high is None or v < self.high)
        return (self.low is None or v >= self.low) and (self.high is None or v <= self.high)

    def _range_error(self, value: Any) -> str:
        label = self.label or self.name
        if self.open_interval:
            return f"{label} must be in ({self.low:g}, {self.high:g}) (got {value!r})."
        if self.high is None:
            return f"{label} must be a positive {self.unit} (got {value!r}){self.hint}."
        what = "an integer" if self.kind is int else "a number"
        return f"{label} must be {what} from {self.low:g} to {self.high:g} (got {value!r})."

    def range_text(self) -> str:
        """The allowed values, for tables and help texts ("1..1000", "majority|logprob")."""
        if self.choices:
            return "|".join(self.choices)
        if self.kind is str:
            return "model name"
        if self.high is None:
            return f">= {self.low:g}"
        if self.open_interval:
            return f"{self.low:g} < x < {self.high:g}"
        return f"{self.low:g}..{self.high:g}"


PARAMS: dict[str, Param] = {p.name: p for p in (
    Param("budget", int, 256, "reasoning-token budget per path", low=1,
          unit="number of tokens", hint="; try 256, 512 or 1024"),
    Param("n", int, 8, "samples per item", low=1, high=MAX_SAMPLES,
          label="n (samples per item)"),
    Param("rounds", int, 3, "refinement rounds", low=0, high=MAX_ROUNDS),
    Param("vote", str, "majority", "how the samples vote", choices=VOTES),
    Param("confidence", float, 0.95, "stop once the leader's posterior confidence reaches "
          "this", low=0.5, high=1.0, open_interval=True),
    Param("rule", str, "beta", "stopping rule: Beta or Dirichlet posterior on the leader, "
          "SPRT leader vs runner-up, ESC window agreement", choices=STOP_RULES),
    Param("threshold", float, 0.95, "the rule's confidence to stop at (beta, dirichlet, "
          "sprt)", low=0.5, high=1.0, open_interval=True),
    Param("window", int, 4, "samples drawn per step; ESC stops when one window agrees",
          low=1, high=MAX_SAMPLES, label="window (samples per step)"),
    Param("verifier", str, None, "verifier model (default: the model itself); for "
          "scorer=prm the reward model", builds=False),
    Param("width", int, 4, "search: beams kept per step (beam) or subtrees (dvts)", low=1,
          high=MAX_WIDTH),
    Param("expansions", int, 4, "search: next steps sampled per beam per step", low=1,
          high=MAX_WIDTH),
    Param("max_steps", int, 8, "search: most steps in a chain", low=1, high=100),
    Param("scorer", str, "judge", "step scorer: the verifier as judge, a reward model "
          "(PRM) endpoint, or the policy's own logprobs", choices=SCORERS),
    Param("aggregate", str, "last", "how a chain's step scores combine into its rank",
          choices=AGGREGATIONS),
    Param("min_tokens", int, 128, "think-longer: reasoning tokens before the model may stop "
          "(an earlier stop gets the continuation cue)", low=1, unit="number of tokens"),
    Param("extensions", int, 2, "think-longer: most continuation cues per chain",
          low=0, high=MAX_ROUNDS),
    Param("keep", float, 0.9, "deepconf: fraction of paths kept by confidence (0.9: "
          "DeepConf-high, 0.1: DeepConf-low); online: sets the stop threshold",
          low=0.05, high=1.0),
    Param("group_tokens", int, 64, "deepconf: tokens per sliding confidence group (the "
          "paper: 2048)", low=1, unit="number of tokens"),
    Param("warmup", int, 4, "deepconf online: paths drawn in full to learn the threshold",
          low=1, high=MAX_SAMPLES),
    Param("measure", str, "lowest", "deepconf offline: which path confidence filters and "
          "weights the vote", choices=MEASURES),
)}
"""Every knob, in the order tables show them."""


def check(name: str, value: Any) -> Any:
    """Validate one knob by name (the techniques' constructors use this too)."""
    return PARAMS[name].check(value)
