"""Two runs side by side: paired outcomes, a paired interval, an exact McNemar test.

Two runs over the same items (other models, prompts, techniques or budgets) are paired
data: the question a researcher asks is not "is 62% different from 55%" with two
independent intervals, but "on the same items, how often does B fix what A got wrong, and
how often does it break what A got right". Only the discordant items carry that
information, so the test is McNemar's (exact, on the discordant pairs) and the interval for
the accuracy difference is Newcombe's hybrid score interval for paired proportions (method
10 of Newcombe 1998), which keeps its coverage at small n and near 0 or 1 where the Wald
interval does not.

Everything here is pure polars in, frames out; :func:`compare_store` is the one entry that
reads a store, and it does so through the store's own ``samples()`` / ``paths()`` queries.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from scipy import stats

from workbench.analysis.intervals import wilson_interval

OUTCOMES = ("both right", "only A", "only B", "both wrong")
"""Per-item outcome classes, in the order tables show them."""

DELTA_COLUMNS = ("tokens_in", "tokens_out", "cost_usd", "latency_ms")
"""Per-item costs whose paired differences :func:`compare` reports (B minus A)."""


@dataclass(frozen=True)
class Comparison:
    """The result of :func:`compare`; every frame is whole (no hidden rows)."""

    run_a: str
    run_b: str
    items: pl.DataFrame       # one row per paired item: both answers, both marks, outcome
    table: pl.DataFrame       # the 2x2 outcome counts
    summary: pl.DataFrame     # accuracies, paired difference + interval, McNemar p
    deltas: pl.DataFrame      # token / cost / latency per item, B - A, with intervals
    unpaired: dict[str, int]  # items only one run has (not compared)

    def disagreements(self) -> pl.DataFrame:
        """Items where exactly one run is right (the drill-down starts here)."""
        return self.items.filter(pl.col("outcome").is_in(["only A", "only B"]))


def latest_per_item(samples: pl.DataFrame) -> pl.DataFrame:
    """One row per item: the latest stored sample (a resumed or re-graded item wins)."""
    if samples.is_empty():
        return samples
    order = [c for c in ("created_at", "item_index") if c in samples.columns]
    return (samples.sort(order, nulls_last=False)
            .unique(subset=["item_id"], keep="last", maintain_order=True)
            .sort("item_index"))


def _marks(samples: pl.DataFrame, errors: str) -> pl.DataFrame:
    df = latest_per_item(samples)
    if errors == "drop":
        df = df.filter(pl.col("error").is_null())
    cols = ["item_id", "item_index", "answer", "correct", *[c for c in DELTA_COLUMNS
                                                             if c in df.columns]]
    return df.select(cols).with_columns(pl.col("correct").fill_null(False))


def newcombe_paired_interval(both: int, only_a: int, only_b: int, neither: int,
                             confidence: float = 0.95) -> tuple[float, float, float]:
    """Accuracy of B minus accuracy of A on paired items, with Newcombe's method-10 interval.

    Returns ``(difference, low, high)``. With no items the interval is the whole [-1, 1].
    """
    n = both + only_a + only_b + neither
    if n == 0:
        return (math.nan, -1.0, 1.0)
    p_b, p_a = (both + only_b) / n, (both + only_a) / n
    lo_b, hi_b = wilson_interval(both + only_b, n, confidence)
    lo_a, hi_a = wilson_interval(both + only_a, n, confidence)
    denom = (both + only_a) * (only_b + neither) * (both + only_b) * (only_a + neither)
    phi = (both * neither - only_a * only_b) / math.sqrt(denom) if denom > 0 else 0.0
    d = p_b - p_a
    low = d - math.sqrt(max(0.0, (p_b - lo_b) ** 2 - 2 * phi * (p_b - lo_b) * (hi_a - p_a)
                            + (hi_a - p_a) ** 2))
    high = d + math.sqrt(max(0.0, (hi_b - p_b) ** 2 - 2 * phi * (hi_b - p_b) * (p_a - lo_a)
                             + (p_a - lo_a) ** 2))
    return (d, max(-1.0, low), min(1.0, high))


def mcnemar_exact(only_a: int, only_b: int) -> float:
    """Two-sided exact McNemar p-value: a binomial test of the discordant pairs at 1/2."""
    n = only_a + only_b
    if n == 0:
        return 1.0
    return float(stats.binomtest(only_b, n, 0.5).pvalue)


def _paired_deltas(items: pl.DataFrame, confidence: float, resamples: int,
                   seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for col in DELTA_COLUMNS:
        a, b = f"{col}_a", f"{col}_b"
        if a not in items.columns or b not in items.columns:
            continue
        pair = items.select(pl.col(a).cast(pl.Float64), pl.col(b).cast(pl.Float64)).drop_nulls()
        if pair.is_empty():
            continue
        va, vb = pair[a].to_numpy(), pair[b].to_numpy()
        diff = vb - va
        means = diff[rng.integers(0, len(diff), (resamples, len(diff)))].mean(axis=1)
        tail = (1 - confidence) / 2
        rows.append({"metric": f"{col} per item", "mean_a": float(va.mean()),
                     "mean_b": float(vb.mean()), "delta_b_minus_a": float(diff.mean()),
                     "ci_low": float(np.quantile(means, tail)),
                     "ci_high": float(np.quantile(means, 1 - tail)), "n_items": len(diff)})
    return pl.DataFrame(rows) if rows else pl.DataFrame(
        schema={"metric": pl.Utf8, "mean_a": pl.Float64, "mean_b": pl.Float64,
                "delta_b_minus_a": pl.Float64, "ci_low": pl.Float64, "ci_high": pl.Float64,
                "n_items": pl.Int64})


def _outcome(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    return (pl.when(a & b).then(pl.lit("both right"))
            .when(a).then(pl.lit("only A"))
            .when(b).then(pl.lit("only B"))
            .otherwise(pl.lit("both wrong")))


def compare(samples_a: pl.DataFrame, samples_b: pl.DataFrame, *, run_a: str = "A",
            run_b: str = "B", confidence: float = 0.95, errors: str = "wrong",
            resamples: int = 2000, seed: int = 0) -> Comparison:
    """Compare two runs' scored samples item by item (matched on ``item_id``).

    ``errors="wrong"`` counts an errored sample as a wrong answer (what a user of the run
    would have got); ``errors="drop"`` leaves such items out of the pairing.
    """
    if errors not in ("wrong", "drop"):
        raise ValueError(f"errors must be 'wrong' or 'drop', not {errors!r}")
    a, b = _marks(samples_a, errors), _marks(samples_b, errors)
    items = a.join(b, on="item_id", suffix="_b", how="inner").rename(
        {c: f"{c}_a" for c in a.columns if c not in ("item_id",)})
    items = items.rename({"item_index_b": "item_index_b"}).with_columns(
        _outcome(pl.col("correct_a"), pl.col("correct_b")).alias("outcome")
    ).sort("item_index_a")
    counts = {o: int((items["outcome"] == o).sum()) for o in OUTCOMES}
    table = pl.DataFrame({"outcome": list(OUTCOMES), "items": [counts[o] for o in OUTCOMES]})
    both, only_a, only_b, neither = (counts[o] for o in OUTCOMES)
    d, lo, hi = newcombe_paired_interval(both, only_a, only_b, neither, confidence)
    n = items.height
    summary = pl.DataFrame([{
        "run_a": run_a, "run_b": run_b, "n_items": n,
        "accuracy_a": (both + only_a) / n if n else math.nan,
        "accuracy_b": (both + only_b) / n if n else math.nan,
        "delta_b_minus_a": d, "ci_low": lo, "ci_high": hi, "confidence": confidence,
        "discordant": only_a + only_b, "mcnemar_p": mcnemar_exact(only_a, only_b)}])
    unpaired = {"only_in_a": a.height - n, "only_in_b": b.height - n}
    return Comparison(run_a, run_b, items, table, summary,
                      _paired_deltas(items, confidence, resamples, seed), unpaired)


def diff_text(a: str, b: str, context: int = 2) -> list[str]:
    """A unified diff of two paths' texts, line by line (plain text; escape before HTML)."""
    return list(difflib.unified_diff((a or "").splitlines(), (b or "").splitlines(),
                                     "A", "B", n=context, lineterm=""))


def compare_store(store: Any, run_a: str, run_b: str, **kwargs: Any) -> Comparison:
    """:func:`compare` over two stored runs (read through the store's queries)."""
    from workbench.errors import WorkbenchError

    runs = store.runs([run_a, run_b])
    missing = sorted({run_a, run_b} - set(runs["run_id"].to_list())) if runs.height else [
        run_a, run_b]
    if missing:
        raise WorkbenchError(f"No such run: {', '.join(missing)}. List runs with "
                             "`workbench runs`.")
    return compare(store.samples(run_a), store.samples(run_b), run_a=run_a, run_b=run_b,
                   **kwargs)


def paired_paths(store: Any, comparison: Comparison, item_id: str) -> dict[str, pl.DataFrame]:
    """Both runs' stored paths for one item (for a side-by-side drill-down)."""
    out = {}
    for side, run in (("A", comparison.run_a), ("B", comparison.run_b)):
        samples = latest_per_item(store.samples(run, item_id=item_id))
        sample_ids = samples["sample_id"].to_list() if samples.height else []
        out[side] = store.paths(run, sample_ids) if sample_ids else pl.DataFrame()
    return out
