"""The named query behind a search tree: one row per reasoning step of a stored run.

Why a query of its own: a step-level search (beam, DVTS, PRM-weighted best-of-n) stores
every step as a ``paths`` row with role ``step`` (parent = the previous step, ``step`` =
its index, ``score`` / ``scorer`` = its step score, ``kept`` = survived pruning) and every
scorer call as a row with role ``score`` whose parent is the step it scored. A tree view
needs both joined: the step, and what its scoring cost and whether it failed (a reward
model that answered 500 leaves the step unscored, with the error on the score row). The
tree itself is built by pure code (:mod:`workbench.analysis.search_tree`).
"""

from __future__ import annotations

import polars as pl

from workbench.store.store import Store

_STEPS = """
WITH sc AS (
    SELECT run_id, parent_id AS path_id,
           count(*) AS score_calls,
           sum(coalesce(tokens_in, 0) + coalesce(tokens_out, 0)) AS score_tokens,
           sum(coalesce(latency_ms, 0)) AS score_latency_ms,
           string_agg(error, '; ') FILTER (WHERE error IS NOT NULL) AS score_error
    FROM paths WHERE role = 'score' AND run_id = ?
    GROUP BY run_id, parent_id
)
SELECT p.run_id, p.sample_id, p.path_id, p.parent_id, p.step, p.idx, p.text, p.answer,
       p.stored_answer,
       p.answer_rule, p.correct, p.score, p.scorer, p.kept, p.finish_reason, p.truncated,
       p.tokens_in, p.tokens_out, p.error, p.started_at, p.finished_at,
       coalesce(sc.score_calls, 0) AS score_calls,
       coalesce(sc.score_tokens, 0) AS score_tokens,
       sc.score_latency_ms, sc.score_error
FROM graded_paths p LEFT JOIN sc ON sc.run_id = p.run_id AND sc.path_id = p.path_id
WHERE p.role = 'step' AND p.run_id = ? {sample}
ORDER BY p.sample_id, p.step, p.started_at, p.idx, p.path_id
"""


def search_steps(store: Store, run_id: str, sample_id: str | None = None) -> pl.DataFrame:
    """Every step of ``run_id`` (of one item with ``sample_id``), in generation order:
    its text, answer, score, scorer, kept flag, and its scorer's calls, tokens and error
    (``score_error``). Text stays in stored form (:mod:`workbench.store.textcodec`)."""
    params: list[str] = [run_id, run_id]
    sample = ""
    if sample_id is not None:
        sample, params = "AND p.sample_id = ?", [*params, sample_id]
    return store.query(_STEPS.replace("{sample}", sample), params)
