"""Breaking results down by item difficulty.

Inference compute helps unevenly: voting lifts mid-difficulty items, while items the
model never solves stay unsolved at any k. Difficulty comes from the task's own metadata
(``meta`` JSON: difficulty, level, digits, ...) where it exists, else from the model
itself: the share of an item's paths that agree with its most common answer (label-free,
so it can be used to route compute). Estimating it from the same paths you then score
is circular; pass ``reference`` paths from a different run to avoid that.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from workbench.analysis.curves import RunCurves
from workbench.analysis.frames import item_tallies, require
from workbench.analysis.intervals import item_mean_ci

META_KEYS = ("difficulty", "level", "digits", "n_digits", "hops", "steps")
"""Metadata fields tried in order for a task-given difficulty."""

BUCKET_NAMES = ("hard", "medium", "easy")


def meta_difficulty(samples: pl.DataFrame, key: str | None = None) -> pl.DataFrame:
    """run_id, sample_id, item_id, difficulty (string) from ``meta`` JSON; empty if none.

    ``key`` picks the metadata field; by default the first of ``META_KEYS`` present.
    """
    require(samples, ("run_id", "sample_id"), "meta_difficulty")
    if "meta" not in samples.columns:
        return pl.DataFrame(schema={"run_id": pl.String, "sample_id": pl.String,
                                    "item_id": pl.String, "difficulty": pl.String})
    meta = samples["meta"].cast(pl.String)
    for k in ([key] if key else list(META_KEYS)):
        vals = meta.str.json_path_match(f"$.{k}")
        if vals.null_count() < len(vals):
            item = samples["item_id"] if "item_id" in samples.columns else samples["sample_id"]
            return pl.DataFrame({"run_id": samples["run_id"], "sample_id": samples["sample_id"],
                                 "item_id": item, "difficulty": vals}).drop_nulls("difficulty")
    return pl.DataFrame(schema={"run_id": pl.String, "sample_id": pl.String,
                                "item_id": pl.String, "difficulty": pl.String})


def agreement_difficulty(paths: pl.DataFrame, n_buckets: int = 3) -> pl.DataFrame:
    """run_id, sample_id, agreement, difficulty: model-estimated from path agreement.

    agreement = votes for the top answer / paths (abstentions count as disagreeing).
    Items are cut into ``n_buckets`` equal-count buckets per run, low agreement = hard.
    """
    t = item_tallies(paths).with_columns(
        agreement=pl.col("counts").list.max().fill_null(0).cast(pl.Float64)
        / pl.col("n_paths"))
    names = list(BUCKET_NAMES) if n_buckets == 3 else [f"q{i + 1}" for i in range(n_buckets)]
    out = []
    for (_run,), g in t.group_by("run_id", maintain_order=True):
        ranks = g["agreement"].rank("ordinal").to_numpy() - 1
        bucket = np.minimum((ranks * n_buckets) // max(len(ranks), 1), n_buckets - 1)
        out.append(g.select("run_id", "sample_id", "agreement").with_columns(
            difficulty=pl.Series([names[int(b_)] for b_ in bucket], dtype=pl.String)))
    return pl.concat(out) if out else pl.DataFrame()


def accuracy_by_difficulty(samples: pl.DataFrame, difficulty: pl.DataFrame, *, b: int = 1000,
                           seed: int = 0, level: float = 0.95) -> pl.DataFrame:
    """run_id, difficulty, n_items, accuracy, accuracy_lo, accuracy_hi.

    ``difficulty`` joins on sample_id (and run_id where both have it), or on item_id when
    it comes from a reference run.
    """
    require(samples, ("run_id", "sample_id", "correct"), "accuracy_by_difficulty")
    keys = _join_keys(samples, difficulty)
    d = difficulty.select([*keys, "difficulty"]).unique(subset=keys)
    joined = samples.join(d, on=keys, how="inner")
    rows = []
    for (run_id, diff), g in joined.group_by("run_id", "difficulty", maintain_order=True):
        m, lo, hi = item_mean_ci(g["correct"].cast(pl.Float64).fill_null(0).to_numpy(),
                                      b=b, seed=seed, level=level)
        rows.append({"run_id": run_id, "difficulty": diff, "n_items": g.height,
                     "accuracy": float(m[0]), "accuracy_lo": float(lo[0]),
                     "accuracy_hi": float(hi[0])})
    return pl.DataFrame(rows).sort("run_id", "difficulty") if rows else pl.DataFrame()


def _join_keys(left: pl.DataFrame, right: pl.DataFrame) -> list[str]:
    if "sample_id" in right.columns and "sample_id" in left.columns:
        return [c for c in ("run_id", "sample_id") if c in right.columns]
    require(right, ("item_id",), "difficulty frame")
    return ["item_id"]


def curves_by_difficulty(rcs: Sequence[RunCurves], difficulty: pl.DataFrame, *,
                         b: int = 1000, seed: int = 0, level: float = 0.95) -> pl.DataFrame:
    """maj@k / pass@k curves per run and difficulty bucket (``difficulty`` by sample_id)."""
    require(difficulty, ("sample_id", "difficulty"), "curves_by_difficulty")
    lookup = dict(zip(difficulty["sample_id"].to_list(), difficulty["difficulty"].to_list(),
                      strict=True))
    frames = []
    for rc in rcs:
        labels = np.asarray([lookup.get(s) for s in rc.sample_ids], dtype=object)
        for diff in sorted({x for x in labels if x is not None}):
            rows = labels == diff
            mean, lo, hi = item_mean_ci(np.hstack([rc.maj[rows], rc.pass_[rows]]),
                                             b=b, seed=seed, level=level)
            n_k = len(rc.ks)
            frames.append(pl.DataFrame({
                "run_id": rc.run_id, "difficulty": diff, "k": rc.ks,
                "n_items": int(rows.sum()), "maj": mean[:n_k], "maj_lo": lo[:n_k],
                "maj_hi": hi[:n_k], "pass": mean[n_k:], "pass_lo": lo[n_k:],
                "pass_hi": hi[n_k:]}))
    return pl.concat(frames) if frames else pl.DataFrame()
