"""Append-only, numbered schema migrations for the trace store.

Never edit a shipped migration: append a new one. Tables are append-only with no
foreign keys or secondary indexes (DuckDB's WAL replay has bugs after some DDL).
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb

Migration = Callable[[duckdb.DuckDBPyConnection], None]


def _m001_initial(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("""
        CREATE TABLE runs (
            run_id VARCHAR,           -- unique id of the run
            created_at TIMESTAMP,     -- when the run started (UTC)
            technique VARCHAR,        -- e.g. cot, sc, adaptive-sc, refine, best-of-n
            model VARCHAR,            -- litellm model string ("local" for the embedded model)
            verifier VARCHAR,         -- verifier model for refine / best-of-n, else NULL
            task VARCHAR,
            budget_tokens INTEGER,    -- reasoning-token budget per path
            n_samples INTEGER,        -- N paths (1 for single-pass techniques)
            rounds INTEGER,           -- refinement rounds (0 if none)
            temperature DOUBLE,
            seed BIGINT,
            n_items INTEGER,
            params JSON,              -- the full technique spec
            prompt_hash VARCHAR,      -- hash of the prompt templates used
            prompts JSON,             -- the templates themselves
            versions JSON,            -- workbench / litellm / engine versions
            sweep_id VARCHAR
        )""")
    con.execute("""
        CREATE TABLE run_status (   -- append-only status log: latest row per run wins
            run_id VARCHAR,
            status VARCHAR,           -- running | ok | error | cancelled
            "at" TIMESTAMP,           -- quoted: AT is a keyword in DuckDB 2.x
            wall_ms DOUBLE,
            error VARCHAR
        )""")
    con.execute("""
        CREATE TABLE samples (      -- one per task item per run
            run_id VARCHAR,
            sample_id VARCHAR,
            item_id VARCHAR,
            item_index INTEGER,
            question VARCHAR,
            gold VARCHAR,
            answer VARCHAR,           -- final (voted / refined) answer
            correct BOOLEAN,
            tokens_in BIGINT,
            tokens_out BIGINT,
            tokens_reasoning BIGINT,
            cost_usd DOUBLE,
            flops DOUBLE,
            latency_ms DOUBLE,
            n_calls INTEGER,
            error VARCHAR,
            meta JSON,                -- task metadata (difficulty, level, ...)
            created_at TIMESTAMP
        )""")
    con.execute("""
        CREATE TABLE paths (        -- one per generation: path, critique, refine round, ...
            run_id VARCHAR,
            sample_id VARCHAR,
            path_id VARCHAR,
            parent_id VARCHAR,
            role VARCHAR,             -- path | forced_answer | critique | refine | verify | direct
            model VARCHAR,
            round INTEGER,
            idx INTEGER,              -- sample index within the item (0..N-1)
            prompt VARCHAR,
            text VARCHAR,
            answer VARCHAR,           -- extracted answer, NULL if none
            correct BOOLEAN,
            finish_reason VARCHAR,
            truncated BOOLEAN,
            tokens_in BIGINT,
            tokens_out BIGINT,
            tokens_reasoning BIGINT,
            cost_usd DOUBLE,
            flops DOUBLE,
            logprob_mean DOUBLE,
            score DOUBLE,             -- verifier score where one was given
            ttft_ms DOUBLE,
            latency_ms DOUBLE,
            error VARCHAR,
            started_at TIMESTAMP,
            finished_at TIMESTAMP
        )""")
    con.execute("""
        CREATE TABLE votes (
            run_id VARCHAR,
            sample_id VARCHAR,
            method VARCHAR,
            counts JSON,
            winner VARCHAR,
            tie BOOLEAN,
            tie_break VARCHAR,
            n_paths INTEGER,
            stopped_early BOOLEAN,
            samples_saved INTEGER,
            tokens_saved_est BIGINT,
            created_at TIMESTAMP
        )""")
    con.execute("""
        CREATE TABLE rounds (
            run_id VARCHAR,
            sample_id VARCHAR,
            round INTEGER,
            path_id VARCHAR,
            critique_path_id VARCHAR,
            answer VARCHAR,
            accepted BOOLEAN,
            critique VARCHAR,
            correct BOOLEAN,
            created_at TIMESTAMP
        )""")


def _m002_path_requests(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("""
        CREATE TABLE path_requests (  -- the request behind each generated path (cache key)
            run_id VARCHAR,
            path_id VARCHAR,
            request_key VARCHAR,      -- hash of model, messages, sampling params, seed, sample index
            cached BOOLEAN            -- reused from an earlier path instead of generated
        )""")


def _m003_run_owner(con: duckdb.DuckDBPyConnection) -> None:
    # who wrote each status row, so a later writer can tell a live run from a killed one
    # (workbench.store.liveness); no DEFAULT: DuckDB's WAL replay has bugs with one
    con.execute("ALTER TABLE run_status ADD COLUMN pid BIGINT")
    con.execute("ALTER TABLE run_status ADD COLUMN host VARCHAR")
    con.execute("ALTER TABLE run_status ADD COLUMN proc_started DOUBLE")  # epoch s (psutil)


def _m004_answer_rules(con: duckdb.DuckDBPyConnection) -> None:
    """Which extraction rule produced each answer, a canonical key so equivalent answers
    group together in re-aggregation, and the grader version of each run. Columns only
    (no DEFAULT: DuckDB's WAL replay has bugs after ADD COLUMN ... DEFAULT); old rows read
    NULL and analysis computes their key at read time."""
    con.execute("ALTER TABLE paths ADD COLUMN IF NOT EXISTS answer_rule VARCHAR")
    con.execute("ALTER TABLE paths ADD COLUMN IF NOT EXISTS answer_key VARCHAR")
    con.execute("ALTER TABLE runs ADD COLUMN IF NOT EXISTS grader_version VARCHAR")


def _m005_served_by(con: duckdb.DuckDBPyConnection) -> None:
    # No DEFAULT: DuckDB's WAL replay has bugs after ADD COLUMN ... DEFAULT (field notes).
    con.execute("ALTER TABLE paths ADD COLUMN served_by VARCHAR")  # deployment of a pool
    con.execute("ALTER TABLE paths ADD COLUMN reasoning VARCHAR")  # provider's thinking text


_WITH_OVERRIDE = """), ov AS (
    SELECT run_id, sample_id, override_id, new_correct,
           CASE WHEN answer IS NOT NULL THEN 'a:' || answer
                ELSE 'p:' || coalesce(path_id, '') END AS okey
    FROM grade_overrides
    QUALIFY row_number() OVER (PARTITION BY run_id, sample_id, okey ORDER BY "at" DESC, rowid DESC) = 1
)
SELECT b.* REPLACE (CASE WHEN ov.override_id IS NULL THEN b.correct ELSE ov.new_correct END
                    AS correct),
       ov.override_id,
       CASE WHEN ov.override_id IS NOT NULL THEN 'override'
            WHEN b.regrade_id IS NOT NULL THEN 'regrade' ELSE 'stored' END AS grade_source
FROM b LEFT JOIN ov ON ov.run_id = b.run_id AND ov.sample_id = b.sample_id
"""
"""The tail both graded views share: the latest override of each judged answer (or of a
path / sample with no answer) replaces the grade, and ``grade_source`` says which won."""

_GRADED_PATHS = """
CREATE OR REPLACE VIEW graded_paths AS   -- paths with the grade analysis uses: latest regrade, then override
WITH rg AS (
    SELECT run_id, path_id, regrade_id, answer, answer_rule, answer_key, correct, grader_version
    FROM regrades WHERE path_id IS NOT NULL
    QUALIFY row_number() OVER (PARTITION BY run_id, path_id ORDER BY created_at DESC, rowid DESC) = 1
), b AS (
    SELECT p.* REPLACE (
               CASE WHEN rg.regrade_id IS NULL THEN p.answer ELSE rg.answer END AS answer,
               CASE WHEN rg.regrade_id IS NULL THEN p.correct ELSE rg.correct END AS correct{extra}),
           p.answer AS stored_answer, p.correct AS stored_correct, rg.regrade_id,
           rg.grader_version AS regrade_grader_version, rg.answer_rule AS regrade_answer_rule
    FROM paths p LEFT JOIN rg ON rg.run_id = p.run_id AND rg.path_id = p.path_id
""" + _WITH_OVERRIDE + (
    "    AND ov.okey = CASE WHEN b.answer IS NOT NULL THEN 'a:' || b.answer "
    "ELSE 'p:' || b.path_id END\n")

_GRADED_SAMPLES = """
CREATE OR REPLACE VIEW graded_samples AS   -- samples with the grade analysis uses (as graded_paths)
WITH rg AS (
    SELECT run_id, sample_id, regrade_id, answer, correct, grader_version, method
    FROM regrades WHERE path_id IS NULL
    QUALIFY row_number() OVER (PARTITION BY run_id, sample_id ORDER BY created_at DESC, rowid DESC) = 1
), b AS (
    SELECT s.* REPLACE (
               CASE WHEN rg.regrade_id IS NULL THEN s.answer ELSE rg.answer END AS answer,
               CASE WHEN rg.regrade_id IS NULL THEN s.correct ELSE rg.correct END AS correct),
           s.answer AS stored_answer, s.correct AS stored_correct, rg.regrade_id,
           rg.grader_version AS regrade_grader_version, rg.method AS regrade_method
    FROM samples s LEFT JOIN rg ON rg.run_id = s.run_id AND rg.sample_id = s.sample_id
""" + _WITH_OVERRIDE + (
    "    AND ov.okey = CASE WHEN b.answer IS NOT NULL THEN 'a:' || b.answer ELSE 'p:' END\n")


def _m006_grade_overrides_regrades(con: duckdb.DuckDBPyConnection) -> None:
    """Human grade overrides and model-free re-grading, both append-only, and the two
    views every analysis reads grades through (see :mod:`workbench.store.grades`).

    Idempotent (IF NOT EXISTS / OR REPLACE) so a file that got this migration under
    another number on a development branch migrates cleanly once numbers are merged. The
    views take answer_rule / answer_key from a re-grade where ``paths`` has those columns.

    The views are bound to the columns ``paths`` and ``samples`` have now: a later
    migration that adds a column to either must re-create them (call this again)."""
    con.execute("""
        CREATE TABLE IF NOT EXISTS grade_overrides (  -- append-only: a person's verdict on an answer
            override_id VARCHAR,
            run_id VARCHAR,
            sample_id VARCHAR,
            path_id VARCHAR,          -- the path judged; NULL = the sample's final answer
            answer VARCHAR,           -- the answer judged: the verdict covers every path and
                                      -- the final answer of the sample with this answer;
                                      -- NULL (no answer): only that path / sample
            old_correct BOOLEAN,      -- the grade analysis used before this override
            new_correct BOOLEAN,
            who VARCHAR,
            "at" TIMESTAMP,
            why VARCHAR
        )""")
    con.execute("""
        CREATE TABLE IF NOT EXISTS regrades (         -- append-only: stored text re-graded, no model call
            regrade_id VARCHAR,       -- one id per `workbench regrade` invocation
            run_id VARCHAR,
            sample_id VARCHAR,
            path_id VARCHAR,          -- NULL = the sample's final answer
            grader_version VARCHAR,   -- the grader that produced this row
            answer VARCHAR,           -- re-extracted answer (NULL: none)
            answer_rule VARCHAR,      -- extraction rule that produced it, where known
            answer_key VARCHAR,       -- canonical grouping key of the answer, where known
            correct BOOLEAN,
            method VARCHAR,           -- paths: extract; samples: revote | final-path | answer-only
            created_at TIMESTAMP
        )""")
    cols = {r[0] for r in con.execute("SELECT column_name FROM information_schema.columns "
                                      "WHERE table_name = 'paths'").fetchall()}
    extra = "".join(f",\n               CASE WHEN rg.regrade_id IS NULL THEN p.{c} ELSE rg.{c} "
                    f"END AS {c}" for c in ("answer_rule", "answer_key") if c in cols)
    con.execute(_GRADED_PATHS.replace("{extra}", extra))  # re-graded rule/key where paths has them
    con.execute(_GRADED_SAMPLES)


def _m007_batches(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("""
        CREATE TABLE batches (        -- one provider batch job (written once, at submission)
            batch_id VARCHAR,         -- the provider's id (resume re-attaches to it)
            provider VARCHAR,         -- litellm provider, e.g. openai
            model VARCHAR,            -- workbench model name
            litellm_model VARCHAR,
            api_base VARCHAR,
            input_file_id VARCHAR,
            n_requests INTEGER,
            submitted_at TIMESTAMP
        )""")
    con.execute("""
        CREATE TABLE batch_status (   -- append-only status log: latest row per batch wins
            batch_id VARCHAR,
            status VARCHAR,           -- validating | in_progress | completed | expired | ...
            completed INTEGER,
            failed INTEGER,
            output_file_id VARCHAR,
            error_file_id VARCHAR,
            "at" TIMESTAMP
        )""")
    con.execute("""
        CREATE TABLE batch_requests (  -- custom_id -> the request (and path) it answers
            batch_id VARCHAR,
            custom_id VARCHAR,        -- the request key of one choice (see path_requests)
            run_id VARCHAR,
            sample_id VARCHAR,
            idx INTEGER               -- sample index within the item
        )""")


def _m008_search_steps(con: duckdb.DuckDBPyConnection) -> None:
    """Step-level search (beam, DVTS, PRM-weighted best-of-n): each reasoning step is a
    path row (role "step") whose parent is the previous step; these columns say which step
    it is, who scored it and whether the search kept it, so a stored run rebuilds its tree.
    Columns only, no DEFAULT (WAL replay bugs); old rows read NULL. The graded views are
    bound to the old column list, so they are re-created (migration 6 is idempotent)."""
    con.execute("ALTER TABLE paths ADD COLUMN step INTEGER")    # step index in its chain
    con.execute("ALTER TABLE paths ADD COLUMN scorer VARCHAR")  # who gave `score`
    con.execute("ALTER TABLE paths ADD COLUMN kept BOOLEAN")    # survived pruning (search)
    _m006_grade_overrides_regrades(con)


def _m009_typed_settings(con: duckdb.DuckDBPyConnection) -> None:
    """Every knob typed: the run's vote, provider thinking budget, logprobs and the built
    technique's description (every budget of a composition, the verifier's included), and
    per path what it asked for (max_tokens, temperature, seed, stop) and how long it waited
    for a free slot (``queue_ms``; ``latency_ms`` minus it is time generating). Columns
    only, no DEFAULT; old rows read NULL. The graded views are re-created (see 8)."""
    for column in ("vote VARCHAR", "thinking_budget INTEGER", "logprobs BOOLEAN",
                   "technique_tree JSON"):
        con.execute(f"ALTER TABLE runs ADD COLUMN {column}")
    for column in ("max_tokens INTEGER", "temperature DOUBLE", "seed BIGINT", "stop JSON",
                   "queue_ms DOUBLE"):
        con.execute(f"ALTER TABLE paths ADD COLUMN {column}")
    _m006_grade_overrides_regrades(con)


MIGRATIONS: list[Migration] = [_m001_initial, _m002_path_requests, _m003_run_owner,
                               _m004_answer_rules, _m005_served_by,
                               _m006_grade_overrides_regrades, _m007_batches,
                               _m008_search_steps, _m009_typed_settings]
"""Ordered; migration i (1-based) is recorded in ``_migrations`` once applied."""


def migrate(con: duckdb.DuckDBPyConnection) -> int:
    """Apply every migration not yet recorded; return the schema version."""
    con.execute("CREATE TABLE IF NOT EXISTS _migrations (version INTEGER, applied_at TIMESTAMP)")
    row = con.execute("SELECT coalesce(max(version), 0) FROM _migrations").fetchone()
    done = int(row[0]) if row else 0
    check_not_newer(done)
    for version, fn in enumerate(MIGRATIONS, start=1):
        if version <= done:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            fn(con)
            con.execute("INSERT INTO _migrations VALUES (?, now())", [version])
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
    if done < len(MIGRATIONS):
        con.execute("CHECKPOINT")
    return len(MIGRATIONS)


def check_not_newer(version: int | None, path: str = "this database") -> None:
    """Refuse a file written by a newer release: its tables may hold columns and rules this
    code does not know, so reading or writing it could silently mis-read or corrupt it."""
    latest = len(MIGRATIONS)
    if version is None or version <= latest:
        return
    from importlib import metadata

    from workbench.errors import WorkbenchError

    try:
        mine = metadata.version("inference-workbench")
    except metadata.PackageNotFoundError:
        mine = "(not installed)"
    raise WorkbenchError(
        f"{path} has schema version {version}, newer than this workbench "
        f"(inference-workbench {mine} knows versions up to {latest}): it was written by a "
        "newer release. Upgrade the workbench (pip install -U inference-workbench, or pull "
        "the repository) to open it; nothing in the file was changed.")
