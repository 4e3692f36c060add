"""The high-level entry points: run an experiment into a DuckDB file in one call.

Used by the CLI, notebooks and sweeps. Everything the user can get wrong (unknown model,
missing key, bad budget, locked database) is checked before the first model call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from workbench.backends.base import Backend, WorkbenchError
from workbench.models import ModelConfig, resolve
from workbench.runner import RunResult, RunSpec, Sink, check_spec, run
from workbench.techniques import build


def model_names(spec: RunSpec) -> list[str]:
    names = [spec.model]
    verifier = spec.effective_verifier()
    if verifier and verifier not in names:
        names.append(verifier)
    return names


def build_backend(configs: dict[str, ModelConfig],
                  clocks: dict[str, float] | None = None) -> Backend:
    """The litellm backend for these models (the only place a real backend is built).

    ``clocks`` (``stall_timeout_s`` / ``deadline_s``, from the command line) and the
    clocks of ``workbench.toml`` (see :func:`workbench.config.clocks_for`) set each
    model's retry policy."""
    from workbench.backends.litellm_adapter import LiteLLMBackend

    configs = {name: with_clocks(name, c, clocks) for name, c in configs.items()}
    backend = LiteLLMBackend(dict(configs))
    for name in configs:
        backend.check_model(name)  # unknown provider / missing key: fail before any call
    return backend


def with_clocks(name: str, cfg: ModelConfig, clocks: dict[str, float] | None
                ) -> ModelConfig:
    """``cfg`` with the stall clock / deadline the user configured for ``name``."""
    from dataclasses import replace

    from workbench.backends.retry import RetryPolicy
    from workbench.config import clocks_for

    chosen = clocks_for(name, clocks)
    if not chosen:
        return cfg
    policy = replace(cfg.retry or RetryPolicy(), **chosen)  # type: ignore[arg-type]
    return replace(cfg, retry=policy)


def validate(spec: RunSpec) -> None:
    """Every check that needs no model and no database: knobs, technique, task."""
    from workbench.tasks import get_task

    check_spec(spec)
    build(spec.technique, budget=spec.budget, n=spec.n, rounds=spec.rounds, vote=spec.vote)
    get_task(spec.task, **spec.task_options)


def prepare(spec: RunSpec, clocks: dict[str, float] | None = None
            ) -> tuple[Backend, dict[str, float]]:
    """Validate the spec and the models, start the local server if needed."""
    validate(spec)
    configs = {name: resolve(name) for name in model_names(spec)}
    backend = build_backend(configs, clocks)
    return backend, params_of(configs)


def params_of(configs: dict[str, ModelConfig]) -> dict[str, float]:
    return {name: float(c.params_count) for name, c in configs.items() if c.params_count}


def sweep_backend(sweep: Any) -> tuple[Backend, dict[str, float]]:
    """One backend for every model (and verifier) a sweep uses."""
    names = {n for s in sweep.runs for n in model_names(s)}
    configs = {name: resolve(name) for name in sorted(names)}
    return build_backend(configs), params_of(configs)


async def run_experiment_async(spec: RunSpec, *, db: str | Path | None = None,
                               store: Any = None, sinks: Sequence[Sink] = (),
                               progress: bool = False, backend: Backend | None = None,
                               clocks: dict[str, float] | None = None) -> RunResult:
    """Run ``spec`` and record every event into the store (opened from ``db`` if needed)."""
    from workbench.store.recorder import Recorder
    from workbench.store.store import Store

    own_store = store is None
    store = store or Store.open(db)
    try:
        params: dict[str, float] = {}
        if backend is None:
            backend, params = prepare(spec, clocks)
        all_sinks: list[Sink] = [Recorder(store), *sinks]
        if progress:
            from workbench.sinks import ConsoleProgress
            all_sinks.append(ConsoleProgress())
        return await run(spec, backend, all_sinks, params_count=params)
    finally:
        if own_store:
            store.close()


def run_experiment(spec: RunSpec, **kwargs: Any) -> RunResult:
    """Blocking version of :func:`run_experiment_async` (not inside a running event loop)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(run_experiment_async(spec, **kwargs))
    raise WorkbenchError("run_experiment() blocks; inside Jupyter use "
                         "`await run_experiment_async(spec)` instead.")


async def run_sweep_async(path: str | Path, *, db: str | Path | None = None,
                          progress: bool = False) -> Any:
    """Run (or resume) the sweep in ``path`` into ``db``; returns the final plan frame."""
    from workbench.store.store import Store
    from workbench.sweep import load_sweep, run_sweep, sweep_plan

    sweep = load_sweep(path)
    with Store.open(db or sweep.db) as store:
        if sweep_plan(sweep, store)["missing"].sum() > 0:
            backend, params = sweep_backend(sweep)
            sinks: list[Sink] = []
            if progress:
                from workbench.sinks import ConsoleProgress
                sinks.append(ConsoleProgress())
            await run_sweep(sweep, store, backend, sinks, params)
        return sweep_plan(sweep, store)
