"""The ``workbench`` command line."""

import asyncio
import functools
import sys
import time
from dataclasses import replace
from typing import Annotated, Any

import typer

from workbench.cli.outcome import check_resume_flags, clock_flags, finish, resume_cli
from workbench.config import default_db
from workbench.errors import WorkbenchError
from workbench.runner import RunResult, RunSpec
from workbench.techniques.params import PARAMS
from workbench.techniques.registry import REGISTRY, names

app = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="Inference Workbench: inference-time compute experiments.")
local_app = typer.Typer(no_args_is_help=True, help="The embedded local model server.")
app.add_typer(local_app, name="local")

def _applies_to(knob: str) -> str:
    """Help text naming the registered techniques a knob applies to."""
    return ", ".join(i.name for i in REGISTRY.values() if i.applies(knob))


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
    ctx: typer.Context,
    task: Annotated[str, typer.Option(help="arithmetic, gsm8k, math500, humaneval, or a "
                                           ".jsonl/.csv file")] = "arithmetic",
    technique: Annotated[str, typer.Option(help=", ".join(names()) + " (see `workbench "
                                                "techniques`)")] = "cot",
    model: Annotated[str, typer.Option(help="'local' or any litellm model")] = "local",
    verifier: Annotated[str | None, typer.Option(help="verifier model (default: --model)")
                        ] = None,
    budget: Annotated[int, typer.Option(help="reasoning-token budget per path (beam / dvts: "
                                             "per step)")] = 256,
    n: Annotated[int, typer.Option(help=f"samples per item ({_applies_to('n')})")] = 8,
    rounds: Annotated[int, typer.Option(help=f"refinement rounds ({_applies_to('rounds')})")
                      ] = 3,
    vote: Annotated[str, typer.Option(help=", ".join(PARAMS["vote"].choices))] = "majority",
    width: Annotated[int, typer.Option(help=f"search beams / subtrees ({_applies_to('width')})")
                     ] = 4,
    expansions: Annotated[int, typer.Option(help="search: next steps sampled per beam")] = 4,
    max_steps: Annotated[int, typer.Option(help="search: most steps per chain")] = 8,
    scorer: Annotated[str, typer.Option(help="step scorer: " + ", ".join(
        PARAMS["scorer"].choices) + " (prm: --verifier names the reward model)")] = "judge",
    aggregate: Annotated[str, typer.Option(help="step-score aggregation: " + ", ".join(
        PARAMS["aggregate"].choices))] = "last",
    set_knobs: Annotated[list[str] | None, typer.Option(
        "--set", metavar="KNOB=VALUE", help="any other technique knob, e.g. --set "
        "min_tokens=256 --set rule=esc (`workbench techniques` lists them)")] = None,
    temperature: Annotated[float | None, typer.Option()] = None,
    seed: Annotated[int, typer.Option(help="seed for reproducible sampling")] = 0,
    limit: Annotated[int | None, typer.Option(help="number of items")] = 20,
    offset: Annotated[int, typer.Option(help="first item")] = 0,
    concurrency: Annotated[int | None, typer.Option(help="items in flight")] = None,
    thinking_budget: Annotated[int | None, typer.Option(
        help="a reasoning model's own thinking budget per request (Anthropic budget_tokens, "
             "Gemini thinkingBudget, OpenAI reasoning_effort)")] = None,
    db: DbOpt = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
    spool: Annotated[bool, typer.Option(help="if another process holds --db, record into a "
                                             "spool file merged later (else: error)")
                     ] = True,
    resume: Annotated[str | None, typer.Option(
        "--resume", metavar="RUN_ID", help="run only the missing items of a stored run "
        "(killed, cancelled or stopped); its settings come from --db")] = None,
    stall_timeout: Annotated[float | None, typer.Option(
        "--stall-timeout", help="seconds of silence mid-stream before a path is given up "
        "(default 60; workbench.toml [run] / [models.X] stall_timeout)")] = None,
    deadline: Annotated[float | None, typer.Option(
        "--deadline", help="seconds per generation, retries included (default 600; "
        "workbench.toml deadline)")] = None,
) -> None:
    """Run one technique on a task; every trace goes to the DuckDB file.

    Exit codes: 0 ok, 1 internal error, 2 usage or bad input, 3 some samples failed,
    4 every sample failed, 5 fatal (bad key, no access, unknown model), 130 Ctrl-C."""
    clocks = clock_flags(stall_timeout, deadline)
    if resume is not None:
        check_resume_flags(ctx)
        results = [resume_cli(resume, db or default_db(), not quiet, clocks)]
    else:
        spec = RunSpec(task=task, technique=technique, model=model, verifier=verifier,
                       budget=budget, n=n, rounds=rounds, vote=vote, temperature=temperature,
                       seed=seed, limit=limit, offset=offset, concurrency=concurrency,
                       thinking_budget=thinking_budget, width=width, expansions=expansions,
                       max_steps=max_steps, scorer=scorer,
                       aggregate=aggregate, knobs=parse_knobs(set_knobs or []))
        results = run_specs([spec], db or default_db(), progress=not quiet, spool=spool,
                            clocks=clocks)
    finish(results)


def parse_knobs(items: list[str]) -> dict[str, object]:
    """``["min_tokens=256", "rule=esc"]`` -> typed values by the registry's knob types; a
    typo or a bad value is a usage error naming the knob and what it accepts."""
    from workbench.techniques.params import PARAMS

    out: dict[str, object] = {}
    for item in items:
        key, sep, text = item.partition("=")
        param = PARAMS.get(key.strip())
        if not sep or param is None:
            raise WorkbenchError(f"--set {item!r}: write KNOB=VALUE with one of "
                                 f"{', '.join(PARAMS)}.")
        try:
            value = param.kind(text.strip())
        except ValueError:
            raise WorkbenchError(f"--set {item!r}: {key} takes a {param.kind.__name__} "
                                 f"({param.range_text()}).") from None
        out[param.name] = param.check(value)
    return out


def run_specs(specs: list[RunSpec], db: str, progress: bool, spool: bool = True,
              clocks: dict[str, float] | None = None) -> list[RunResult]:
    """Run specs one after another into ``db`` and print the summary table. If another
    process holds ``db`` (a notebook kernel), the runs go to a spool merged later."""
    from workbench.api import run_experiment_async, validate
    from workbench.store.spool import main_path_of, try_merge
    from workbench.store.store import Store
    from workbench.summary import print_table, summarise

    built = [validate(spec) for spec in specs]  # every spec checked before any run starts

    async def go(store: Store) -> list[RunResult]:
        return [await run_experiment_async(s, store=store, progress=progress, technique=t,
                                           clocks=clocks)
                for s, t in zip(specs, built, strict=True)]

    with Store.open(db, spool_if_locked=spool, on_note=_sql_note) as store:
        spooled = main_path_of(store) is not None
        results = asyncio.run(go(store))
        print_table(summarise(store, [r.run_id for r in results]), title=f"runs in {store.path}")
    if spooled and try_merge(db, Store.open):
        typer.secho(f"merged the spool into {db} (no other process holds it now).",
                    fg="yellow", err=True)
    return results


@app.command()
@guarded
def demo(db: DbOpt = None,
         limit: Annotated[int, typer.Option(help="arithmetic items")] = 10,
         n: Annotated[int, typer.Option(help="samples for sc / adaptive-sc")] = 8) -> None:
    """The demo experiment: direct, CoT, SC@n and adaptive SC on the embedded model."""
    t0 = time.perf_counter()
    base = RunSpec(task="arithmetic", model="local", limit=limit, seed=0, budget=256, n=n)
    specs = [replace(base, technique=t) for t in ("direct", "cot", "sc", "adaptive-sc")]
    path = db or default_db()
    results = run_specs(specs, path, progress=True)
    typer.echo(f"demo finished in {time.perf_counter() - t0:.0f} s; traces in {path}.")
    typer.echo(next_steps(path))
    finish(results)


def next_steps(db: str) -> str:
    """The three things to try after the demo, each a command to paste (why: the demo's end
    is where a new user decides what to do next; the commands use the demo's own file)."""
    on = "" if db == "traces.duckdb" else f" --db {db}"
    from workbench.store.queries import ACCURACY_SQL as sql
    return "\n".join([
        "Next, try:",
        "  1. the Explorer on the same file (notebooks/01_quickstart.ipynb; N <= 8 is instant):",
        "       make lab",
        "  2. an HTML report with the figures as PNG/SVG beside it:",
        f"       workbench analyze{on} --out report/",
        "  3. your own questions of the traces, in SQL:",
        f'       workbench sql "{sql}"{on}',
    ])


@app.command()
@guarded
def sql(query: Annotated[str, typer.Argument(help="one read-only SQL statement")],
        db: DbOpt = None,
        fmt: Annotated[str, typer.Option("--format", help="table, csv, json or parquet "
                                                          "(csv/json/parquet stream every row)")
                       ] = "table",
        out: Annotated[str | None, typer.Option("--out", "-o", help="write csv/json/parquet "
                                                                    "to this file")] = None,
        timeout: Annotated[float, typer.Option(help="interrupt the query after this many "
                                                    "seconds (0: no limit; Ctrl-C always "
                                                    "stops it)")] = 0,
        max_rows: Annotated[int, typer.Option(help="rows shown by --format table")] = 50,
        ) -> None:
    """Run read-only SQL on the trace store (no file access, no extensions, no writes).

    Exit codes: 0 done, 2 bad query or file, 124 time limit reached, 130 Ctrl-C."""
    from workbench.cli.sql_output import writer_for
    from workbench.store.sql import stream_readonly_sql
    from workbench.store.sqlguard import SqlInterrupted, SqlTimeout

    consume = writer_for(fmt, out, max_rows)
    try:
        note = stream_readonly_sql(db or default_db(), query, consume, timeout=timeout,
                                   on_note=_sql_note)
    except SqlTimeout as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        raise typer.Exit(124) from None
    except SqlInterrupted as exc:
        typer.secho(str(exc), fg="yellow", err=True)
        raise typer.Exit(130) from None
    except OSError as exc:
        if not _broken_pipe(exc):
            fail(f"writing the result failed: {exc}")
        _silence_stdout()  # `workbench sql ... | head`: the reader stopped listening
        raise typer.Exit(141) from None
    if note:
        typer.secho(f"note: {note}", fg="yellow", err=True)


def _sql_note(message: str) -> None:
    """A note for the user on stderr (spooled runs, capped tables), printed once."""
    typer.secho(f"note: {message}", fg="yellow", err=True)


def _broken_pipe(exc: OSError) -> bool:
    import errno

    return exc.errno == errno.EPIPE or "Broken pipe" in str(exc)


def _silence_stdout() -> None:
    """After a broken pipe, point stdout at /dev/null so exit does not fail flushing it."""
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


@app.command("runs")
@guarded
def runs_cmd(db: DbOpt = None,
             last: Annotated[int | None, typer.Option(help="only the N latest runs")] = None,
             fmt: Annotated[str, typer.Option("--format", help="table, csv or json")
                            ] = "table") -> None:
    """Stored runs with status, items done / failed and accuracy (oldest first).

    Opening the file as a writer first marks runs whose process died as interrupted;
    resume one with `workbench run --resume RUN_ID`."""
    from pathlib import Path

    from workbench.runstatus import runs_table
    from workbench.store.errors import is_lock_error
    from workbench.store.store import Store
    from workbench.summary import print_table

    if fmt not in ("table", "csv", "json"):
        fail(f"--format must be table, csv or json (got {fmt!r}).")
    path = db or default_db()
    try:
        store = Store.open(path, read_only=not Path(path).exists())
    except WorkbenchError as exc:  # a sweep is writing it: read the writer's snapshot
        if not is_lock_error(exc):
            raise
        store = Store.open(path, read_only=True, on_note=_sql_note)
    with store:
        df = runs_table(store, last)
    if fmt == "csv":
        sys.stdout.write(df.write_csv())
    elif fmt == "json":
        sys.stdout.write(df.write_json() + "\n")
    else:
        print_table(df.with_columns(df["error"].str.slice(0, 70)), title=f"runs in {path}")


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
def techniques() -> None:
    """Registered techniques: their parameters (default, range) and what they do."""
    import polars as pl

    from workbench.summary import print_table
    from workbench.techniques.registry import rows

    print_table(pl.DataFrame(rows()), title="techniques")


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
    """Run a sweep (models x techniques x budgets x tasks); re-run to resume.

    Exit codes as for ``workbench run``, from the worst run that ran (0 when nothing was
    missing): 3 some samples failed, 4 a run's every sample failed, 5 fatal."""
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
        results = asyncio.run(run_sweep(spec, store, backend, [ConsoleProgress()], params))
        print_table(sweep_plan(spec, store), title=f"sweep {spec.name}: done")
    finish(results)  # the worst run that ran decides the exit code, as for `workbench run`


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


def _print_frame(df: Any, fmt: str, title: str) -> None:
    """A frame as a rich table, CSV or JSON on stdout (the audit/override/regrade output)."""
    from workbench.summary import print_table

    if fmt == "csv":
        sys.stdout.write(df.write_csv())
    elif fmt == "json":
        sys.stdout.write(df.write_json() + "\n")
    elif fmt == "table":
        print_table(df, title=title)
    else:
        fail(f"--format must be table, csv or json (got {fmt!r}).")


@app.command()
@guarded
def audit(run_id: Annotated[str, typer.Argument(help="the run to audit")],
          db: DbOpt = None,
          context: Annotated[int, typer.Option(help="characters shown around the answer")] = 80,
          show_all: Annotated[bool, typer.Option("--all", help="list every graded path")
                              ] = False,
          fmt: Annotated[str, typer.Option("--format", help="table, csv or json")] = "table",
          ) -> None:
    """Paths whose grade deserves a look: fallback rule, extractors disagree, grade changed."""
    from workbench.review.audit import audit as run_audit
    from workbench.store.store import Store

    if context < 0:
        fail(f"--context must be >= 0 (got {context}).")
    with Store.open(db or default_db(), read_only=True) as store:
        frame = run_audit(store, run_id, context=context, include_all=show_all)
    cols = ["sample_id", "path_id", "gold", "answer", "rule", "second_answer", "correct",
            "grade_source", "reasons", "context"]
    _print_frame(frame if fmt != "table" else frame.select(cols), fmt,
                 f"audit of {run_id}: {frame.height} path(s) to review")


@app.command()
@guarded
def override(run_id: Annotated[str, typer.Argument(help="the run")],
             item: Annotated[str, typer.Argument(help="path id, sample id or item id")],
             correct: Annotated[bool | None, typer.Option("--correct/--wrong",
                                                          help="the verdict")] = None,
             why: Annotated[str, typer.Option(help="the reason (required)")] = "",
             who: Annotated[str | None, typer.Option(help="who decides (default: login)")
                            ] = None,
             db: DbOpt = None) -> None:
    """Override a grade (append-only); every analysis uses the latest override."""
    from workbench.store.grades import add_override
    from workbench.store.store import Store

    if correct is None:
        fail("say the verdict: --correct or --wrong.")
    with Store.open(db or default_db()) as store:
        row = add_override(store, run_id, item, bool(correct), why, who)
    typer.echo(f"override {row['override_id']}: {row['sample_id']} answer {row['answer']!r}: "
               f"{row['old_correct']} -> {row['new_correct']} by {row['who']} "
               f"({row['n_paths']} path(s), {row['n_samples']} sample(s) covered)")


@app.command()
@guarded
def regrade(run_id: Annotated[str, typer.Argument(help="the run to re-grade")],
            db: DbOpt = None) -> None:
    """Re-grade stored paths with the current grader (no model call; old grades kept)."""
    from workbench.review.regrade import regrade_run
    from workbench.store.store import Store

    with Store.open(db or default_db()) as store:
        report = regrade_run(store, run_id)
    for key, value in report.as_dict().items():
        typer.echo(f"{key}: {value}")


@local_app.command("status")
@guarded
def local_status() -> None:
    """Is the embedded model server running, where, with which model."""
    from workbench.local.daemon import local_status as status

    for key, value in status().items():
        typer.echo(f"{key}: {value}")


@local_app.command("weights")
@guarded
def local_weights() -> None:
    """Assemble and verify the embedded model's weights now (set-up runs this once)."""
    from workbench.local.weights import ensure_weights

    typer.echo(str(ensure_weights()))


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
