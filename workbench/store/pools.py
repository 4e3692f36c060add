"""Named query: the stored sample pools (every draw of every item) that offline allocation
replays.

Why a query of its own: a technique's *draw* is not one row of ``paths``. A CoT chain the
budget cut has no answer of its own; its answer is in the forced-answer child that budget
forcing asked for (role ``forced_answer``, ``parent_id`` = the chain), and the draw cost
the tokens of both. Self-consistency voted on that forced answer, so a replay must too.
This query folds each forced child into its chain and returns one row per draw, with the
effective grade (the ``graded_paths`` view: latest re-grade, then override).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl

from workbench.store.reads import GRADED_PATHS, GRADED_SAMPLES

DRAW_ROLES = ("path", "direct")
"""The roles that are one independent draw of a technique's base generation."""

POOL_COLUMNS = ("run_id", "technique", "task", "model", "sample_id", "item_id",
                "item_index", "idx", "answer", "answer_key", "correct", "truncated",
                "forced", "tokens_in", "tokens_out", "logprob_mean", "score")
"""Columns of :func:`sample_pools`, in order."""


def sample_pools(store: Any, run_id: str | Sequence[str] | None = None, *,
                 technique: str | Sequence[str] | None = None,
                 task: str | None = None) -> pl.DataFrame:
    """Every draw (role ``path`` or ``direct``) of the selected runs, one row each,
    ordered by run, item and path index.

    ``answer``/``answer_key``/``correct`` are the forced child's where budget forcing
    finished the chain (``forced`` is then true), else the draw's own; ``tokens_out`` and
    ``tokens_in`` add the child's; ``logprob_mean`` and ``score`` are the chain's (null
    where the provider or a verifier gave none). ``store`` is a
    :class:`workbench.store.store.Store`."""
    where, params = _filters(run_id, technique, task)
    roles = ", ".join(f"'{r}'" for r in DRAW_ROLES)
    return store.query(f"""
        WITH child AS (
            SELECT run_id, parent_id, answer, answer_key, correct, tokens_in, tokens_out
            FROM {GRADED_PATHS} WHERE role = 'forced_answer'
            QUALIFY row_number() OVER (PARTITION BY run_id, parent_id
                                       ORDER BY started_at, path_id) = 1)
        SELECT p.run_id, r.technique, r.task, r.model, p.sample_id, s.item_id,
               s.item_index, p.idx,
               CASE WHEN c.parent_id IS NULL THEN p.answer ELSE c.answer END AS answer,
               CASE WHEN c.parent_id IS NULL THEN p.answer_key ELSE c.answer_key END
                   AS answer_key,
               coalesce(CASE WHEN c.parent_id IS NULL THEN p.correct ELSE c.correct END,
                        false) AS correct,
               coalesce(p.truncated, false) AS truncated, c.parent_id IS NOT NULL AS forced,
               coalesce(p.tokens_in, 0) + coalesce(c.tokens_in, 0) AS tokens_in,
               coalesce(p.tokens_out, 0) + coalesce(c.tokens_out, 0) AS tokens_out,
               p.logprob_mean, p.score
        FROM {GRADED_PATHS} p
        JOIN runs r USING (run_id)
        JOIN {GRADED_SAMPLES} s ON s.run_id = p.run_id AND s.sample_id = p.sample_id
        LEFT JOIN child c ON c.run_id = p.run_id AND c.parent_id = p.path_id
        WHERE p.role IN ({roles}) {where}
        ORDER BY p.run_id, s.item_index, p.sample_id, p.idx, p.path_id""", params)


def _filters(run_id: str | Sequence[str] | None, technique: str | Sequence[str] | None,
             task: str | None) -> tuple[str, list[Any]]:
    """Extra ``AND`` conditions with bound parameters (a sequence means ``IN``)."""
    parts: list[str] = []
    params: list[Any] = []
    for column, value in (("p.run_id", run_id), ("r.technique", technique), ("r.task", task)):
        if value is None:
            continue
        values = [value] if isinstance(value, str) else list(value)
        if not values:
            parts.append("AND false")
            continue
        parts.append(f"AND {column} IN ({', '.join('?' * len(values))})")
        params.extend(values)
    return " ".join(parts), params
