"""Resume a stored run: run only the items it has no sample for, under the same run id.

Why: a run killed mid-way (kill -9, a crashed kernel, a closed laptop), cancelled, or
stopped by a fatal error (a bad key) has every finished sample committed. Re-running it
from scratch would pay for those samples again and leave two runs to reconcile. Like a
sweep's resume (:mod:`workbench.sweep.run`), this rebuilds the run's spec from what the
file recorded (``runs.params``), works out the missing items and runs just those; the
recorder skips anything already stored, so nothing is duplicated.

Samples that were recorded *with* an error stay as recorded (the tables are append-only);
resume fills in what is missing. A run still in progress in a live process is refused.
"""

from __future__ import annotations

import json
from dataclasses import fields, replace
from typing import Any

from workbench.errors import WorkbenchError
from workbench.runner import RunResult, RunSpec

_SPEC_FIELDS = {f.name for f in fields(RunSpec)}


def spec_of(run: dict[str, Any]) -> RunSpec:
    """The :class:`RunSpec` a stored run was started with (from ``runs.params``)."""
    try:
        params = json.loads(run["params"] or "{}")
    except (TypeError, ValueError):
        params = None
    if not isinstance(params, dict) or "task" not in params:
        raise WorkbenchError(f"run {run['run_id']!r} has no usable spec in runs.params, so it "
                             "cannot be resumed; start a new run instead.")
    known = {k: v for k, v in params.items() if k in _SPEC_FIELDS}
    known.update(technique=run["technique"], model=run["model"])
    if known.get("items") is not None:
        known["items"] = tuple(known["items"])
    return RunSpec(**known)


def plan(store: Any, run_id: str, task: Any = None
         ) -> tuple[RunSpec, list[int], tuple[int, int]]:
    """(spec, missing item indices, (samples stored, failed among them)) for ``run_id``.

    ``task``: the task object, if the caller holds one by the stored name (the Explorer)."""
    from workbench.runner import select_problems
    from workbench.store.liveness import alive
    from workbench.tasks import get_task

    runs = store.runs(run_id)
    if runs.height == 0:
        raise WorkbenchError(f"No run {run_id!r} in {store.path}; list the runs with "
                             f"`workbench runs --db {store.path}`.")
    run = runs.row(0, named=True)
    if run["status"] == "running":
        owner = _owner(store, run_id)
        if alive(owner) is not False:
            raise WorkbenchError(
                f"run {run_id!r} is still running ({owner.describe()}); wait for it "
                "or stop it, then resume.")
    spec = spec_of(run)
    if task is None or str(task.name) != spec.task:
        task = get_task(spec.task, **spec.task_options)
    wanted = select_problems(task, spec)
    done = store.item_states(run_id)
    ids = {p.index: p.id for p in wanted}
    changed = [i for i, item in zip(done["item_index"], done["item_id"], strict=True)
               if i in ids and _stored_id(ids[i]) != item]
    if changed:
        raise WorkbenchError(
            f"the task {spec.task!r} changed since run {run_id!r} was recorded (item(s) "
            f"{changed[:5]} now have other ids), so its missing items cannot be matched; "
            "start a new run instead.")
    have = set(done["item_index"].to_list())
    missing = [p.index for p in wanted if p.index not in have]
    return spec, missing, (done.height, int(done["failed"].sum() or 0))


def _close_complete(store: Any, run_id: str, prior: tuple[int, int]) -> RunResult:
    """Every item is stored: give a run without a final status (killed after its last
    sample) the one its samples imply; return the run's status."""
    from workbench import runstatus
    from workbench.events import RunFinished
    from workbench.store.recorder import record_all

    status = store.runs(run_id)["status"][0]
    if status not in (runstatus.OK, runstatus.PARTIAL, runstatus.FAILED):
        status = runstatus.final_status(prior[0], prior[1], fatal=False)
        error = f"{prior[1]} of {prior[0]} sample(s) failed" if prior[1] else None
        record_all(store, [RunFinished(run_id=run_id, status=status, error=error)])
    return RunResult(run_id=run_id, status=status)


def _owner(store: Any, run_id: str) -> Any:
    from workbench.store.liveness import Owner

    return Owner(*store.run_owner(run_id))


def _stored_id(item_id: str) -> str:
    from workbench.store.textcodec import encode_text

    return encode_text(item_id)


async def resume_run_async(run_id: str, *, db: Any = None, store: Any = None,
                           sinks: Any = (), progress: bool = False, backend: Any = None,
                           clocks: dict[str, float] | None = None, task: Any = None,
                           recorder: Any = None) -> RunResult:
    """Run the missing items of stored run ``run_id``; see the module docstring.

    Returns the result of the items run now. With nothing missing, ``n_samples == 0``;
    a run that never recorded its end (killed after its last sample) gets its final
    status now. ``recorder``: one already recording into ``store`` (the Explorer's)."""
    from workbench.api import prepare
    from workbench.runner import run
    from workbench.store.recorder import Recorder
    from workbench.store.store import Store

    own = store is None
    store = store or Store.open(db)
    try:
        spec, missing, prior = plan(store, run_id, task)
        if not missing:
            return _close_complete(store, run_id, prior)
        if task is None or str(task.name) != spec.task:
            task = None
        todo = replace(spec, items=tuple(missing))
        params: dict[str, float] = {}
        if backend is None:  # may start the local server: keep the event loop free
            import asyncio

            backend, params = await asyncio.to_thread(prepare, todo, clocks)
        all_sinks: list[Any] = [recorder or Recorder(store), *sinks]
        if progress:
            from workbench.sinks import ConsoleProgress
            all_sinks.append(ConsoleProgress())
        return await run(todo, backend, all_sinks, params_count=params, run_id=run_id,
                         resumed=True, prior=prior, task=task)
    finally:
        if own:
            store.close()


def resume_run(run_id: str, **kwargs: Any) -> RunResult:
    """Blocking :func:`resume_run_async` (not inside a running event loop: in Jupyter use
    ``await wb.resume_run_async(...)`` or ``Explorer.resume(run_id)``)."""
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(resume_run_async(run_id, **kwargs))
    raise WorkbenchError("resume_run() blocks; inside Jupyter use "
                         "`await wb.resume_run_async(run_id, db=...)` instead.")
