"""The seed table, litellm-priced table and markdown rendering."""

from __future__ import annotations

import polars as pl
import pytest

from workbench.analysis import Frames, price_table, run_summary, seed_table, to_markdown
from workbench.backends.pricing import prices_for

PRICES = {"gpt-4o-mini": {"litellm_provider": "openai", "input_cost_per_token": 1.5e-7,
                          "output_cost_per_token": 6e-7}}


def test_seed_table_rows_and_formats(frames: Frames) -> None:
    t = seed_table(run_summary(frames, b=100))
    assert t.columns == ["task", "technique", "budget", "model", "n", "compute",
                         "compute_note", "accuracy", "cost_usd_per_query", "tokens_per_query",
                         "latency_ms_p50"]  # n and why-this-compute: issue 11.7
    assert (t["n"] == frames.samples.group_by("run_id").len()["len"].max()).all()
    assert t["compute_note"].str.contains("prompt").all()
    assert t["technique"].to_list() == ["direct", "cot", "refine", "sc"]  # by compute
    assert t["compute"].to_list()[0] == "1x"
    assert t["accuracy"].str.contains(r"^\d+\.\d% \[\d+\.\d, \d+\.\d\]$").all()
    assert t.filter(pl.col("technique") == "sc")["tokens_per_query"][0] == 16 * 200
    assert t.filter(pl.col("technique") == "sc")["budget"][0].startswith("16 x ")


def test_price_table_reprices_usage_per_model() -> None:
    usage = pl.DataFrame({"technique": ["direct", "sc"], "tokens_in": [50.0, 800.0],
                          "tokens_out": [5.0, 2400.0]})
    models = ["gpt-4o-mini", "openai/gpt-4o-mini", "no-such-model"]
    t = price_table(models, usage, prices=prices_for(models, PRICES))
    known = t.filter(pl.col("model") == "openai/gpt-4o-mini").sort("technique")
    assert known["provider"].to_list() == ["openai", "openai"]
    assert known["input_usd_per_mtok"][0] == pytest.approx(0.15)
    sc_cost = (800 * 1.5e-7 + 2400 * 6e-7)
    assert known["cost_usd_per_query"][1] == pytest.approx(sc_cost)
    assert known["cost_multiple"][1] == pytest.approx(sc_cost / (50 * 1.5e-7 + 5 * 6e-7))
    unknown = t.filter(pl.col("model") == "no-such-model")
    assert not unknown["known"].any() and unknown["cost_usd_per_query"].null_count() == 2


def test_price_table_reads_litellm_offline() -> None:
    # the real bundled map, read as a file by the one price lookup (no litellm import)
    t = price_table(["gpt-4o-mini"], prices=prices_for(["gpt-4o-mini"]))
    assert t["known"][0] and t["output_usd_per_mtok"][0] > t["input_usd_per_mtok"][0] > 0


def test_to_markdown() -> None:
    md = to_markdown(pl.DataFrame({"a": [1.23456, None], "b": ["x|y", "z"]}))
    assert md.splitlines() == ["| a | b |", "|---|---|", "| 1.235 | x\\|y |", "|  | z |"]
