"""The reads analysis makes, and where the effective grades are: the graded views' names.

The store owns the schema and the views (:mod:`workbench.store.grades`, created by a
migration). Analysis is pure (frames in, frames out) and must not depend on DuckDB or the
store's connection machinery, yet its SQL belongs here with the rest: this module holds
only statements and :func:`analysis_tables`, which runs them through any object with
``query(sql) -> DataFrame`` (the store, or a raw DuckDB connection's ``execute``). It
imports nothing but polars, so ``workbench.analysis`` may import it (the one exception in
the import contracts).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import polars as pl

GRADED_PATHS = "graded_paths"
GRADED_SAMPLES = "graded_samples"

HAS_VIEWS_SQL = ("SELECT count(*) AS n FROM information_schema.tables "
                 f"WHERE table_name IN ('{GRADED_PATHS}', '{GRADED_SAMPLES}')")
"""One row, ``n`` = 2 when the database has the graded views (schema with migration 6)."""

_GRADED_ROUNDS = (f"(SELECT r.* REPLACE ("
                  "CASE WHEN g.grade_source IS NOT NULL AND g.grade_source <> 'stored' "
                  "THEN g.correct ELSE r.correct END AS correct, "
                  "CASE WHEN g.regrade_id IS NOT NULL THEN g.answer ELSE r.answer END AS answer) "
                  f"FROM rounds r LEFT JOIN {GRADED_PATHS} g "
                  "ON g.run_id = r.run_id AND g.path_id = r.path_id) AS rounds")


def graded_sources(has_views: bool) -> dict[str, str]:
    """What to put after FROM to read samples, paths and rounds with the effective grade
    (the raw tables for a database without the views, e.g. an old file opened raw)."""
    if not has_views:
        return {"samples": "samples", "paths": "paths", "rounds": "rounds"}
    return {"samples": GRADED_SAMPLES, "paths": GRADED_PATHS, "rounds": _GRADED_ROUNDS}


PATH_COLUMNS = (
    "run_id", "sample_id", "path_id", "parent_id", "role", "model", "round", "idx", "answer",
    "correct", "finish_reason", "truncated", "tokens_in", "tokens_out", "tokens_reasoning",
    "cost_usd", "flops", "latency_ms", "score", "error",
)
"""Columns of ``paths`` that analysis reads (the prompt and text are left in the store)."""

KEY_COLUMNS = ("answer_rule", "answer_key", "queue_ms")
"""Read too where the file has them (migrations 4 and 9); older files get keys at read
time, and no queue time (their latency includes it)."""

SAMPLE_COLUMNS = (
    "run_id", "sample_id", "item_id", "item_index", "gold", "answer", "correct", "tokens_in",
    "tokens_out", "tokens_reasoning", "cost_usd", "flops", "latency_ms", "n_calls", "error",
    "meta",
)

Query = Callable[[str], pl.DataFrame]


def _run_filter(run_ids: Iterable[str] | None) -> str:
    if run_ids is None:
        return ""
    quoted = ", ".join("'" + str(r).replace("'", "''") + "'" for r in run_ids)
    return f" WHERE run_id IN ({quoted})" if quoted else " WHERE FALSE"


def analysis_tables(query: Query, run_ids: Iterable[str] | None = None
                    ) -> dict[str, pl.DataFrame]:
    """runs, samples, paths (without prompt/text), votes, rounds and run_status, each
    limited to ``run_ids``, with effective grades where the file has the graded views."""
    where = _run_filter(None if run_ids is None else list(run_ids))
    views = int(query(HAS_VIEWS_SQL)["n"][0]) == 2
    src = graded_sources(views)
    extra = ", grade_source" if views else ""
    have = set(query(f"SELECT * FROM {src['paths']} LIMIT 0").columns)
    cols = [*PATH_COLUMNS, *(c for c in KEY_COLUMNS if c in have)]
    return {
        "runs": query(f"SELECT * FROM runs{where}"),
        "samples": query(f"SELECT {', '.join(SAMPLE_COLUMNS)}{extra} "
                         f"FROM {src['samples']}{where}"),
        "paths": query(f"SELECT {', '.join(cols)}{extra} FROM {src['paths']}{where}"),
        "votes": query(f"SELECT * FROM votes{where}"),
        "rounds": query(f"SELECT * FROM {src['rounds']}{where}"),
        "run_status": query(f"SELECT * FROM run_status{where}"),
    }
