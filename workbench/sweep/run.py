"""Run a sweep: every RunSpec of the grid, concurrently within limits, resumable.

Resume works at item granularity: the recorder commits each finished sample, so after a
crash or Ctrl-C a re-run looks up which items each run already has and runs only the rest
under the same run id. Nothing is duplicated and nothing is skipped.
"""

from __future__ import annotations

import asyncio
import functools
from dataclasses import replace
from typing import TYPE_CHECKING

import polars as pl

from workbench.backends.base import Backend
from workbench.runner import RunResult, RunSpec, Sink, run
from workbench.sweep.spec import SweepSpec, run_id_for, shard_items

if TYPE_CHECKING:
    from workbench.store.store import Store


def _wanted_items(spec: RunSpec, shard: tuple[int, int] | None = None) -> list[int]:
    from workbench.tasks import get_task

    if spec.items is not None:
        return shard_items(list(spec.items), shard)
    task = get_task(spec.task, **spec.task_options)
    return shard_items([p.index for p in task.load(spec.limit, spec.offset)], shard)


def sweep_plan(sweep: SweepSpec, store: Store) -> pl.DataFrame:
    """One row per run of the sweep: how many items it wants, has, and is missing."""
    rows = []
    for spec in sweep.runs:
        rid = run_id_for(spec)
        wanted = _wanted_items(spec, sweep.shard)
        done = store.done_items(rid) & set(wanted)
        rows.append({"run_id": rid, "model": spec.model, "task": spec.task,
                     "technique": spec.technique, "budget_tokens": spec.budget,
                     "n": spec.samples_per_item(), "rounds": spec.rounds, "seed": spec.seed,
                     "items": len(wanted), "done": len(done),
                     "missing": len(wanted) - len(done)})
    return pl.DataFrame(rows)


async def run_sweep(sweep: SweepSpec, store: Store, backend: Backend,
                    sinks: list[Sink] | None = None,
                    params_count: dict[str, float] | None = None,
                    reuse_paths: bool = True) -> list[RunResult]:
    """Run what is missing of every run in the sweep; returns results of runs that ran.

    With ``reuse_paths`` a request whose sample is already stored (same prompt, sampling
    parameters, seed and sample index, from any run) is answered from the store.
    """
    from workbench.backends.cache import CachingBackend, lookup_from
    from workbench.store.cache import stored_paths
    from workbench.store.recorder import Recorder

    if reuse_paths:
        backend = CachingBackend(backend, lookup_from(functools.partial(stored_paths, store)))
    recorder = Recorder(store)
    limit = asyncio.Semaphore(max(1, sweep.parallel_runs))
    results: list[RunResult] = []

    async def one(spec: RunSpec) -> None:
        rid = run_id_for(spec)
        wanted = _wanted_items(spec, sweep.shard)
        missing = [i for i in wanted if i not in store.done_items(rid)]
        if not missing:
            return
        resumed = store.run_exists(rid)
        todo = replace(spec, items=tuple(missing)) if resumed else spec
        only = set(missing) if sweep.shard and not resumed else None
        async with limit:
            results.append(await run(todo, backend, [recorder, *(sinks or [])],
                                     run_id=rid, resumed=resumed, only=only,
                                     params_count=params_count,
                                     prior=store.sample_counts(rid) if resumed else (0, 0)))

    async with asyncio.TaskGroup() as group:
        for spec in sweep.runs:
            group.create_task(one(spec))
    return results
