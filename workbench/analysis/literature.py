"""The seed article's claims and the literature, next to what a user's own runs measured.

Pure: takes :func:`workbench.analysis.run_summary` output. The seed's numbers are for MATH
with a large model; a small local model on other tasks will differ, and the point of the
table is to say where it agrees and where it does not, not to match digits.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from workbench.analysis.fits import fit_power_law
from workbench.techniques.registry import find

SEED_CLAIMS: list[tuple[str, str, float | None]] = [
    ("single pass (direct)", "direct", 0.423),
    ("CoT 256 tokens", "cot@256", 0.541),
    ("CoT 1024 tokens", "cot@1024", 0.627),
    ("CoT 4096 tokens", "cot@4096", 0.684),
    ("CoT + SC 10 samples", "sc@10", 0.742),
    ("CoT + SC 50 samples", "sc@50", 0.798),
    ("CoT + 3 refinement rounds", "refine@3", 0.715),
]
SEED_ALPHA = (0.15, 0.35)


KNOB_COLUMNS = {"budget": "budget_tokens", "n": "n_samples", "rounds": "rounds"}
"""Which summary column holds each compute knob's value."""


def config_label(row: dict[str, object]) -> str:
    """``technique@value`` of the knob that sets its compute (registry), else the name."""
    t = str(row["technique"])
    info = find(t)
    column = KNOB_COLUMNS.get(info.compute_knob or "") if info else None
    return f"{t}@{row[column]}" if column else t


def run_labels(summary: pl.DataFrame) -> dict[str, str]:
    """run id -> a legend label a reader understands: "sc@16 · arithmetic" (the model
    too where the summary holds several), instead of a sweep's run id."""
    if "run_id" not in summary.columns or "technique" not in summary.columns:
        return {}
    models = summary["model"].n_unique() if "model" in summary.columns else 1
    out = {}
    for r in summary.iter_rows(named=True):
        parts = [config_label(r), *([str(r["task"])] if "task" in r else []),
                 *([str(r["model"])] if models > 1 else [])]
        out[str(r["run_id"])] = " · ".join(parts)
    return out


def alpha_by_task(summary: pl.DataFrame, *, exclude: tuple[str, ...] = ("direct",)
                  ) -> pl.DataFrame:
    """Accuracy ∝ C^α across a task's configurations (x = compute multiple of one pass),
    with the analytic 95% interval; the seed claims α between 0.15 and 0.35, and
    ``seed_verdict`` says what the interval supports (:func:`seed_range_verdict`).

    Configurations scoring 0 cannot enter a power law: they are left out of the fit and
    reported in ``n_excluded`` / ``warning`` (see :func:`fit_power_law`), never dropped
    silently. Tasks with fewer than 3 configurations above 0 get no row."""
    rows = []
    for (task,), g in summary.group_by("task", maintain_order=True):
        g = g.filter(~pl.col("technique").is_in(exclude)
                     & pl.col("compute_multiple").is_not_null())
        if int((g["accuracy"] > 0).sum()) < 3:
            continue
        fit = fit_power_law(g["compute_multiple"].to_numpy(), g["accuracy"].to_numpy())
        rows.append({"task": task, "configs": g.height - fit.n_excluded,
                     "n_excluded": fit.n_excluded, "warning": "; ".join(fit.warnings) or None,
                     "alpha": fit.slope,
                     "alpha_lo": fit.slope_lo, "alpha_hi": fit.slope_hi, "r2": fit.r2,
                     "seed_alpha": f"{SEED_ALPHA[0]}–{SEED_ALPHA[1]}",
                     **seed_range_verdict(fit.slope_lo, fit.slope_hi)})
    return pl.DataFrame(rows, schema_overrides={"in_seed_range": pl.Boolean})


def seed_range_verdict(lo: float, hi: float) -> dict[str, object]:
    """What the interval of α supports: ``in the seed's range`` only when the whole 95%
    interval lies inside it, ``outside`` when none of it does, else ``inconclusive``
    (``in_seed_range`` None): a point estimate inside the range with an interval of
    [-0.24, 0.76] is no evidence either way."""
    s_lo, s_hi = SEED_ALPHA
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return {"seed_verdict": "inconclusive", "in_seed_range": None}
    if s_lo <= lo and hi <= s_hi:
        return {"seed_verdict": "in the seed's range", "in_seed_range": True}
    if hi < s_lo or lo > s_hi:
        return {"seed_verdict": "outside the seed's range", "in_seed_range": False}
    return {"seed_verdict": "inconclusive", "in_seed_range": None}


def compare_to_seed(summary: pl.DataFrame) -> pl.DataFrame:
    """One row per seed claim: the seed's MATH accuracy and, per task, what the matching
    configuration of these runs measured (empty where no run matches)."""
    measured = {(str(r["task"]), config_label(r)): r for r in summary.iter_rows(named=True)}
    tasks = summary["task"].unique(maintain_order=True).to_list()
    rows = []
    for claim, label, seed_acc in SEED_CLAIMS:
        row: dict[str, object] = {"configuration": claim, "seed_math_accuracy": seed_acc}
        for task in tasks:
            m = measured.get((task, label))
            row[f"{task}_accuracy"] = None if m is None else m["accuracy"]
            row[f"{task}_compute"] = None if m is None else m["compute_label"]
        rows.append(row)
    return pl.DataFrame(rows)


def sc_gain(summary: pl.DataFrame) -> pl.DataFrame:
    """Self-consistency's gain over greedy CoT at the same token budget, per task (and per
    model where the summary has one); ``cot_accuracy`` is the baseline the gain is taken
    from (the mean when several CoT runs match).
    (Wang et al. 2022: +17.9 points on GSM8K with 40 paths for PaLM-540B)."""
    keys = ["task", "model"] if "model" in summary.columns else ["task"]
    out = []
    for group, g in summary.group_by(keys, maintain_order=True):
        for r in g.filter(pl.col("technique") == "sc").iter_rows(named=True):
            base = g.filter((pl.col("technique") == "cot")
                            & (pl.col("budget_tokens") == r["budget_tokens"]))
            if base.height:
                cot = float(np.mean(base["accuracy"].to_numpy()))
                out.append({**dict(zip(keys, group, strict=True)),
                            "n_samples": r["n_samples"], "budget_tokens": r["budget_tokens"],
                            "cot_accuracy": cot, "sc_accuracy": r["accuracy"],
                            "gain_points": 100 * (float(r["accuracy"]) - cot)})
    return pl.DataFrame(out)
