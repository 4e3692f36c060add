"""Spending a compute budget: difficulty without the answer key, stopping rules, a
budget planner, per-difficulty technique choice, and their honest offline evaluation.

Pure functions over polars frames and numpy arrays (no store, no backend): the frames come
from :func:`workbench.store.pools.sample_pools` and ``Store.samples()``, so the same code
scores a policy on a stored file, on frames a test builds by hand, and live (the
``sc-stop`` technique asks :mod:`.stopping` through ``ctx``).

Names are imported lazily: ``workbench.techniques`` imports :mod:`.stopping` at start-up,
and must not pull in plotly or the analysis package with it.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "make_rule": "stopping", "stop_point": "stopping", "beta_confidence": "stopping",
    "dirichlet_confidence": "stopping", "sprt_llr": "stopping", "window_agrees": "stopping",
    "ItemPool": "pools", "pools_from_frame": "pools", "draw_order": "pools",
    "item_difficulty": "difficulty", "difficulty_report": "difficulty", "auroc": "difficulty",
    "spearman": "difficulty",
    "replay_uniform": "replay", "replay_rule": "replay", "calibrate_threshold": "replay",
    "BudgetPlanner": "planner", "allocate_offline": "planner", "sample_gain": "planner",
    "fit_binned_choice": "binned", "apply_binned_choice": "binned",
    "item_outcomes": "binned",
    "evaluate_policies": "evaluate", "split_items": "evaluate", "fold_of": "evaluate",
    "tokens_to_reach": "evaluate", "accuracy_at_tokens": "evaluate",
    "fig_allocation": "figures",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'workbench.allocation' has no attribute {name!r}")
    return getattr(import_module(f"workbench.allocation.{module}"), name)
