"""Difficulty from task metadata and from path agreement, and breakdowns by it."""

from __future__ import annotations

import polars as pl

from workbench.analysis import (
    Frames,
    accuracy_by_difficulty,
    agreement_difficulty,
    curves_by_difficulty,
    meta_difficulty,
    run_curves,
)


def test_meta_difficulty_and_accuracy_breakdown(frames: Frames) -> None:
    d = meta_difficulty(frames.samples)
    assert d.height == frames.samples.height and set(d["difficulty"]) == {"1", "2", "3"}
    acc = accuracy_by_difficulty(frames.samples.filter(pl.col("run_id") == "r-sc"), d, b=200)
    by = {r["difficulty"]: r["accuracy"] for r in acc.iter_rows(named=True)}
    assert by["1"] > by["2"] > by["3"]  # level 3 items have the lowest skill
    assert acc["n_items"].sum() == 40


def test_reference_difficulty_joins_on_item_id(frames: Frames) -> None:
    ref = agreement_difficulty(frames.paths.filter(pl.col("run_id") == "r-sc"))
    ids = frames.samples.filter(pl.col("run_id") == "r-sc").select("sample_id", "item_id")
    ref_items = ref.join(ids, on="sample_id").select("item_id", "difficulty")
    acc = accuracy_by_difficulty(frames.samples.filter(pl.col("run_id") == "r-cot"),
                                 ref_items, b=100)
    assert set(acc["difficulty"]) == {"easy", "medium", "hard"}
    assert acc["n_items"].sum() == 40


def test_agreement_buckets_are_balanced_and_ordered(frames: Frames) -> None:
    d = agreement_difficulty(frames.paths.filter(pl.col("run_id") == "r-sc"))
    counts = d.group_by("difficulty").len()
    assert sorted(counts["len"].to_list()) == [13, 13, 14]
    mean = d.group_by("difficulty").agg(pl.col("agreement").mean())
    m = dict(zip(mean["difficulty"], mean["agreement"], strict=True))
    assert m["hard"] < m["medium"] < m["easy"]


def test_curves_by_difficulty(frames: Frames) -> None:
    sc = frames.paths.filter(pl.col("run_id") == "r-sc")
    d = agreement_difficulty(sc)
    c = curves_by_difficulty(run_curves(sc), d, b=100)
    assert set(c["difficulty"]) == {"easy", "medium", "hard"} and c.height == 3 * 16
    k16 = {r["difficulty"]: r["maj"] for r in c.filter(pl.col("k") == 16).iter_rows(named=True)}
    assert k16["easy"] >= k16["hard"]
