"""How ``workbench run`` ends: clock flags, ``--resume``, the failure report, the exit code.

Split from :mod:`workbench.cli.main` so the command module stays a list of commands. The
exit codes are documented in :mod:`workbench.runstatus` (and the README).
"""

from __future__ import annotations

import asyncio
from typing import Any

import typer


def clock_flags(stall_timeout: float | None, deadline: float | None) -> dict[str, float]:
    """The clock flags given, as RetryPolicy fields (checked before anything runs)."""
    from workbench.config import clocks_for

    given = {"stall_timeout_s": stall_timeout, "deadline_s": deadline}
    flags = {k: v for k, v in given.items() if v is not None}
    clocks_for("", flags)  # a bad value (or a bad workbench.toml clock) fails here
    return flags


RESUMABLE_FLAGS = ("db", "quiet", "resume", "stall_timeout", "deadline", "spool")
"""Options that may go with ``--resume``; the others define a run, and it has its own."""


def check_resume_flags(ctx: typer.Context) -> None:
    """``--resume`` takes the stored run's settings: a run-defining option is an error
    rather than silently ignored."""
    given = [f"--{name.replace('_', '-')}" for name in ctx.params
             if name not in RESUMABLE_FLAGS  # by name: typer may bring its own click enum
             and getattr(ctx.get_parameter_source(name), "name", "") == "COMMANDLINE"]
    if given:
        typer.secho(f"error: --resume runs the stored run with its own settings; drop "
                    f"{', '.join(given)} (or start a new run without --resume).",
                    fg="red", err=True)
        raise typer.Exit(2)


def resume_cli(run_id: str, db: str, progress: bool, clocks: dict[str, float]) -> Any:
    """``workbench run --resume``: the missing items of ``run_id``, then its summary."""
    from workbench.resume import resume_run_async
    from workbench.store.store import Store
    from workbench.summary import print_table, summarise

    with Store.open(db) as store:
        result = asyncio.run(resume_run_async(run_id, store=store, progress=progress,
                                              clocks=clocks))
        if not result.n_samples:
            typer.secho(f"run {run_id} has no missing items (status {result.status}); "
                        "nothing to resume.", fg="yellow", err=True)
        print_table(summarise(store, [run_id]), title=f"run {run_id} in {store.path}")
    return result


def finish(results: list[Any]) -> None:
    """Say what failed (first distinct errors with counts) and exit with the code of the
    worst run (see :mod:`workbench.runstatus`)."""
    from workbench import runstatus

    for r in results:
        text = runstatus.describe(r)
        if not text:
            continue
        typer.secho(f"{'warning' if r.status == 'partial' else 'error'}: run {r.run_id} "
                    f"{r.status}: {text.split(': ', 1)[0]}.",
                    fg="yellow" if r.status == "partial" else "red", err=True)
        for line in runstatus.error_lines(r.error_counts):
            typer.secho(f"  {line}", err=True)
        if r.n_not_run:
            typer.secho(f"  fix the cause, then send the {r.n_not_run} item(s) not run: "
                        f"workbench run --resume {r.run_id}", err=True)
        else:
            typer.secho("  errors and partial text are in the samples/paths tables "
                        "(workbench runs; workbench sql).", err=True)
    code = runstatus.worst_exit_code(results)
    if code:
        raise typer.Exit(code)
