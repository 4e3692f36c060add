"""Compute-optimal allocation on the shipped reproduction data, from stored pools only.

For each task with a stored self-consistency pool in data/scaling/scaling.duckdb
(arithmetic: 16 items x 16 draws; GSM8K: 8 items x 8 draws), every policy is replayed on
held-out items (2-fold cross-fitting, seeded; 20 seeded draw orders per item) and
compared with uniform SC@N measured in the same run:

* the tokens each policy needs to reach uniform SC@N_max's held-out accuracy, as a ratio
  to uniform SC@N_max's tokens, with a bootstrap interval over items (read off each
  policy's held-out curve; the "fit" policies had their setting chosen on other items);
* the accuracy each reaches within uniform SC@4's tokens;
* the difficulty estimators' AUROC / Spearman (probe of 4 draws).

The data is small (16 and 8 items): intervals are wide and the ratio can move a lot with
one item. It prints the honest number either way. ``--figure FILE.html`` writes the
accuracy-vs-compute figure. Timing: median of ``--repeat`` evaluations.

Run: .venv/bin/python bench/allocation.py [--db data/scaling/scaling.duckdb] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import polars as pl

from workbench.allocation.binned import item_outcomes
from workbench.allocation.difficulty import difficulty_report
from workbench.allocation.evaluate import (
    Evaluation,
    accuracy_at_tokens,
    evaluate_policies,
    tokens_to_reach,
)
from workbench.allocation.figures import fig_allocation
from workbench.store.pools import sample_pools
from workbench.store.store import Store

DB = Path(__file__).resolve().parents[1] / "data" / "scaling" / "scaling.duckdb"


def load(db: Path) -> dict[str, tuple[pl.DataFrame, pl.DataFrame]]:
    """Task -> (its SC pool frame, the other runs' per-item outcomes)."""
    with Store.open(db, read_only=True) as store:
        runs, samples = store.runs(), store.samples()
        out = {}
        for task in sorted(set(runs.filter(pl.col("technique") == "sc")["task"])):
            pools = sample_pools(store, technique="sc", task=task)
            out[task] = (pools, item_outcomes(samples, runs.filter(pl.col("task") == task)))
    return out


def fmt(x: float) -> str:
    return "inf" if x == float("inf") else ("n/a" if x != x else f"{x:.2f}")


def report(task: str, ev: Evaluation, n_max: int) -> pl.DataFrame:
    reach = tokens_to_reach(ev, ("uniform", n_max), seed=0)
    at4 = accuracy_at_tokens(ev, ("uniform", 4), seed=0)
    table = reach.join(at4.rename({"accuracy": "acc_at_sc4", "accuracy_lo": "at4_lo",
                                   "accuracy_hi": "at4_hi"}), on="policy")
    base = ev.table().filter((pl.col("policy") == "uniform") & (pl.col("setting") == n_max))
    b = base.row(0, named=True)
    print(f"\n{task}: {len(ev.uids)} held-out items; uniform SC@{n_max}: accuracy "
          f"{b['accuracy']:.3f} [{b['accuracy_lo']:.3f}, {b['accuracy_hi']:.3f}] at "
          f"{b['tokens_per_item']:.0f} tokens/item")
    print(f"  {'policy':24s} {'tokens vs SC@' + str(n_max):>22s} {'reached':>8s}   "
          "accuracy at SC@4's tokens")
    for r in table.iter_rows(named=True):
        print(f"  {r['policy']:24s} {fmt(r['tokens_ratio']):>6s} [{fmt(r['ratio_lo'])}, "
              f"{fmt(r['ratio_hi'])}]".ljust(50) + f"{r['reached']:>5.0%}    "
              f"{fmt(r['acc_at_sc4'])} [{fmt(r['at4_lo'])}, {fmt(r['at4_hi'])}]")
    return table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db", type=Path, default=DB)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--figure", type=Path, default=None)
    args = ap.parse_args()
    data = load(args.db)
    headline = None
    for task, (pools, outcomes) in data.items():
        print(f"\n{task}: difficulty estimators, probe of 4 draws, truth = pass@1 of the rest")
        print(difficulty_report(pools, 4).select(
            "estimator", "n_items", "n_hard", "spearman", "spearman_lo", "spearman_hi",
            "auroc", "auroc_lo", "auroc_hi"))
        times, ev = [], None
        for _ in range(max(1, args.repeat)):
            t0 = time.perf_counter()
            ev = evaluate_policies(pools, outcomes, folds=2, seed=0)
            times.append(time.perf_counter() - t0)
        assert ev is not None
        n_max = int(max(s for p, s in ev.columns if p == "uniform"))
        table = report(task, ev, n_max)
        print(f"  (evaluation: median {statistics.median(times):.2f} s of {len(times)})")
        if args.figure:
            path = args.figure.with_name(f"{args.figure.stem}-{task}{args.figure.suffix}")
            fig_allocation(ev.table(), title=f"{task}: held-out accuracy vs compute"
                           ).write_html(path, include_plotlyjs=True)
            print(f"  figure: {path}")
        best = table.filter(pl.col("policy") != "uniform").row(0, named=True)
        if headline is None or n_max > headline[0]:
            headline = (n_max, task, best)
    if headline:
        n_max, task, best = headline
        print(f"\nbest policy on {task}: {best['policy']} (setting {best['setting']})")
        print(f"tokens vs uniform SC@{n_max}: {fmt(best['tokens_ratio'])} "
              f"[{fmt(best['ratio_lo'])}, {fmt(best['ratio_hi'])}]  (target 0.5; "
              f"{len(data[task][0]['item_id'].unique())} items only)")


if __name__ == "__main__":
    main()
