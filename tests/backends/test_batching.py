"""Batch APIs against a fake /v1/files + /v1/batches server: submit, in-progress polling,
partial failure, expired, and resume without resubmission."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes.fake_batch import FakeBatchAPI

from workbench.backends.batching import BatchSettings, with_batches
from workbench.backends.litellm_adapter import LiteLLMBackend
from workbench.backends.model_config import ModelConfig
from workbench.backends.pricing import Price, batch_price_of, price_of
from workbench.store.batches import batch_table
from workbench.store.store import Store
from workbench.sweep import load_sweep, run_sweep

SWEEP = """
name = "b"
models = ["gpt"]
tasks = ["arithmetic"]
limit = 6
[[techniques]]
technique = "sc"
n = 3
budget = 64
"""
FAST = BatchSettings(idle_s=0.05, poll_s=0.02)


PRICE = Price.per_million(0.15, 0.60)  # set in the config: loopback would be free


def backend(fake: FakeBatchAPI, store: Store, price: Price | None = PRICE):
    cfg = ModelConfig(litellm_model="openai/gpt-4o-mini", api_base=fake.api_base,
                      api_key_env="FAKE_KEY", price=price)
    inner = LiteLLMBackend({"gpt": cfg})
    return with_batches(inner, store, ["gpt"], all_models=True, settings=FAST,
                        progress=lambda *_: None)


async def sweep_into(tmp_path: Path, fake: FakeBatchAPI, db: Path,
                     price: Price | None = PRICE) -> None:
    (tmp_path / "s.toml").write_text(SWEEP)
    sweep = load_sweep(tmp_path / "s.toml")
    with Store.open(db) as store:
        await run_sweep(sweep, store, backend(fake, store, price), reuse_paths=True)


async def test_one_batch_ingested_like_streamed_paths(tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_KEY", "k")
    with FakeBatchAPI(polls_in_progress=3) as fake:
        await sweep_into(tmp_path, fake, tmp_path / "t.duckdb")
        assert fake.submits == 1 and fake.lines_submitted == 18 and fake.polls >= 4
    with Store.open(tmp_path / "t.duckdb", read_only=True) as store:
        paths = store.paths()
        assert paths.height == 18 and set(paths["served_by"]) == {"batch"}
        assert paths["error"].null_count() == 18
        assert store.samples()["answer"].null_count() == 0  # graded like streamed paths
        table = batch_table(store)
        assert table.height == 1 and table["status"][0] == "completed"
        assert store.query("select count(*) n from batch_requests")["n"][0] == 18
        p = batch_price_of("openai/gpt-4o-mini", PRICE)  # half the configured price
        assert p == Price(PRICE.input_per_token / 2, PRICE.output_per_token / 2)
        row = paths.row(0, named=True)
        assert row["cost_usd"] > 0 and row["cost_usd"] == pytest.approx(
            row["tokens_in"] * p.input_per_token + row["tokens_out"] * p.output_per_token)
    table_rate = batch_price_of("openai/gpt-4o-mini")  # litellm's table has batch prices
    assert table_rate is not None and table_rate.input_per_token == pytest.approx(
        price_of("openai/gpt-4o-mini").input_per_token / 2)


async def test_a_self_hosted_batch_server_is_free_like_its_streamed_paths(
        tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_KEY", "k")  # openai/ on loopback, no price: a vLLM batch server
    with FakeBatchAPI(polls_in_progress=0) as fake:
        await sweep_into(tmp_path, fake, tmp_path / "f.duckdb", price=None)
    with Store.open(tmp_path / "f.duckdb", read_only=True) as store:
        paths = store.paths()
    assert paths.height == 18 and paths["cost_usd"].sum() == 0.0
    assert paths["error"].null_count() == 18


async def test_partial_failure_and_expiry_are_clear_errors(tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_KEY", "k")
    failing = lambda body: "3 + 3" in str(body) or "What is 3+3" in str(body)  # noqa: E731
    with FakeBatchAPI(final_status="expired", partial_done=12, polls_in_progress=1) as fake:
        fake.fail_when = lambda body: body.get("seed", 0) % 5 == 0 or failing(body)
        await sweep_into(tmp_path, fake, tmp_path / "e.duckdb")
    with Store.open(tmp_path / "e.duckdb", read_only=True) as store:
        paths = store.paths()
        assert paths.height == 18
        errors = [e for e in paths["error"].to_list() if e]
        assert any("expired" in e and "re-run" in e for e in errors)
        assert sum(e is None for e in paths["error"].to_list()) <= 12


async def test_resume_reattaches_without_resubmitting(tmp_path, monkeypatch):
    import asyncio

    monkeypatch.setenv("FAKE_KEY", "k")
    db = tmp_path / "r.duckdb"
    with FakeBatchAPI(hold=True) as fake:
        job = asyncio.ensure_future(sweep_into(tmp_path, fake, db))
        while fake.polls < 3:
            await asyncio.sleep(0.02)
        job.cancel()  # the process "dies" while the batch is in flight
        with pytest.raises(asyncio.CancelledError):
            await job
        fake.hold = False
        await sweep_into(tmp_path, fake, db)
        assert fake.submits == 1
    with Store.open(db, read_only=True) as store:
        ok = store.query("select count(*) n from paths where error is null")["n"][0]
        assert ok == 18 and store.samples().height == 6
