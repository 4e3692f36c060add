"""Which stored answers count as one answer when paths are re-voted.

Why: the live vote groups answers with the task's equivalence, so every re-aggregation
(maj@k, curves, adaptive replay, vote margins) must group them the same way. Rows written
since migration 4 carry that grouping in ``paths.answer_key``; older rows get their key
here, at read time, from the same functions (``workbench.grading.keys``) with the run's
task. Frames built by hand without keys group by exact answer string, as before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import polars as pl

from workbench.grading.keys import ItemKeys, numeric_key

VOTE = "_vote"
"""Column holding the grouping key of each answer (null when the path abstained)."""

KeyFn = Callable[[str], str]
Same = Callable[[str, str], bool]


def _task_rules(task_name: str | None) -> tuple[KeyFn, Same | None]:
    """The key function and equivalence of a stored run's task; a generic numeric/text key
    (no equivalence merge) when the task cannot be rebuilt here (a user file gone)."""
    if task_name:
        try:
            from workbench.tasks import get_task

            task = get_task(task_name)
            fmt = getattr(task.format, "answer_format", "numeric")
            return task.answer_key, (task.same if fmt == "latex" else None)
        except Exception:  # an unknown or moved task: fall back to the generic key
            pass
    return numeric_key, None


def _merge_keys(part: pl.DataFrame, key_fn: KeyFn, same: Same) -> pl.Series:
    """Keys per row, merged within each item in idx order as the live vote groups."""
    order = [c for c in ("sample_id", "idx") if c in part.columns]
    ranked = part.with_row_index("_pos").sort(order)
    cache: dict[str, str] = {}

    def cached(a: str) -> str:
        found = cache.get(a)
        if found is None:
            found = cache[a] = key_fn(a)
        return found

    out: list[str | None] = [None] * part.height
    for (_sid,), item in ranked.group_by("sample_id", maintain_order=True):
        keys = ItemKeys(cached, same)
        for pos, answer, stored in zip(item["_pos"], item["answer"], item["answer_key"],
                                       strict=True):
            out[pos] = stored if stored is not None else keys.key(answer)
    return pl.Series("answer_key", out, dtype=pl.String)


def fill_answer_keys(paths: pl.DataFrame, runs: pl.DataFrame | None = None) -> pl.DataFrame:
    """``paths`` with ``answer_key`` filled for rows stored before migration 4."""
    if "answer" not in paths.columns or paths.height == 0:
        return paths
    if "answer_key" not in paths.columns:
        paths = paths.with_columns(pl.lit(None, dtype=pl.String).alias("answer_key"))
    todo = paths["answer_key"].is_null() & paths["answer"].is_not_null()
    if not todo.any():
        return paths
    tasks: dict[Any, Any] = {}
    if runs is not None and {"run_id", "task"} <= set(runs.columns):
        tasks = dict(zip(runs["run_id"].to_list(), runs["task"].to_list(), strict=True))
    pending = paths.filter(todo).select("run_id", "answer").unique()
    simple: list[pl.Expr] = []
    merged: list[tuple[Any, KeyFn, Same]] = []
    for (run_id,), part in pending.group_by("run_id"):
        key_fn, same = _task_rules(tasks.get(run_id))
        if same is not None and "sample_id" in paths.columns:
            merged.append((run_id, key_fn, same))
            continue
        mapping = {a: key_fn(a) for a in part["answer"].to_list()}
        simple.append(pl.when(pl.col("run_id") == run_id).then(
            pl.col("answer").replace_strict(mapping, default=None, return_dtype=pl.String)))
    if simple:  # one vectorised pass: old rows of tasks whose keys need no merging
        paths = paths.with_columns(pl.coalesce(pl.col("answer_key"), *simple))
    for run_id, key_fn, same in merged:  # equivalence wider than a key: merge per item
        mask = pl.col("run_id") == run_id
        part = paths.filter(mask)
        paths = pl.concat([paths.filter(~mask),
                           part.with_columns(_merge_keys(part, key_fn, same))],
                          how="vertical_relaxed")
    return paths


def with_vote_key(paths: pl.DataFrame) -> pl.DataFrame:
    """``paths`` with :data:`VOTE`: the stored/filled key, else the exact answer string."""
    key = pl.col("answer_key") if "answer_key" in paths.columns else pl.lit(None, pl.String)
    return paths.with_columns(
        pl.when(pl.col("answer").is_null()).then(pl.lit(None, pl.String))
        .otherwise(pl.coalesce(key, pl.lit("=") + pl.col("answer"))).alias(VOTE))
