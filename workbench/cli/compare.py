"""``workbench compare RUN_A RUN_B``: two runs side by side on their shared items."""

from __future__ import annotations

from typing import Annotated

import polars as pl
import typer

from workbench.config import default_db


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _headline(summary: pl.DataFrame) -> str:
    s = summary.row(0, named=True)
    return (f"{s['n_items']} paired items: A {_pct(s['accuracy_a'])}, B {_pct(s['accuracy_b'])}; "
            f"B - A = {100 * s['delta_b_minus_a']:+.1f} points "
            f"[{100 * s['ci_low']:+.1f}, {100 * s['ci_high']:+.1f}] "
            f"({100 * s['confidence']:.0f}% Newcombe paired interval); "
            f"exact McNemar p = {s['mcnemar_p']:.3g} on {s['discordant']} discordant items")


def _drill_down(store: object, comparison: object, limit: int) -> None:
    from workbench.analysis.compare import diff_text, paired_paths

    rows = comparison.disagreements().head(limit)  # type: ignore[attr-defined]
    for row in rows.iter_rows(named=True):
        typer.secho(f"\nitem {row['item_index_a']} ({row['item_id']}): {row['outcome']}; "
                    f"A answered {row['answer_a']!r}, B answered {row['answer_b']!r}", bold=True)
        paths = paired_paths(store, comparison, row["item_id"])  # type: ignore[arg-type]
        texts = [p["text"][0] if p.height else "" for p in (paths["A"], paths["B"])]
        for line in diff_text(texts[0], texts[1]):
            typer.echo("  " + line)


def compare_cmd(
    run_a: Annotated[str, typer.Argument(help="first run id (A)")],
    run_b: Annotated[str, typer.Argument(help="second run id (B)")],
    db: Annotated[str | None, typer.Option("--db", help="DuckDB file (default $WORKBENCH_DB "
                                                        "or ./traces.duckdb)")] = None,
    items: Annotated[bool, typer.Option("--items", help="list the items where the runs "
                                                        "disagree, with a diff of their paths")
                     ] = False,
    limit: Annotated[int, typer.Option(help="how many disagreeing items to show")] = 10,
    errors: Annotated[str, typer.Option(help="errored samples count as 'wrong' or are "
                                             "'drop'ped from the pairing")] = "wrong",
) -> None:
    """Compare two runs item by item: outcome table, paired difference, McNemar, deltas."""
    from workbench.analysis.compare import compare_store
    from workbench.store.store import Store
    from workbench.summary import print_table

    with Store.open(db or default_db(), read_only=True) as store:
        comparison = compare_store(store, run_a, run_b, errors=errors)
        typer.echo(f"A = {run_a}   B = {run_b}")
        print_table(comparison.table, title="per-item outcomes")
        print_table(comparison.deltas, title="cost per item, B - A (95% bootstrap interval)")
        typer.echo(_headline(comparison.summary))
        unpaired = comparison.unpaired
        if any(unpaired.values()):
            typer.echo(f"not compared: {unpaired['only_in_a']} item(s) only in A, "
                       f"{unpaired['only_in_b']} only in B")
        if items:
            _drill_down(store, comparison, limit)


def merge_cmd(
    sources: Annotated[list[str], typer.Argument(help="trace files to merge (e.g. shards)")],
    into: Annotated[str, typer.Option("--into", help="the merged trace file (created if "
                                                     "missing)")],
) -> None:
    """Merge trace files into one, idempotently; conflicting duplicates are reported."""
    from workbench.store.merge import merge_files

    report = merge_files(sources, into)
    for source, tables in report.sources.items():
        added = ", ".join(f"{t.table} +{t.added}" for t in tables if t.added) or "nothing new"
        typer.echo(f"{source}: {added}")
        for t in tables:
            if t.conflicts:
                keys = "; ".join(str(k) for k in t.conflict_keys[:5])
                typer.secho(f"  conflict: {t.conflicts} row(s) of {t.table} differ from the "
                            f"target's rows with the same key (kept the target's): {keys}",
                            fg="yellow", err=True)
    typer.echo(f"merged into {report.into}: {report.added} row(s) added, "
               f"{report.conflicts} conflict(s)")
    if report.conflicts:
        raise typer.Exit(1)
