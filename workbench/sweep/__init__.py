"""Sweeps: models x techniques x budgets x tasks x seeds, resumable."""

from workbench.sweep.spec import SweepSpec, load_sweep
from workbench.sweep.run import run_sweep, sweep_plan

__all__ = ["SweepSpec", "load_sweep", "run_sweep", "sweep_plan"]
