"""The ``workbench`` command line."""

import asyncio
import functools
import sys
import time
from dataclasses import replace
from typing import Annotated, Any

import typer

from workbench.backends.base import WorkbenchError
from workbench.config import default_db

app = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="Inference Workbench: inference-time compute experiments.")
local_app = typer.Typer(no_args_is_help=True, help="The embedded local model server.")
app.add_typer(local_app, name="local")

DbOpt = Annotated[str | None, typer.Option("--db", help="DuckDB file (default $WORKBENCH_DB "
                                                       "or ./traces.duckdb)")]


def fail(message: str) -> None:
    typer.secho(f"error: {message}", fg="red", err=True)
    raise typer.Exit(2)


def guarded(fn: Any) -> Any:
    """Turn WorkbenchErrors into a clear message and exit code 2 (no traceback)."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except WorkbenchError as exc:
            fail(str(exc))
        except KeyboardInterrupt:
            typer.secho("interrupted: finished samples are saved.", fg="yellow", err=True)
            raise typer.Exit(130) from None
    return wrapper


@app.command("run")
@guarded
def run_cmd(
    task: Annotated[str, typer.Option(help="arithmetic, gsm8k, math500, humaneval, or a "
                                           ".jsonl/.csv file")] = "arithmetic",
    technique: Annotated[str, typer.Option(help="direct, cot, sc, adaptive-sc, refine, "
                                                "best-of-n, sc-refine")] = "cot",
    model: Annotated[str, typer.Option(help="'local' or any litellm model")] = "local",
    verifier: Annotated[str | None, typer.Option(help="verifier model (default: --model)")
                        ] = None,
    budget: Annotated[int, typer.Option(help="reasoning-token budget per path")] = 256,
    n: Annotated[int, typer.Option(help="samples per item (sc, adaptive-sc, best-of-n)")] = 8,
    rounds: Annotated[int, typer.Option(help="refinement rounds")] = 3,
    vote: Annotated[str, typer.Option(help="majority, logprob or verifier")] = "majority",
    temperature: Annotated[float | None, typer.Option()] = None,
    seed: Annotated[int, typer.Option(help="seed for reproducible sampling")] = 0,
    limit: Annotated[int | None, typer.Option(help="number of items")] = 20,
    offset: Annotated[int, typer.Option(help="first item")] = 0,
    concurrency: Annotated[int | None, typer.Option(help="items in flight")] = None,
    db: DbOpt = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
    spool: Annotated[bool, typer.Option(help="if another process holds --db, record into a "
                                             "spool file merged later (else: error)")
                     ] = True,
) -> None:
    """Run one technique on a task; every trace goes to the DuckDB file."""
    from workbench.runner import RunSpec

    spec = RunSpec(task=task, technique=technique, model=model, verifier=verifier,
                   budget=budget, n=n, rounds=rounds, vote=vote, temperature=temperature,
                   seed=seed, limit=limit, offset=offset, concurrency=concurrency)
    results = run_specs([spec], db or default_db(), progress=not quiet, spool=spool)
    if results[0].n_errors:
        typer.secho(f"{results[0].n_errors} sample(s) failed; their errors and partial text "
                    "are in the samples/paths tables.", fg="yellow", err=True)


def run_specs(specs: list[Any], db: str, progress: bool, spool: bool = True) -> list[Any]:
    """Run specs one after another into ``db`` and print the summary table. If another
    process holds ``db`` (a notebook kernel), the runs go to a spool merged later."""
    from workbench.api import run_experiment_async, validate
    from workbench.store.spool import main_path_of, try_merge
    from workbench.store.store import Store
    from workbench.summary import print_table, summarise

    for spec in specs:
        validate(spec)
    async def go(store: Any) -> list[Any]:
        return [await run_experiment_async(s, store=store, progress=progress) for s in specs]

    with Store.open(db, spool_if_locked=spool) as store:
        spooled = main_path_of(store) is not None
        if spooled:
            typer.secho(f"note: {db} is in use by another process; recording into "
                        f"{store.path} (merged into {db} when that process next opens it "
                        "or calls store.ingest_spools()).", fg="yellow", err=True)
        results = asyncio.run(go(store))
        print_table(summarise(store, [r.run_id for r in results]), title=f"runs in {store.path}")
    if spooled and try_merge(db):
        typer.secho(f"merged the spool into {db} (no other process holds it now).",
                    fg="yellow", err=True)
    return results


@app.command()
@guarded
def demo(db: DbOpt = None,
         limit: Annotated[int, typer.Option(help="arithmetic items")] = 10,
         n: Annotated[int, typer.Option(help="samples for sc / adaptive-sc")] = 8) -> None:
    """The demo experiment: direct, CoT, SC@n and adaptive SC on the embedded model."""
    from workbench.runner import RunSpec

    t0 = time.perf_counter()
    base = RunSpec(task="arithmetic", model="local", limit=limit, seed=0, budget=256, n=n)
    specs = [replace(base, technique=t) for t in ("direct", "cot", "sc", "adaptive-sc")]
    path = db or default_db()
    run_specs(specs, path, progress=True)
    typer.echo(f"demo finished in {time.perf_counter() - t0:.0f} s; traces in {path}. "
               f"Try: workbench sql \"select technique, avg(correct::int) from samples join "
               f"runs using (run_id) group by 1\" --db {path}")


@app.command()
@guarded
def sql(query: Annotated[str, typer.Argument(help="one read-only SQL statement")],
        db: DbOpt = None,
        fmt: Annotated[str, typer.Option("--format", help="table, csv or json")] = "table",
        ) -> None:
    """Run read-only SQL on the trace store (no file access, no extensions, no writes)."""
    from workbench.store.sql import run_readonly_sql
    from workbench.summary import print_table

    df = run_readonly_sql(db or default_db(), query)
    if fmt == "csv":
        sys.stdout.write(df.write_csv())
    elif fmt == "json":
        sys.stdout.write(df.write_json() + "\n")
    else:
        print_table(df)


@app.command()
@guarded
def models() -> None:
    """The embedded default and every model configured in workbench.toml."""
    import polars as pl

    from workbench.models import list_models
    from workbench.summary import print_table

    print_table(pl.DataFrame(list_models()), title="models")


@app.command()
@guarded
def tasks() -> None:
    """Bundled tasks with sizes and licences."""
    import polars as pl

    from workbench.summary import print_table
    from workbench.tasks import list_tasks

    print_table(pl.DataFrame(list_tasks()), title="tasks")


@app.command()
@guarded
def recover(db: DbOpt = None) -> None:
    """Recover a database whose WAL cannot be replayed (moves the WAL aside, reports)."""
    from workbench.store.recover import recover as do_recover

    for key, value in do_recover(db or default_db()).items():
        typer.echo(f"{key}: {value}")


@app.command()
@guarded
def sweep(path: Annotated[str, typer.Argument(help="sweep spec (.toml / .yaml)")],
          db: DbOpt = None,
          plan: Annotated[bool, typer.Option("--plan", help="show what would run")] = False,
          shard: Annotated[str | None, typer.Option(
              "--shard", help="i/n: run only the i-th of n deterministic slices of the items "
                              "(one per machine; combine with `workbench merge`)")] = None,
          batch: Annotated[bool, typer.Option(
              "--batch", help="send requests through the provider's batch API (about half "
                              "price, results within 24 h); re-run to re-attach")] = False,
          ) -> None:
    """Run a sweep (models x techniques x budgets x tasks); re-run to resume."""
    from workbench.store.store import Store
    from workbench.summary import print_table
    from workbench.sweep import load_sweep, run_sweep, sweep_plan
    from workbench.sweep.spec import parse_shard

    spec = load_sweep(path)
    if shard:
        spec = replace(spec, shard=parse_shard(shard))
    target = db or spec.db or default_db()
    with Store.open(target) as store:
        before = sweep_plan(spec, store)
        print_table(before, title=f"sweep {spec.name}: plan")
        if plan or before["missing"].sum() == 0:
            return
        from workbench.api import sweep_backend
        from workbench.sinks import ConsoleProgress

        backend, params = sweep_backend(spec)
        from workbench.api import model_names
        from workbench.backends.batching import batch_settings_from_env, with_batches

        names = {n for r in spec.runs for n in model_names(r)}
        backend = with_batches(backend, store, sorted(names), all_models=batch,
                               settings=batch_settings_from_env())
        if getattr(backend, "item_concurrency", None):  # every run in flight fills a batch
            spec = replace(spec, parallel_runs=max(spec.parallel_runs, len(spec.runs)))
        asyncio.run(run_sweep(spec, store, backend, [ConsoleProgress()], params))
        print_table(sweep_plan(spec, store), title=f"sweep {spec.name}: done")


@app.command()
@guarded
def analyze(db: DbOpt = None,
            out: Annotated[str, typer.Option("--out", help="report folder")] = "report") -> None:
    """Tables and figures (HTML, PNG where possible) from the stored traces."""
    from workbench.analysis.report import write_report
    from workbench.store.store import Store

    with Store.open(db or default_db(), read_only=True) as store:
        report = write_report(store, out)
    for item in report.files:
        typer.echo(str(item))
    if report.png:
        typer.echo(f"PNG: {report.png}")
    for reason in report.skipped:
        typer.echo(f"skipped: {reason}")


@app.command()
@guarded
def export(run_id: Annotated[str, typer.Argument(help="the run to export")],
           db: DbOpt = None,
           html: Annotated[str | None, typer.Option("--html", help="self-contained offline "
                                                            "HTML report of the run")] = None,
           parquet: Annotated[str | None, typer.Option("--parquet", help="folder for one "
                                                               "Parquet file per table")] = None,
           ) -> None:
    """Export a run: an offline HTML report (no CDN) and/or Parquet files of its traces."""
    from workbench.export import export_parquet, export_run_html

    if not html and not parquet:
        fail("say what to write: --html FILE and/or --parquet DIR.")
    source = db or default_db()
    if html:
        typer.echo(str(export_run_html(source, run_id, html)))
    if parquet:
        for table, path in export_parquet(source, parquet, [run_id]).items():
            typer.echo(f"{table}: {path}")


def _register_extra_commands() -> None:
    from workbench.cli.compare import compare_cmd, merge_cmd

    app.command("compare")(guarded(compare_cmd))
    app.command("merge")(guarded(merge_cmd))


_register_extra_commands()


@app.command("export-notebook")
@guarded
def export_notebook(notebook: Annotated[str, typer.Argument(help="an executed .ipynb")],
                    html: Annotated[str, typer.Option("--html", help="output file")]) -> None:
    """A notebook (with its saved widget state) as one offline HTML file."""
    from workbench.export import export_notebook_html

    typer.echo(str(export_notebook_html(notebook, html)))


@local_app.command("status")
@guarded
def local_status() -> None:
    """Is the embedded model server running, where, with which model."""
    from workbench.local.daemon import local_status as status

    for key, value in status().items():
        typer.echo(f"{key}: {value}")


@local_app.command("start")
@guarded
def local_start() -> None:
    """Start the embedded server in the background (shared by CLI runs and notebooks)."""
    from workbench.local.daemon import start_daemon

    for key, value in start_daemon().items():
        typer.echo(f"{key}: {value}")


@local_app.command("stop")
@guarded
def local_stop() -> None:
    """Stop the background server."""
    from workbench.local.daemon import stop_daemon

    typer.echo(stop_daemon())


if __name__ == "__main__":
    app()
