"""``workbench sweep --batch`` end to end against the fake batch endpoint on 127.0.0.1.

The CLI path (config file, flag, polling, ingestion, exit code), not the backend alone
(tests/backends/test_batching.py): a batched sweep stores the same rows as the same sweep
streamed, priced at the batch rate; a sweep killed with SIGKILL while its batch is in flight
re-attaches to the stored batch id without submitting again; and a batch the provider ends
cancelled, expired, failed or with failed lines gives per-sample errors that say so, the
run status that follows from them and the matching exit code.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from cli_kit import Done, run_cli
from fakes.fake_batch import FakeBatchAPI, default_text
from fakes.fake_openai import FakeOpenAI
from faults.fault_kit import warm_litellm

from workbench.backends.pricing import Price, batch_price_of
from workbench.runstatus import runs_table
from workbench.store.store import Store

REPO = Path(__file__).resolve().parents[2]
MODEL = "openai/gpt-4o-mini"
SC = """
name = "batched"
models = ["gpt"]
tasks = ["arithmetic"]
limit = 4
[[techniques]]
technique = "sc"
n = 3
budget = 64
"""
COT = SC.replace('technique = "sc"\nn = 3', 'technique = "cot"').replace("limit = 4",
                                                                         "limit = 6")
FAST = {"WORKBENCH_BATCH_POLL_S": "0.02", "WORKBENCH_BATCH_IDLE_S": "0.05", "FAKE_KEY": "k"}
SAME = ["sample_id", "role", "idx", "round", "text", "answer", "correct", "finish_reason",
        "tokens_in", "tokens_out", "tokens_reasoning", "error"]


@pytest.fixture(scope="module", autouse=True)
def _warm() -> None:
    warm_litellm()


def write_config(path: Path, api_base: str, extra: str = "") -> Path:
    """``gpt`` on a loopback fake, at OpenAI's price (loopback alone would price it as a
    free self-hosted server)."""
    path.write_text(f'[models.gpt]\nmodel = "{MODEL}"\napi_base = "{api_base}"\n'
                    f'api_key_env = "FAKE_KEY"\nprice_per_mtok = [0.15, 0.60]\n{extra}')
    return path


def sweep(tmp_path: Path, spec: str, config: Path, db: Path, *flags: str) -> Done:
    (tmp_path / "s.toml").write_text(spec)
    env: dict[str, str | None] = {"WORKBENCH_CONFIG": str(config), "COLUMNS": "200", **FAST}
    return run_cli(["sweep", str(tmp_path / "s.toml"), "--db", str(db), *flags], env)


def tables(db: Path) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    with Store.open(db, read_only=True) as store:
        return (store.query("SELECT * FROM paths ORDER BY sample_id, idx, round"),
                store.query("SELECT * FROM samples ORDER BY item_index"),
                runs_table(store))


def test_batched_sweep_stores_the_streamed_rows_at_the_batch_price(tmp_path: Path) -> None:
    streamed_db, batched_db = tmp_path / "streamed.duckdb", tmp_path / "batched.duckdb"
    with FakeOpenAI(texts=lambda body, attempt, choice: default_text(body)) as server:
        # one request per path, like the batch's one line per path (same prompt billing)
        cfg = write_config(tmp_path / "streamed.toml", server.base_url, "native_n = false\n")
        done = sweep(tmp_path, SC, cfg, streamed_db)
    assert done.code == 0, done.text
    with FakeBatchAPI(polls_in_progress=2) as fake:
        done = sweep(tmp_path, SC, write_config(tmp_path / "batch.toml", fake.api_base),
                     batched_db, "--batch")
        assert (fake.submits, fake.lines_submitted) == (1, 12)
    assert done.code == 0, done.text
    assert "in_progress" in done.err and "completed 12/12 done" in done.err  # progress

    (s_paths, s_samples, s_runs), (b_paths, b_samples, b_runs) = (tables(streamed_db),
                                                                  tables(batched_db))
    assert b_paths.height == s_paths.height == 12
    assert b_paths.select(SAME).equals(s_paths.select(SAME))  # the same rows
    cols = ["sample_id", "item_index", "answer", "correct", "tokens_in", "tokens_out", "error"]
    assert b_samples.select(cols).equals(s_samples.select(cols))
    assert b_runs["run_id"].to_list() == s_runs["run_id"].to_list()
    assert b_runs["status"].to_list() == ["ok"] and b_samples["answer"].null_count() == 0
    assert set(b_paths["served_by"]) == {"batch"} and "batch" not in set(s_paths["served_by"])

    full = Price.per_million(0.15, 0.60)
    half = batch_price_of(MODEL, full)
    assert half is not None
    for b, s in zip(b_paths.iter_rows(named=True), s_paths.iter_rows(named=True), strict=True):
        assert s["cost_usd"] == pytest.approx(s["tokens_in"] * full.input_per_token
                                              + s["tokens_out"] * full.output_per_token)
        assert b["cost_usd"] == pytest.approx(b["tokens_in"] * half.input_per_token
                                              + b["tokens_out"] * half.output_per_token)
        assert b["cost_usd"] == pytest.approx(s["cost_usd"] / 2) and b["cost_usd"] > 0


@pytest.mark.slow
def test_sigkill_mid_batch_then_resume_reattaches_without_resubmitting(
        tmp_path: Path) -> None:
    db = tmp_path / "k.duckdb"
    with FakeBatchAPI(hold=True) as fake:
        cfg = write_config(tmp_path / "batch.toml", fake.api_base)
        (tmp_path / "s.toml").write_text(SC)
        env = {**os.environ, **FAST, "PYTHONPATH": str(REPO), "WORKBENCH_CONFIG": str(cfg),
               "LITELLM_LOCAL_MODEL_COST_MAP": "True", "COLUMNS": "200"}
        proc = subprocess.Popen([sys.executable, "-m", "workbench.cli.main", "sweep",
                                 str(tmp_path / "s.toml"), "--db", str(db), "--batch"],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 180
        while fake.polls < 3 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert fake.polls >= 3, proc.stderr.read().decode()[-2000:] if proc.stderr else ""
        os.kill(proc.pid, signal.SIGKILL)  # the batch is in flight at the provider
        assert proc.wait(30) == -signal.SIGKILL
        if proc.stderr is not None:
            proc.stderr.close()
        [bid] = list(fake.batches)

        fake.hold = False  # the provider finishes the batch while nobody watches
        done = sweep(tmp_path, SC, cfg, db, "--batch")
        assert done.code == 0, done.text
        assert fake.submits == 1 and fake.lines_submitted == 12  # re-attached, not re-sent
    paths, samples, runs = tables(db)
    assert paths.height == 12 and paths["error"].null_count() == 12
    assert set(paths["served_by"]) == {"batch"} and samples.height == 4
    assert runs["status"].to_list() == ["ok"]
    with Store.open(db, read_only=True) as store:
        batches = store.query("SELECT batch_id, n_requests FROM batches")
        history = store.query("SELECT status FROM run_status")["status"].to_list()
    assert batches.rows() == [(bid, 12)]  # the id the killed process stored
    assert "interrupted" in history  # the killed process was noticed, then resumed


def _first(k: int) -> Callable[[dict[str, Any]], bool]:
    """A ``fail_when`` that fails the first ``k`` lines the fake finishes."""
    seen = [0]

    def fail(body: dict[str, Any]) -> bool:
        seen[0] += 1
        return seen[0] <= k
    return fail


@pytest.mark.parametrize(("ending", "ok", "code", "status", "says"), [
    (dict(final_status="cancelled"), 0, 4, "failed", "was cancelled before this request ran"),
    (dict(final_status="expired", partial_done=4), 4, 3, "partial",
     "expired (the provider's 24 h window ended) before this request ran"),
    (dict(final_status="failed"), 0, 4, "failed", "failed: invalid_request: bad input file"),
    (dict(fail_lines=2), 4, 3, "partial", "request failed (HTTP 400): context length exceeded"),
], ids=["cancelled", "expired-partly-done", "failed", "completed-with-failed-lines"])
def test_a_batch_that_ends_badly_gives_clear_errors_status_and_exit_code(
        tmp_path: Path, ending: dict[str, Any], ok: int, code: int, status: str,
        says: str) -> None:
    fail_lines = ending.pop("fail_lines", 0)
    with FakeBatchAPI(polls_in_progress=1, **ending) as fake:
        fake.fail_when = _first(fail_lines) if fail_lines else None
        # batch = true in workbench.toml: no --batch flag needed
        cfg = write_config(tmp_path / "batch.toml", fake.api_base, "batch = true\n")
        done = sweep(tmp_path, COT, cfg, tmp_path / "b.duckdb")
        assert fake.submits == 1
    paths, samples, runs = tables(tmp_path / "b.duckdb")
    assert done.code == code, done.text
    assert samples.height == 6 and samples["error"].null_count() == ok
    errors = [e for e in samples["error"].to_list() if e]
    assert errors and all(says in e for e in errors), errors
    assert runs["status"].to_list() == [status]
    assert says in done.text and f"{6 - ok} of 6 sample(s) failed" in done.text

    again = sweep(tmp_path, COT, cfg, tmp_path / "b.duckdb")  # a re-run keeps the errors
    assert again.code == 0 and fake.submits == 1
    assert tables(tmp_path / "b.duckdb")[1]["error"].null_count() == ok
