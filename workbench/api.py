"""The high-level entry points: run an experiment into a DuckDB file in one call.

Used by the CLI, notebooks and sweeps. Everything the user can get wrong (unknown model,
missing key, bad budget, locked database) is checked before the first model call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.backends.base import Backend
from workbench.errors import WorkbenchError
from workbench.models import ModelConfig, resolve
from workbench.runner import RunResult, RunSpec, Sink, build_technique, check_spec, run
from workbench.techniques import Technique

if TYPE_CHECKING:
    import polars as pl

    from workbench.store.store import Store
    from workbench.sweep.spec import SweepSpec


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
    reward = {name: c for name, c in configs.items() if c.reward_api}
    chat = {name: c for name, c in configs.items() if not c.reward_api}
    backend = LiteLLMBackend(chat)
    for name in chat:
        backend.check_model(name)  # unknown provider / missing key: fail before any call
    if not reward:
        return backend
    from workbench.backends.reward import RewardClient, WithReward

    return WithReward(backend, RewardClient(reward))  # reward models answer ctx.score


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


def validate(spec: RunSpec) -> Technique:
    """Every check that needs no model and no database: knobs, technique, task. Returns
    the built technique so the run uses this one (a technique is built once per run)."""
    from workbench.tasks import get_task

    check_spec(spec)
    technique = build_technique(spec)
    get_task(spec.task, **spec.task_options)
    return technique


def models_backend(spec: RunSpec, clocks: dict[str, float] | None = None
                   ) -> tuple[Backend, dict[str, float]]:
    """The backend for the spec's model (and verifier), checked; starts the local server
    if needed. Builds no technique (see :func:`validate`)."""
    configs = {name: resolve(name) for name in model_names(spec)}
    backend = build_backend(configs, clocks)
    return backend, params_of(configs)


def prepare(spec: RunSpec, clocks: dict[str, float] | None = None
            ) -> tuple[Backend, dict[str, float]]:
    """Validate the spec and the models, start the local server if needed."""
    validate(spec)
    return models_backend(spec, clocks)


def params_of(configs: dict[str, ModelConfig]) -> dict[str, float]:
    return {name: float(c.params_count) for name, c in configs.items() if c.params_count}


def sweep_backend(sweep: SweepSpec) -> tuple[Backend, dict[str, float]]:
    """One backend for every model (and verifier) a sweep uses."""
    names = {n for s in sweep.runs for n in model_names(s)}
    configs = {name: resolve(name) for name in sorted(names)}
    return build_backend(configs), params_of(configs)


async def run_experiment_async(spec: RunSpec, *, db: str | Path | None = None,
                               store: Store | None = None, sinks: Sequence[Sink] = (),
                               progress: bool = False, backend: Backend | None = None,
                               technique: Technique | None = None,
                               clocks: dict[str, float] | None = None) -> RunResult:
    """Run ``spec`` and record every event into the store (opened from ``db`` if needed).

    ``technique`` is the one :func:`validate` built (built here when not given)."""
    from workbench.store.recorder import Recorder
    from workbench.store.store import Store

    own_store = store is None
    store = store or Store.open(db)
    try:
        params: dict[str, float] = {}
        technique = technique or validate(spec)
        if backend is None:
            backend, params = models_backend(spec, clocks)
        all_sinks: list[Sink] = [Recorder(store), *sinks]
        if progress:
            from workbench.sinks import ConsoleProgress
            all_sinks.append(ConsoleProgress())
        return await run(spec, backend, all_sinks, params_count=params, technique=technique)
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
                          progress: bool = False) -> pl.DataFrame:
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
