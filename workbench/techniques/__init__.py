"""Techniques: factories that compose, each registered by name in :mod:`.registry`.

``build(name, **knobs)`` builds a registered technique; ``REGISTRY`` is the only list of
technique names (the CLI, the Explorer, validation and the README read it).
"""

from __future__ import annotations

from workbench.techniques import composed as _composed  # noqa: F401  (registers sc-refine)
from workbench.techniques import sc_stop as _sc_stop  # noqa: F401  (registers sc-stop)
from workbench.techniques.base import Outcome, Technique
from workbench.techniques.beam import DVTS, BeamSearch, beam, dvts
from workbench.techniques.best_of_n import BestOfN, best_of_n
from workbench.techniques.best_of_n_prm import BestOfNPRM, best_of_n_prm
from workbench.techniques.cot import CoT, Direct, check_budget, cot, direct
from workbench.techniques.deepconf import DeepConf
from workbench.techniques.params import PARAMS, Param
from workbench.techniques.refine import Refine, refine
from workbench.techniques.registry import REGISTRY, TechniqueInfo, build, find, get, names
from workbench.techniques.self_consistency import (
    AdaptiveSC,
    SelfConsistency,
    adaptive_sc,
    self_consistency,
)
from workbench.techniques.think_longer import ThinkLonger, think_longer

__all__ = [
    "DVTS", "PARAMS", "REGISTRY", "AdaptiveSC", "BeamSearch", "BestOfN", "BestOfNPRM", "CoT",
    "DeepConf", "Direct", "Outcome", "Param", "Refine", "SelfConsistency", "Technique",
    "TechniqueInfo", "ThinkLonger", "adaptive_sc", "beam", "best_of_n", "best_of_n_prm",
    "build", "check_budget", "cot", "direct", "dvts", "find", "get", "names", "refine",
    "self_consistency", "think_longer",
]
