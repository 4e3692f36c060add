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


def _m006_served_by(con: duckdb.DuckDBPyConnection) -> None:
    # No DEFAULT: DuckDB's WAL replay has bugs after ADD COLUMN ... DEFAULT (field notes).
    con.execute("ALTER TABLE paths ADD COLUMN served_by VARCHAR")  # deployment of a pool


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


MIGRATIONS: list[Migration] = [_m001_initial, _m002_path_requests, _m006_served_by,
                               _m007_batches]
"""Ordered; migration i (1-based) is recorded in ``_migrations`` once applied."""


def migrate(con: duckdb.DuckDBPyConnection) -> int:
    """Apply every migration not yet recorded; return the schema version."""
    con.execute("CREATE TABLE IF NOT EXISTS _migrations (version INTEGER, applied_at TIMESTAMP)")
    row = con.execute("SELECT coalesce(max(version), 0) FROM _migrations").fetchone()
    done = int(row[0]) if row else 0
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
