"""Compute accounting per run: tokens, cost, latency, FLOPs, energy and compute multiple.

Scaling claims are only as good as the x axis. A run's compute is measured per query
(item) from what was metered: the sample row's totals, or the sum of its paths where the
sample row has none. The compute multiple compares it with one direct pass on the same
items (a 'direct' run of the same task and model), or, where no such run exists, with one
of the run's own reasoning paths, so "8.2x" means the same thing across techniques.

Energy is an *estimate* (columns end in ``_est``): FLOPs divided by an assumed
hardware efficiency, ``DEFAULT_FLOPS_PER_JOULE`` unless you pass your own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import polars as pl

from workbench.analysis.frames import Frames, reasoning_paths, require
from workbench.analysis.intervals import item_mean_ci

DEFAULT_FLOPS_PER_JOULE = 2.5e9
"""Assumed effective efficiency: a 2-core x86 laptop/desktop CPU running llama.cpp (AVX2,
Q4 weights) at ~57 tok/s on a 0.5B model is ~5.7e10 FLOP/s for ~23 W attributable power.
A datacenter GPU at 40% of its dense bf16 peak is ~5e11 FLOP/J: pass that for API models."""

_METERED = ("tokens_in", "tokens_out", "tokens_reasoning", "cost_usd", "flops")
SCORER_ROLES = ("score", "verify", "critique")
"""Path roles that judge the policy's output (a step scorer or PRM, a verifier): their
tokens are compute too, counted in the totals and split out as ``tokens_scorer``."""


def per_item_usage(frames: Frames, model_params: Mapping[str, float] | None = None
                   ) -> pl.DataFrame:
    """One row per (run_id, sample_id): item_id, correct, latency_ms and metered usage.

    A sample column that is null or 0 falls back to the sum over the item's paths (every
    role: critiques and verifier calls cost too). Missing FLOPs are estimated as
    2 * params * (tokens_in + tokens_out) where ``model_params`` (run model -> parameter
    count) knows the model; ``compute_tokens`` = tokens_in + tokens_out.
    """
    s = frames.samples
    require(s, ("run_id", "sample_id", "correct"), "per_item_usage")
    s = s.with_columns([pl.col(c).cast(pl.Float64) if c in s.columns
                        else pl.lit(None, dtype=pl.Float64).alias(c)
                        for c in (*_METERED, "latency_ms")])
    if frames.paths.height and "tokens_out" in frames.paths.columns:
        p = frames.paths.with_columns([pl.col(c).cast(pl.Float64) if c in frames.paths.columns
                                       else pl.lit(None, dtype=pl.Float64).alias(c)
                                       for c in _METERED])
        sums = p.group_by("run_id", "sample_id").agg([  # all-null stays null (unknown)
            pl.when(pl.col(c).count() > 0).then(pl.col(c).sum()).alias(f"_p_{c}")
            for c in _METERED])
        s = s.join(sums, on=["run_id", "sample_id"], how="left").with_columns([
            pl.when(pl.col(c).is_null() | (pl.col(c) == 0)).then(pl.col(f"_p_{c}"))
            .otherwise(pl.col(c)).alias(c) for c in _METERED]).drop(
                [f"_p_{c}" for c in _METERED])
    s = s.with_columns(
        pl.col(list(_METERED[:4])).fill_null(0.0),
        compute_tokens=pl.col("tokens_in").fill_null(0) + pl.col("tokens_out").fill_null(0))
    if model_params and "model" in frames.runs.columns:
        params = pl.DataFrame({"model": list(model_params), "_params": list(
            model_params.values())}, schema={"model": pl.String, "_params": pl.Float64})
        s = (s.join(frames.runs.select("run_id", "model"), on="run_id", how="left")
             .join(params, on="model", how="left")
             .with_columns(pl.when(pl.col("flops").is_null() | (pl.col("flops") == 0))
                           .then(2.0 * pl.col("_params") * pl.col("compute_tokens"))
                           .otherwise(pl.col("flops")).alias("flops"))
             .drop("model", "_params"))
    if "item_id" not in s.columns:
        s = s.with_columns(pl.col("sample_id").alias("item_id"))
    return _split_scorer(s, frames.paths)


def _split_scorer(usage: pl.DataFrame, paths: pl.DataFrame) -> pl.DataFrame:
    """``tokens_scorer`` (prompt + generated tokens of scorer / verifier calls) and
    ``tokens_policy`` (the rest of ``compute_tokens``), so search and sampling can be put
    on one axis either way: total, policy only, or scorer only."""
    if paths.height and {"role", "tokens_in", "tokens_out"} <= set(paths.columns):
        judged = (paths.filter(pl.col("role").is_in(SCORER_ROLES))
                  .group_by("run_id", "sample_id")
                  .agg((pl.col("tokens_in").fill_null(0) + pl.col("tokens_out").fill_null(0))
                       .sum().cast(pl.Float64).alias("tokens_scorer")))
        usage = usage.join(judged, on=["run_id", "sample_id"], how="left")
    else:
        usage = usage.with_columns(tokens_scorer=pl.lit(None, dtype=pl.Float64))
    return usage.with_columns(pl.col("tokens_scorer").fill_null(0.0)).with_columns(
        tokens_policy=pl.col("compute_tokens") - pl.col("tokens_scorer"))


def _basis(usage: pl.DataFrame) -> str:
    """FLOPs where every item has them, else tokens (prompt + generated)."""
    f = usage["flops"]
    return "flops" if f.null_count() == 0 and bool((f > 0).all()) else "compute_tokens"


def _path_compute(frames: Frames, basis: str) -> dict[str, float]:
    """Mean compute of one reasoning path per run: the fallback single-pass unit."""
    p = frames.paths
    if not p.height or "tokens_out" not in p.columns:
        return {}
    p = reasoning_paths(p).with_columns(
        compute_tokens=pl.col("tokens_in").fill_null(0) + pl.col("tokens_out").fill_null(0))
    col = basis if basis in p.columns else "compute_tokens"
    agg = p.group_by("run_id").agg(pl.col(col).cast(pl.Float64).mean().alias("unit"))
    return dict(zip(agg["run_id"].to_list(), agg["unit"].to_list(), strict=True))


def _multiples(frames: Frames, usage: pl.DataFrame, basis: str) -> dict[str, tuple[float, str]]:
    """run_id -> (compute multiple, what it is relative to)."""
    runs = frames.runs
    direct = (runs.filter(pl.col("technique") == "direct")
              if {"technique", "task", "model"} <= set(runs.columns) else runs.clear())
    units = _path_compute(frames, basis)
    out: dict[str, tuple[float, str]] = {}
    for run in runs.iter_rows(named=True) if "run_id" in runs.columns else []:
        mine = usage.filter(pl.col("run_id") == run["run_id"])
        base = direct.filter((pl.col("task") == run.get("task"))
                             & (pl.col("model") == run.get("model")))
        if base.height:
            ref = usage.filter(pl.col("run_id").is_in(base["run_id"].implode()))
            shared = mine.join(ref.group_by("item_id").agg(pl.col(basis).mean().alias("_r")),
                               on="item_id")
            if shared.height and float(shared["_r"].mean() or 0) > 0:  # type: ignore[arg-type]
                out[run["run_id"]] = (float(shared[basis].mean()) / float(  # type: ignore[arg-type]
                    shared["_r"].mean()), "direct run")  # type: ignore[arg-type]
                continue
        unit = units.get(run["run_id"])
        if unit and mine.height:
            out[run["run_id"]] = (float(mine[basis].mean()) / unit, "one path")  # type: ignore[arg-type]
    return out


def compute_label(multiple: float | None) -> str:
    """'1x', '8.2x', '120x': the compute budget as a multiple of one pass."""
    if multiple is None or not np.isfinite(multiple):
        return "?"
    if abs(multiple - round(multiple)) < 0.05 or multiple >= 100:
        return f"{multiple:.0f}x"
    return f"{multiple:.1f}x"


def _accuracy_ci(usage: pl.DataFrame, b: int, seed: int, level: float) -> pl.DataFrame:
    rows = []
    for (run_id,), g in usage.group_by("run_id", maintain_order=True):
        v = g["correct"].cast(pl.Float64).fill_null(0.0).to_numpy()
        _, lo, hi = item_mean_ci(v, b=b, seed=seed, level=level)
        rows.append({"run_id": run_id, "accuracy_lo": float(lo[0]), "accuracy_hi": float(hi[0])})
    return pl.DataFrame(rows, schema={"run_id": pl.String, "accuracy_lo": pl.Float64,
                                      "accuracy_hi": pl.Float64})


def _wall(frames: Frames) -> pl.DataFrame:
    st = frames.run_status
    if not {"run_id", "wall_ms"} <= set(st.columns):
        return pl.DataFrame(schema={"run_id": pl.String, "wall_ms": pl.Float64})
    order = ["run_id", "at"] if "at" in st.columns else ["run_id"]
    return (st.sort(order).group_by("run_id").agg(pl.col("wall_ms").drop_nulls().last())
            .with_columns(pl.col("wall_ms").cast(pl.Float64)))


def _compute_notes(frames: Frames, usage: pl.DataFrame) -> pl.DataFrame:
    """Why a configuration costs what it costs: the share of items whose chain was cut
    and force-finished (an extra call that re-sends prompt and chain), the prompt tokens'
    share of the compute, and model calls per item. Budget forcing is why CoT@64 can show
    a larger multiple than CoT@512: most of its chains are cut and finished twice."""
    p = frames.paths
    forced = (p.filter(pl.col("role") == "forced_answer").group_by("run_id")
              .agg(pl.col("sample_id").n_unique().alias("_forced"))
              if {"role", "run_id", "sample_id"} <= set(p.columns) and p.height
              else pl.DataFrame(schema={"run_id": pl.String, "_forced": pl.UInt32}))
    agg = usage.group_by("run_id").agg(
        pl.len().alias("_items"), pl.col("tokens_in").sum().alias("_in"),
        pl.col("compute_tokens").sum().alias("_all"),
        (pl.col("n_calls").cast(pl.Float64).mean() if "n_calls" in usage.columns
         else pl.lit(None, dtype=pl.Float64)).alias("calls_per_item"))
    return (agg.join(forced, on="run_id", how="left").with_columns(
        forced_share=pl.col("_forced").fill_null(0).cast(pl.Float64) / pl.col("_items"),
        prompt_token_share=pl.when(pl.col("_all") > 0).then(pl.col("_in") / pl.col("_all")))
        .select("run_id", "forced_share", "prompt_token_share", "calls_per_item"))


def _latency_split(frames: Frames) -> pl.DataFrame:
    """Per run, the median path's time waiting for a free slot and time generating
    (latency minus queue), where paths record their queue time (schema 9): a p50 latency
    of minutes on a busy server is mostly queue, not model."""
    p = frames.paths
    schema = {"run_id": pl.String, "queue_ms_p50": pl.Float64, "generating_ms_p50": pl.Float64}
    if not {"queue_ms", "latency_ms", "run_id"} <= set(p.columns) or not p.height:
        return pl.DataFrame(schema=schema)
    timed = p.filter(pl.col("queue_ms").is_not_null())
    return timed.group_by("run_id").agg(
        pl.col("queue_ms").median().alias("queue_ms_p50"),
        (pl.col("latency_ms") - pl.col("queue_ms")).clip(lower_bound=0).median()
        .alias("generating_ms_p50")).cast(schema)  # type: ignore[arg-type]


def compute_note(row: Mapping[str, Any]) -> str:
    """'forced answers on 62% of items; prompt 71% of tokens; 1.6 calls/item'."""
    parts = []
    forced, prompt, calls = (row.get(k) for k in ("forced_share", "prompt_token_share",
                                                  "calls_per_item"))
    if forced:
        parts.append(f"forced answers on {100 * float(forced):.0f}% of items")
    if prompt is not None:
        parts.append(f"prompt {100 * float(prompt):.0f}% of tokens")
    if calls:
        parts.append(f"{float(calls):.1f} calls/item")
    return "; ".join(parts)


def run_summary(frames: Frames, *, model_params: Mapping[str, float] | None = None,
                flops_per_joule: float = DEFAULT_FLOPS_PER_JOULE, b: int = 1000,
                seed: int = 0, level: float = 0.95) -> pl.DataFrame:
    """One row per run: configuration, accuracy with CI, and compute accounting.

    The accuracy interval is the Agresti-Coull interval over items
    (:mod:`workbench.analysis.intervals`), which does not collapse when every item scores 1.

    Per-query (item) means: tokens_in, tokens_out, tokens_reasoning, cost_usd, flops,
    tokens_per_item (prompt + generated, every call), split into tokens_policy and
    tokens_scorer (step scorers, PRM calls, verifiers: roles :data:`SCORER_ROLES`),
    energy_j_est (= flops / ``flops_per_joule``), latency_ms_mean / _p50 / _p95. Totals:
    cost_usd_total, tokens_total, wall_ms (from run_status). compute_multiple is per-query
    compute (``compute_basis``: flops, else prompt+generated tokens) over one direct pass
    on the same items (``compute_ref`` says which reference was used); compute_label
    formats it ("8.2x"). This frame is the "configs" input of the decision functions.
    """
    usage = per_item_usage(frames, model_params)
    basis = _basis(usage)
    mult = _multiples(frames, usage, basis)
    agg = usage.group_by("run_id", maintain_order=True).agg(
        pl.len().alias("n_items"),
        pl.col("correct").cast(pl.Float64).fill_null(0.0).mean().alias("accuracy"),
        *[pl.col(c).mean() for c in ("tokens_in", "tokens_out", "tokens_reasoning",
                                     "cost_usd", "flops")],
        pl.col("cost_usd").sum().alias("cost_usd_total"),
        pl.col("compute_tokens").sum().alias("tokens_total"),
        pl.col("compute_tokens").mean().alias("tokens_per_item"),
        pl.col("tokens_policy").mean(), pl.col("tokens_scorer").mean(),
        pl.col("latency_ms").mean().alias("latency_ms_mean"),
        pl.col("latency_ms").median().alias("latency_ms_p50"),
        pl.col("latency_ms").quantile(0.95, interpolation="linear").alias("latency_ms_p95"),
    )
    mult_df = pl.DataFrame({"run_id": list(mult), "compute_multiple": [m[0] for m in
                            mult.values()], "compute_ref": [m[1] for m in mult.values()]},
                           schema={"run_id": pl.String, "compute_multiple": pl.Float64,
                                   "compute_ref": pl.String})
    keep = [c for c in ("run_id", "technique", "model", "task", "budget_tokens", "n_samples",
                        "rounds", "verifier", "sweep_id") if c in frames.runs.columns]
    out = (agg.join(_accuracy_ci(usage, b, seed, level), on="run_id", how="left")
           .join(_wall(frames), on="run_id", how="left")
           .join(mult_df, on="run_id", how="left")
           .join(_compute_notes(frames, usage), on="run_id", how="left")
           .join(_latency_split(frames), on="run_id", how="left")
           .with_columns(energy_j_est=pl.col("flops") / flops_per_joule,
                         compute_basis=pl.lit(basis)))
    if keep:
        out = frames.runs.select(keep).unique("run_id", keep="last").join(
            out, on="run_id", how="right")
        out = out.select("run_id", pl.exclude("run_id"))
    return out.with_columns(compute_label=pl.col("compute_multiple").map_elements(
        compute_label, return_dtype=pl.String))


def curve_configs(curve_frame: pl.DataFrame, summary: pl.DataFrame) -> pl.DataFrame:
    """Virtual SC@k configurations from a run's maj@k curve, for Pareto plots and decisions.

    Each k becomes a row (technique "<technique>@k replayed") whose per-query cost,
    tokens and compute multiple are k times those of one path of the run (total / N), and
    whose accuracy is maj@k with its CI. Latency is left null: it depends on parallelism.
    """
    require(curve_frame, ("run_id", "k", "maj", "maj_lo", "maj_hi"), "curve_configs")
    s = summary.with_columns(_n=pl.col("n_samples").cast(pl.Float64).fill_null(1.0)
                             if "n_samples" in summary.columns else pl.lit(1.0))
    per_path = [pl.col(c) / pl.col("_n") for c in ("cost_usd", "tokens_in", "tokens_out",
                                                   "compute_multiple") if c in s.columns]
    cols = [c for c in ("run_id", "technique", "model", "task") if c in s.columns]
    s = s.select(*cols, *per_path)
    out = curve_frame.join(s, on="run_id", how="inner").with_columns(
        [pl.col(c) * pl.col("k") for c in ("cost_usd", "tokens_in", "tokens_out",
                                           "compute_multiple") if c in s.columns])
    if "technique" in out.columns:
        out = out.with_columns(technique=pl.col("technique") + pl.lit("@k replayed"))
    return out.rename({"maj": "accuracy", "maj_lo": "accuracy_lo", "maj_hi": "accuracy_hi"}
                      ).with_columns(latency_ms_mean=pl.lit(None, dtype=pl.Float64),
                                     compute_label=pl.col("compute_multiple").map_elements(
                                         compute_label, return_dtype=pl.String)
                                     if "compute_multiple" in out.columns else pl.lit("?"))
