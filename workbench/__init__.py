"""Inference Workbench: how much better a model answers with more compute at query time.

The public API, imported lazily so ``import workbench`` stays fast (litellm alone takes
seconds to import and is only loaded when a real model is first called)::

    import workbench as wb
    spec = wb.RunSpec(task="arithmetic", technique="sc", n=8, budget=256, limit=20)
    result = wb.run_experiment(spec, db="traces.duckdb")     # or: await wb.run_experiment_async(...)
    store = wb.open_store("traces.duckdb"); store.samples()  # polars frames
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workbench.store.store import Store

__version__ = "0.1.0"

_LAZY = {
    "RunSpec": "workbench.runner",
    "RunResult": "workbench.runner",
    "run": "workbench.runner",
    "run_experiment": "workbench.api",
    "run_experiment_async": "workbench.api",
    "run_sweep_async": "workbench.api",
    "resume_run": "workbench.resume",
    "resume_run_async": "workbench.resume",
    "Prompts": "workbench.prompts",
    "WorkbenchError": "workbench.errors",
    "ScriptedBackend": "workbench.backends.scripted",
    "get_task": "workbench.tasks",
    "list_tasks": "workbench.tasks",
    "Store": "workbench.store.store",
    "Recorder": "workbench.store.recorder",
    "replay": "workbench.store.replay",
    "techniques": "workbench.techniques",
    "analysis": "workbench.analysis",
}


def open_store(path: str | None = None, read_only: bool = False) -> Store:
    """Open the DuckDB trace store (default ``$WORKBENCH_DB`` or ./traces.duckdb)."""
    from workbench.store.store import Store

    return Store.open(path, read_only=read_only)


def __getattr__(name: str) -> Any:
    import importlib

    if name not in _LAZY:
        raise AttributeError(f"module 'workbench' has no attribute {name!r}")
    module = importlib.import_module(_LAZY[name])
    return module if module.__name__.endswith(name) else getattr(module, name)


__all__ = [*_LAZY, "open_store", "__version__"]
