"""The one list of techniques: name, knobs, factory and description, registered together.

Each technique module registers its factories with :func:`register` (inspect_ai's
``@solver`` style), so a new technique is one decorated function: the CLI's ``--technique``
choices, the Explorer's picker (and which of its controls apply), validation, ``workbench
techniques`` and the README table (a test keeps it in step) all read :data:`REGISTRY`.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from workbench.errors import WorkbenchError
from workbench.techniques.base import Technique
from workbench.techniques.params import PARAMS, Param

Factory = Callable[..., Technique]
F = TypeVar("F", bound=Factory)


@dataclass(frozen=True)
class TechniqueInfo:
    """A registered technique. ``params`` are the knobs that apply to it (the factory takes
    those with ``builds`` set as keyword arguments); ``compute_knob`` is the knob that sets
    its compute (what a scaling label shows); ``sampling`` techniques default to
    temperature 0.7 and draw ``n`` samples per item.

    ``replay`` names the rule that can answer this technique from stored samples without a
    model call (``"majority"``, ``"adaptive"``, ``"best_of"``; ``None``: it needs new
    calls), applied to the samples of a stored run of ``replays_on`` (default: itself).

    ``view`` is how the Explorer draws a run of it: ``"paths"`` (cards side by side) or
    ``"tree"`` (a step-level search: its steps as a tree, :mod:`widgets.tree`)."""

    name: str
    description: str
    params: tuple[str, ...]
    factory: Factory
    sampling: bool = False
    compute_knob: str | None = None
    rank: int = 0
    replay: str | None = None
    replays_on: str | None = None
    view: str = "paths"

    @property
    def replay_source(self) -> str:
        """The technique whose stored samples :attr:`replay` is applied to."""
        return self.replays_on or self.name

    @property
    def needs_verifier(self) -> bool:
        return "verifier" in self.params

    def applies(self, knob: str) -> bool:
        return knob in self.params

    def default_temperature(self) -> float:
        return 0.7 if self.sampling else 0.0


VIEWS = ("paths", "tree")
"""How the Explorer can draw a technique's runs (``TechniqueInfo.view``)."""

REGISTRY: dict[str, TechniqueInfo] = {}
"""Technique name -> its registration, in display order (``rank``: cheapest first)."""


def register(name: str, description: str, *, params: Iterable[str], rank: int,
             sampling: bool = False, compute_knob: str | None = None,
             replay: str | None = None, replays_on: str | None = None,
             view: str = "paths") -> Callable[[F], F]:
    """Decorator: register ``factory`` under ``name`` with the knobs that apply to it.

    ``rank`` orders tables, pickers and colours independently of import order."""
    knobs = tuple(params)
    unknown = [k for k in knobs if k not in PARAMS]
    if unknown:
        raise ValueError(f"technique {name!r} declares unknown knobs {unknown}")
    if compute_knob is not None and compute_knob not in knobs:
        raise ValueError(f"technique {name!r}: compute_knob {compute_knob!r} not in params")
    if view not in VIEWS:
        raise ValueError(f"technique {name!r}: view {view!r} is not one of {VIEWS}")

    def decorate(factory: F) -> F:
        if name in REGISTRY:
            raise ValueError(f"technique {name!r} is registered twice")
        REGISTRY[name] = TechniqueInfo(name, description, knobs, factory, sampling,
                                       compute_knob, rank, replay, replays_on, view)
        ordered = sorted(REGISTRY.values(), key=lambda i: i.rank)
        REGISTRY.clear()
        REGISTRY.update((i.name, i) for i in ordered)
        return factory
    return decorate


def names() -> tuple[str, ...]:
    return tuple(REGISTRY)


def get(name: str) -> TechniqueInfo:
    """The registration of ``name``; an unknown name says what is known (and the closest)."""
    info = REGISTRY.get(name)
    if info is None:
        close = difflib.get_close_matches(str(name), REGISTRY, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise WorkbenchError(
            f"Unknown technique {name!r}.{hint} Known techniques: {', '.join(REGISTRY)}.")
    return info


def find(name: str) -> TechniqueInfo | None:
    """The registration of ``name`` or None (for code that must not raise on old data)."""
    return REGISTRY.get(name)


def view_of(name: str | None) -> str:
    """How the Explorer draws a run of ``name`` (``"paths"`` for an unknown or old one)."""
    info = REGISTRY.get(name) if name else None
    return info.view if info is not None else "paths"


def build(name: str, **knobs: Any) -> Technique:
    """Validate the knobs that apply to ``name`` and build it (other knobs are ignored: a
    RunSpec carries every knob whether or not the technique uses it)."""
    info = get(name)
    stray = sorted(set(knobs) - set(PARAMS))
    if stray:
        raise WorkbenchError(f"Unknown technique knob(s) {stray}; known: {', '.join(PARAMS)}.")
    args = {k: PARAMS[k].check(knobs.get(k, PARAMS[k].default))
            for k in info.params if PARAMS[k].builds}
    return info.factory(**args)


def _param_text(p: Param) -> str:
    default = "model" if p.name == "verifier" else p.default
    return f"{p.name}={default} ({p.range_text()})"


def rows() -> list[dict[str, str]]:
    """One row per technique: name, its knobs with defaults and ranges, description."""
    return [{"technique": i.name,
             "parameters": ", ".join(_param_text(PARAMS[k]) for k in i.params),
             "description": i.description} for i in REGISTRY.values()]


def markdown_table() -> str:
    """The README's technique table, generated (tests/techniques checks the README)."""
    lines = ["| technique | parameters (default, range) | what it does |", "|---|---|---|"]
    for r in rows():
        params, what = (r[k].replace("|", "\\|") for k in ("parameters", "description"))
        lines.append(f"| `{r['technique']}` | {params} | {what} |")
    return "\n".join(lines) + "\n"
