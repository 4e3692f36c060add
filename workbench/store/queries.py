"""Named, typed reads of the trace schema: every query the workbench itself runs.

The schema is the store's own business. Widgets, the CLI, the sweep, resume, review and
exports ask these methods (``store.latest_run(task, model)``, ``store.runs_matching(...)``)
and get polars frames or plain values back, so a column can be renamed or added in one
package, and ``grep`` finds SQL only under ``workbench/store/`` (a test checks it). The
user's own SQL box (``Store.sql``, ``workbench sql``) is the one door for typed-in SQL.

:class:`Queries` is a mixin of :class:`~workbench.store.store.Store`; it needs only the
store's ``query(sql, params) -> pl.DataFrame``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from workbench.store.reads import GRADED_PATHS, GRADED_SAMPLES

RUNS_TABLE_SQL = """
SELECT r.run_id, strftime(r.created_at, '%Y-%m-%d %H:%M') AS created, r.technique, r.model,
       r.task, r.budget_tokens AS budget, r.n_samples AS n, s.status, r.n_items AS items,
       count(x.sample_id)::INTEGER AS done, count(x.error)::INTEGER AS failed,
       avg(CASE WHEN x.correct THEN 1.0 ELSE 0.0 END) AS accuracy, s.error
FROM runs r
LEFT JOIN (SELECT * FROM run_status QUALIFY row_number() OVER (
           PARTITION BY run_id ORDER BY "at" DESC, rowid DESC) = 1) s USING (run_id)
LEFT JOIN samples x USING (run_id)
GROUP BY ALL ORDER BY min(r.created_at), r.run_id
"""

BROWSER_RUNS_SQL = f"""
SELECT r.run_id, r.created_at, r.technique, r.model, r.task, r.budget_tokens,
       r.n_samples AS n, r.rounds, count(s.sample_id) AS items,
       avg(CASE WHEN s.correct THEN 1.0 ELSE 0.0 END) AS accuracy,
       sum(s.tokens_out) AS tokens_out, sum(s.cost_usd) AS cost_usd
FROM runs r LEFT JOIN {GRADED_SAMPLES} s USING (run_id)
WHERE (? IS NULL OR r.technique = ?) AND (? IS NULL OR r.model = ?)
  AND (? IS NULL OR r.task = ?)
GROUP BY ALL ORDER BY r.created_at DESC LIMIT 500
"""

SUMMARY_SQL = f"""
SELECT r.run_id, r.technique, r.model, r.task, r.budget_tokens, r.n_samples AS n,
       count(*) AS items, avg(CASE WHEN s.correct THEN 1.0 ELSE 0.0 END) AS accuracy,
       avg(s.tokens_in) AS tokens_in_per_item, avg(s.tokens_out) AS tokens_out_per_item,
       sum(s.cost_usd) AS cost_usd, avg(s.latency_ms) AS latency_ms_mean,
       quantile_cont(s.latency_ms, 0.95) AS latency_ms_p95,
       count(s.error)::INTEGER AS errors
FROM {GRADED_SAMPLES} s JOIN runs r USING (run_id)  -- effective grades: regrades, overrides
WHERE list_contains(?, s.run_id)
GROUP BY ALL ORDER BY min(s.created_at)
"""

RUN_POINTS_SQL = f"""
SELECT r.run_id, any_value(r.technique) AS technique, any_value(r.model) AS model,
       any_value(r.budget_tokens) AS budget_tokens, any_value(r.n_samples) AS n,
       count(*) AS items, avg(CASE WHEN s.correct THEN 1.0 ELSE 0.0 END) AS accuracy,
       avg(s.tokens_out) AS tokens_per_item, min(r.created_at) AS created_at
FROM {GRADED_SAMPLES} s JOIN runs r USING (run_id)
WHERE r.task = ? AND (? IS NULL OR r.model = ?)
GROUP BY r.run_id ORDER BY created_at
"""

RUN_CHOICES_SQL = f"""
SELECT r.run_id, strftime(r.created_at, '%Y-%m-%d %H:%M:%S') AS created, r.technique,
       r.model, r.task, r.budget_tokens AS budget, r.n_samples AS n, r.rounds,
       r.prompt_hash, count(s.sample_id) AS items,
       avg(CASE WHEN s.correct THEN 1.0 ELSE 0.0 END) AS accuracy
FROM runs r LEFT JOIN {GRADED_SAMPLES} s USING (run_id)
WHERE (? IS NULL OR r.task = ?)
GROUP BY ALL HAVING count(s.sample_id) > 0
ORDER BY min(r.created_at) DESC, r.run_id DESC LIMIT ?
"""

MATCHING_SQL = """
SELECT run_id, n_samples FROM runs
WHERE task = ? AND model = ? AND technique = ? AND budget_tokens = ? AND temperature = ?
  AND seed = ? AND prompt_hash = ? AND n_samples >= ? AND coalesce(verifier, '') = ?
ORDER BY created_at DESC
"""

VOTE_PATHS_SQL = f"""
SELECT sample_id, path_id, parent_id, role, model, round, idx, text, answer, correct,
       finish_reason, truncated, tokens_in, tokens_out, cost_usd, error, answer_key, score
FROM {GRADED_PATHS} WHERE run_id = ? AND list_contains(?, sample_id)
  AND role IN ('path', 'forced_answer', 'verify')
ORDER BY sample_id, idx, started_at
"""

TABLES_SQL = """
SELECT t.table_name, bool_or(c.column_name = 'run_id') AS has_run_id
FROM duckdb_tables() t JOIN duckdb_columns() c
  ON c.table_name = t.table_name AND c.schema_name = t.schema_name
WHERE t.schema_name = 'main' AND NOT starts_with(t.table_name, '_')
GROUP BY t.table_name ORDER BY t.table_name
"""

EXAMPLE_SQL = (f"SELECT run_id, sample_id, item_index, gold, answer, correct, tokens_out\n"
               f"FROM {GRADED_SAMPLES} WHERE NOT correct ORDER BY created_at DESC LIMIT 50")
"""The trace browser's starting query (the user's own SQL box)."""

ACCURACY_SQL = ("select technique, avg(correct::int) from samples join runs using (run_id) "
                "group by 1")
"""A first query to paste into ``workbench sql`` (printed after the demo)."""

Params = Sequence[Any] | Mapping[str, Any] | None


class Queries:
    """The store's named reads (mixed into ``Store``, which supplies :meth:`query`)."""

    def query(self, sql: str, params: Params = None) -> pl.DataFrame:
        raise NotImplementedError

    # runs ------------------------------------------------------------------------------

    def run_exists(self, run_id: str) -> bool:
        return int(self.query("SELECT count(*) AS n FROM runs WHERE run_id = ?",
                              [run_id])["n"][0]) > 0

    def runs_table(self, last: int | None = None) -> pl.DataFrame:
        """One row per stored run: latest status, items planned / done / failed, accuracy
        over the done items, and the status's error text (``workbench runs``)."""
        df = self.query(RUNS_TABLE_SQL)
        return df.tail(last) if last is not None and last > 0 else df

    def browse_runs(self, technique: str | None = None, model: str | None = None,
                    task: str | None = None) -> pl.DataFrame:
        """The newest 500 runs matching the filters (None: any) with accuracy and tokens."""
        return self.query(BROWSER_RUNS_SQL, [technique, technique, model, model, task, task])

    def run_choices(self, task: str | None = None, limit: int = 200) -> pl.DataFrame:
        """Runs with at least one scored item (of ``task``; None: any), newest first, with
        what tells two runs apart (technique, model, budget, N, rounds, prompt hash) and
        their accuracy: the Explorer's Compare pickers."""
        return self.query(RUN_CHOICES_SQL, [task, task, limit])

    def summary(self, run_ids: Sequence[str]) -> pl.DataFrame:
        """Accuracy, tokens, cost and latency per run (effective grades), in run order."""
        return self.query(SUMMARY_SQL, [list(run_ids)])

    def run_points(self, task: str, model: str | None = None) -> pl.DataFrame:
        """Per run of ``task`` (and ``model``): technique, budget, n, items, accuracy,
        tokens per item; the points of the Explorer's scaling chart."""
        return self.query(RUN_POINTS_SQL, [task, model, model])

    def latest_run(self, task: str, model: str) -> str | None:
        """The newest run of ``task`` on ``model``, or None."""
        ids = self.query("SELECT run_id FROM runs WHERE task = ? AND model = ? "
                         "ORDER BY created_at DESC LIMIT 1", [task, model])["run_id"]
        return str(ids[0]) if len(ids) else None

    def runs_matching(self, *, task: str, model: str, technique: str, budget_tokens: int,
                      temperature: float, seed: int, prompt_hash: str, min_samples: int,
                      verifier: str) -> list[str]:
        """Runs with exactly these settings and at least ``min_samples`` samples per item
        (``verifier`` "" for none), newest first: what instant recompute can draw from."""
        found = self.query(MATCHING_SQL, [task, model, technique, budget_tokens, temperature,
                                          seed, prompt_hash, min_samples, verifier])
        return [str(r) for r in found["run_id"].to_list()]

    def run_owner(self, run_id: str) -> tuple[Any, ...] | None:
        """(pid, host, proc_started) of the process that last reported on ``run_id``."""
        rows = self.query('SELECT pid, host, proc_started FROM run_status WHERE run_id = ? '
                          'ORDER BY "at" DESC, rowid DESC LIMIT 1', [run_id])
        return tuple(rows.row(0)) if rows.height else None

    # samples and paths -----------------------------------------------------------------

    def done_items(self, run_id: str) -> set[int]:
        df = self.query("SELECT DISTINCT item_index FROM samples WHERE run_id = ?", [run_id])
        return {int(i) for i in df["item_index"].to_list()}

    def sample_counts(self, run_id: str) -> tuple[int, int]:
        """(samples, failed samples) stored for ``run_id``."""
        row = self.query("SELECT count(*) AS n, count(error) AS failed FROM samples "
                         "WHERE run_id = ?", [run_id]).row(0)
        return int(row[0]), int(row[1])

    def item_states(self, run_id: str) -> pl.DataFrame:
        """Per stored item of ``run_id``: item_index, item_id, failed (any sample erred)."""
        return self.query("SELECT item_index, any_value(item_id) AS item_id, "
                          "bool_or(error IS NOT NULL) AS failed FROM samples WHERE run_id = ? "
                          "GROUP BY item_index", [run_id])

    def items_answered(self, run_id: str, items: Sequence[int]) -> int:
        """How many of ``items`` have a sample without error in ``run_id``."""
        got = self.query("SELECT count(DISTINCT item_index) AS c FROM samples "
                         "WHERE run_id = ? AND list_contains(?, item_index) AND error IS NULL",
                         [run_id, list(items)])
        return int(got["c"][0])

    def item_samples(self, run_id: str, items: Sequence[int]) -> pl.DataFrame:
        """sample_id, item_id, item_index, question, gold, meta of ``items``, in order."""
        return self.query("SELECT sample_id, item_id, item_index, question, gold, meta "
                          "FROM samples WHERE run_id = ? AND list_contains(?, item_index) "
                          "ORDER BY item_index", [run_id, list(items)])

    def vote_paths(self, run_id: str, sample_ids: Sequence[str]) -> pl.DataFrame:
        """The voting paths (path, forced answer, verify) of ``sample_ids``, effective
        grades, in path order: what re-aggregation replays."""
        return self.query(VOTE_PATHS_SQL, [run_id, list(sample_ids)])

    def wrong_items(self, task: str, model: str) -> list[int]:
        """Item indices of ``task`` that some run of ``model`` got wrong (effective grade)."""
        df = self.query(f"SELECT DISTINCT s.item_index FROM {GRADED_SAMPLES} s JOIN runs r "
                        "USING (run_id) WHERE r.task = ? AND r.model = ? AND NOT s.correct "
                        "ORDER BY 1", [task, model])
        return [int(i) for i in df["item_index"].to_list()]

    def graded_samples(self, run_id: str) -> pl.DataFrame:
        """Every sample column of ``run_id`` with its effective grade, by item."""
        return self.query(f"SELECT * FROM {GRADED_SAMPLES} WHERE run_id = ? "
                          "ORDER BY item_index", [run_id])

    def graded_paths(self, run_id: str, *, graded_only: bool = False) -> pl.DataFrame:
        """Every path of ``run_id`` with its effective grade, in generation order;
        ``graded_only``: only paths that were graded (not critiques and verdicts)."""
        where = " AND stored_correct IS NOT NULL" if graded_only else ""
        return self.query(f"SELECT * FROM {GRADED_PATHS} WHERE run_id = ?{where} "
                          "ORDER BY sample_id, started_at, round, idx", [run_id])

    def vote_methods(self, run_id: str) -> dict[str, str]:
        """sample_id -> how its answer was chosen (the vote's method, or "composed" where
        refinement rounds fed the vote)."""
        votes = self.query("SELECT v.sample_id, CASE WHEN count(r.sample_id) > 0 "
                           "THEN 'composed' ELSE any_value(v.method) END AS method "
                           "FROM votes v LEFT JOIN rounds r ON r.run_id = v.run_id "
                           "AND r.sample_id = v.sample_id WHERE v.run_id = ? "
                           "GROUP BY v.sample_id", [run_id])
        return dict(zip(votes["sample_id"].to_list(), votes["method"].to_list(), strict=True))

    def last_grader_version(self, run_id: str) -> str | None:
        """The grader version of the newest regrade of ``run_id``, or None."""
        last = self.query("SELECT grader_version FROM regrades WHERE run_id = ? "
                          "ORDER BY created_at DESC, rowid DESC LIMIT 1", [run_id])
        return str(last["grader_version"][0]) if last.height else None

    # whole tables ----------------------------------------------------------------------

    def trace_tables(self) -> list[tuple[str, bool]]:
        """(table, has a run_id column) for every table except bookkeeping ones (names
        starting with ``_``), so tables added by later migrations are exported too."""
        return [(str(n), bool(h)) for n, h in self.query(TABLES_SQL).iter_rows()]

    def table_rows(self, table: str, run_ids: Sequence[str] | None = None) -> pl.DataFrame:
        """Every row of ``table`` (one of :meth:`trace_tables`), or those of ``run_ids``."""
        known = dict(self.trace_tables())
        if table not in known:
            raise KeyError(table)
        sql = f'SELECT * FROM "{table}"'
        if run_ids is None or not known[table]:
            return self.query(sql)
        return self.query(f"{sql} WHERE list_contains(?, run_id)", [list(run_ids)])
