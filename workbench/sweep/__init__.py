"""Sweeps: models x techniques x budgets x tasks x seeds, resumable."""

from workbench.sweep.run import run_sweep, sweep_plan
from workbench.sweep.spec import SweepSpec, load_sweep

__all__ = ["SweepSpec", "load_sweep", "run_sweep", "sweep_plan"]
