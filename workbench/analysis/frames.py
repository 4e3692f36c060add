"""Loading stored traces into polars frames, and the per-item answer tallies analysis needs.

The analysis functions are pure (frames in, frames out) so that they run the same on a
live store, a copied file, or frames built by hand in a test. :func:`from_store` is the
one place that talks to a store, and only through ``.query(sql) -> pl.DataFrame`` (the
workbench store) or ``.execute(sql).pl()`` (a raw DuckDB connection): no DuckDB import.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from workbench.analysis.answer_keys import VOTE, fill_answer_keys, with_vote_key
from workbench.errors import WorkbenchError
from workbench.store.reads import (  # noqa: F401  (re-exported: analysis reads these)
    KEY_COLUMNS,
    PATH_COLUMNS,
    SAMPLE_COLUMNS,
    analysis_tables,
)


def _empty() -> pl.DataFrame:
    return pl.DataFrame()


@dataclass(frozen=True)
class Frames:
    """The stored tables as polars frames; any may be empty when a store lacks them."""

    runs: pl.DataFrame = field(default_factory=_empty)
    samples: pl.DataFrame = field(default_factory=_empty)
    paths: pl.DataFrame = field(default_factory=_empty)
    votes: pl.DataFrame = field(default_factory=_empty)
    rounds: pl.DataFrame = field(default_factory=_empty)
    run_status: pl.DataFrame = field(default_factory=_empty)


def _query(store: Any, sql: str) -> pl.DataFrame:
    if hasattr(store, "query"):
        out = store.query(sql)
    elif hasattr(store, "execute"):
        out = store.execute(sql)
    else:
        raise WorkbenchError(f"Cannot read from {type(store).__name__}: pass the workbench "
                             "store, a DuckDB connection, or a Frames of polars frames.")
    if not isinstance(out, pl.DataFrame) and hasattr(out, "pl"):
        out = out.pl()  # a DuckDB relation
    elif not isinstance(out, pl.DataFrame) and hasattr(out, "to_arrow_table"):
        out = pl.DataFrame(pl.from_arrow(out.to_arrow_table()))  # a DuckDB cursor
    if not isinstance(out, pl.DataFrame):
        raise WorkbenchError(f"{type(store).__name__}.query returned {type(out).__name__}; "
                             "analysis needs a polars DataFrame.")
    return out


def from_store(store: Any, run_ids: Iterable[str] | None = None) -> Frames:
    """Read runs, samples, paths (without prompt/text), votes, rounds and run status.

    ``store`` has ``.query(sql) -> pl.DataFrame`` or is a DuckDB connection. ``run_ids``
    restricts every table to those runs. Grades (``answer``, ``correct``) are the
    effective ones: the latest re-grade, then the latest human override, through the
    store's graded views (:mod:`workbench.store.grades`); ``grade_source`` says which.
    """
    tables = analysis_tables(lambda sql: _query(store, sql), run_ids)
    return Frames(**{**tables, "paths": fill_answer_keys(tables["paths"], tables["runs"])})


def as_frames(source: Any) -> Frames:
    """Accept :class:`Frames`, a mapping of table name to frame, or a store."""
    if isinstance(source, Frames):
        return source
    if isinstance(source, Mapping):
        return Frames(**{k: v for k, v in source.items() if k in Frames.__dataclass_fields__})
    return from_store(source)


def require(frame: pl.DataFrame, columns: Iterable[str], what: str) -> None:
    """Raise a user-facing error naming the missing columns instead of a polars trace."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise WorkbenchError(f"{what} needs columns {missing}; it has {frame.columns}. "
                             "Load frames with workbench.analysis.from_store(store).")


def reasoning_paths(paths: pl.DataFrame) -> pl.DataFrame:
    """The N sampled reasoning paths per item (role 'path' where a role column exists)."""
    require(paths, ("run_id", "sample_id", "answer"), "reasoning_paths")
    out = paths.filter(pl.col("role") == "path") if "role" in paths.columns else paths
    order = [c for c in ("run_id", "sample_id", "idx") if c in out.columns]
    return out.sort(order)


def with_correct(paths: pl.DataFrame, gold: pl.DataFrame | None) -> pl.DataFrame:
    """Per-path correctness: the stored flag, else ``answer == gold`` where gold is given."""
    if "correct" not in paths.columns:
        paths = paths.with_columns(pl.lit(None, dtype=pl.Boolean).alias("correct"))
    if gold is None:
        return paths.with_columns(pl.col("correct").fill_null(False))
    require(gold, ("sample_id", "gold"), "gold")
    keys = [c for c in ("run_id", "sample_id") if c in gold.columns]
    g = gold.select([*keys, pl.col("gold").alias("_gold")]).unique(subset=keys)
    return (paths.join(g, on=keys, how="left")
            .with_columns(pl.col("correct").fill_null(pl.col("answer") == pl.col("_gold"))
                          .fill_null(False))
            .drop("_gold"))


def item_tallies(paths: pl.DataFrame, gold: pl.DataFrame | None = None) -> pl.DataFrame:
    """One row per (run_id, sample_id): answer counts, their correctness, abstentions.

    Columns: run_id, sample_id, n_paths, n_abstain, n_correct (paths), counts
    (list[int], one per distinct answer), correct (list[bool], aligned), answers (list[str],
    the first-seen spelling of each). Answers are grouped as the live vote groups them: by
    ``answer_key`` (stored, or filled by :func:`from_store` for older rows), else by exact
    string (frames built by hand); a group is correct when its first-seen answer is, as
    the live vote grades its winner's first spelling.
    """
    p = with_vote_key(with_correct(reasoning_paths(paths), gold))
    per_answer = (p.filter(pl.col(VOTE).is_not_null())
                  .group_by("run_id", "sample_id", VOTE, maintain_order=True)
                  .agg(pl.len().alias("n"), pl.col("correct").first().alias("ok"),
                       pl.col("answer").first()))
    per_item = (p.group_by("run_id", "sample_id", maintain_order=True)
                .agg(pl.len().alias("n_paths"),
                     pl.col("answer").is_null().sum().alias("n_abstain"),
                     pl.col("correct").sum().alias("n_correct")))
    lists = (per_answer.group_by("run_id", "sample_id", maintain_order=True)
             .agg(pl.col("n").alias("counts"), pl.col("ok").alias("correct"),
                  pl.col("answer").alias("answers")))
    return per_item.join(lists, on=["run_id", "sample_id"], how="left").with_columns(
        pl.col("counts").fill_null(pl.lit([], dtype=pl.List(pl.UInt32))),
        pl.col("correct").fill_null(pl.lit([], dtype=pl.List(pl.Boolean))),
        pl.col("answers").fill_null(pl.lit([], dtype=pl.List(pl.String))),
    )
