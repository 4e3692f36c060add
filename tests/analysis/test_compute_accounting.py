"""Per-run compute accounting: tokens, cost, latency, energy estimate, compute multiple."""

from __future__ import annotations

import polars as pl
import pytest

from workbench.analysis import (
    DEFAULT_FLOPS_PER_JOULE,
    Frames,
    compute_label,
    curve_configs,
    curves,
    run_summary,
)


def test_run_summary_accounts_from_paths_when_samples_lack_usage(frames: Frames) -> None:
    s = run_summary(frames, b=200)
    assert s.height == 4 and s["n_items"].to_list() == [40] * 4
    sc = s.filter(pl.col("run_id") == "r-sc").row(0, named=True)
    assert sc["tokens_out"] == pytest.approx(16 * 150)  # summed from its 16 paths
    assert sc["tokens_in"] == pytest.approx(16 * 50)
    assert sc["cost_usd"] == pytest.approx(16 * 150e-6)
    assert sc["wall_ms"] == pytest.approx(16000.0)
    assert sc["accuracy_lo"] <= sc["accuracy"] <= sc["accuracy_hi"]
    lat = frames.samples.filter(pl.col("run_id") == "r-sc")["latency_ms"]
    assert sc["latency_ms_p50"] == pytest.approx(lat.median())
    assert sc["latency_ms_mean"] <= sc["latency_ms_p95"] <= lat.max()


def test_compute_multiple_is_relative_to_the_direct_run(frames: Frames) -> None:
    s = run_summary(frames, b=50)
    row = {r["run_id"]: r for r in s.iter_rows(named=True)}
    direct_tokens = 50 + 5
    assert row["r-direct"]["compute_multiple"] == pytest.approx(1.0)
    assert row["r-sc"]["compute_multiple"] == pytest.approx(16 * 200 / direct_tokens)
    assert row["r-sc"]["compute_ref"] == "direct run"
    assert row["r-sc"]["compute_label"] == "58.2x"
    assert row["r-cot"]["compute_label"] == "3.6x"


def test_without_a_direct_run_one_path_is_the_unit(frames: Frames) -> None:
    no_direct = Frames(runs=frames.runs.filter(pl.col("technique") != "direct"),
                       samples=frames.samples, paths=frames.paths)
    s = run_summary(no_direct, b=50).filter(pl.col("run_id") == "r-sc").row(0, named=True)
    assert s["compute_multiple"] == pytest.approx(16.0) and s["compute_ref"] == "one path"
    assert s["compute_label"] == "16x"


def test_flops_and_energy_estimates(frames: Frames) -> None:
    s = run_summary(frames, model_params={"local": 0.5e9}, b=50)
    sc = s.filter(pl.col("run_id") == "r-sc").row(0, named=True)
    assert sc["flops"] == pytest.approx(2 * 0.5e9 * 16 * 200)
    assert sc["energy_j_est"] == pytest.approx(sc["flops"] / DEFAULT_FLOPS_PER_JOULE)
    assert sc["compute_basis"] == "flops"
    assert sc["compute_multiple"] == pytest.approx(16 * 200 / 55)
    assert run_summary(frames, b=50)["energy_j_est"].null_count() == 4  # no FLOPs, no guess


def test_compute_label() -> None:
    assert [compute_label(v) for v in (1.0, 8.23, 16.01, 120.4, None)] == [
        "1x", "8.2x", "16x", "120x", "?"]


def test_curve_configs_scale_one_path_by_k(frames: Frames) -> None:
    s = run_summary(frames, b=50)
    cc = curve_configs(curves(frames.paths, b=50), s).filter(pl.col("run_id") == "r-sc")
    assert cc.height == 16 and cc["technique"][0] == "sc@k replayed"
    k8 = cc.filter(pl.col("k") == 8).row(0, named=True)
    assert k8["cost_usd"] == pytest.approx(8 * 150e-6)
    assert k8["compute_multiple"] == pytest.approx(8 * 200 / 55)
    assert k8["compute_label"] == "29.1x"


def test_latency_splits_into_queue_and_generating_time() -> None:
    """Paths that record their queue time (schema 9) give the median path's wait for a
    slot and its generating time apart; older files (no column) give neither."""
    from workbench.analysis import Frames, run_summary

    runs = pl.DataFrame({"run_id": ["r"], "technique": ["cot"], "model": ["m"],
                         "task": ["t"]})
    samples = pl.DataFrame({"run_id": ["r", "r"], "sample_id": ["a", "b"],
                            "item_id": ["a", "b"], "correct": [True, False],
                            "tokens_in": [10, 10], "tokens_out": [5, 5],
                            "latency_ms": [300.0, 500.0]})
    paths = pl.DataFrame({"run_id": ["r", "r"], "sample_id": ["a", "b"],
                          "path_id": ["a1", "b1"], "role": ["path", "path"], "answer": ["4", "5"],
                          "tokens_in": [10, 10], "tokens_out": [5, 5],
                          "latency_ms": [300.0, 500.0], "queue_ms": [200.0, 400.0]})
    s = run_summary(Frames(runs=runs, samples=samples, paths=paths), b=20)
    assert s["queue_ms_p50"][0] == 300.0 and s["generating_ms_p50"][0] == 100.0
    old = run_summary(Frames(runs=runs, samples=samples, paths=paths.drop("queue_ms")), b=20)
    assert old["queue_ms_p50"][0] is None
