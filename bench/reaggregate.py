"""Re-aggregating stored paths vs re-sampling them: maj@k and pass@k for k = 1..64.

Builds a real DuckDB file with the project schema (workbench.store.migrations.migrate) in
a temp dir, fills it with 500 items x 64 synthetic reasoning paths, then times the store
-> finished curves frame (exact maj@k and pass@k for every k, bootstrap CIs over items,
B=1000). It compares that with the estimated time to re-sample the same curves on the
embedded model: 500 x 64 paths x ~150 tokens at ~57 tokens/s aggregate (field notes:
Qwen2.5-0.5B Q4 on 2 cores, 8 parallel sequences).

Run: .venv/bin/python bench/reaggregate.py [--items 500] [--paths 64] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from workbench.analysis import curves, from_store
from workbench.store.migrations import migrate

TOKENS_PER_PATH = 150
AGGREGATE_TOKENS_PER_S = 57.0


def synthetic_paths(n_items: int, n_paths: int, seed: int = 0) -> pl.DataFrame:
    """Paths whose answers look like a small model's: a per-item skill, a few recurring
    wrong answers (Zipf-like), 5% unparsable."""
    rng = np.random.default_rng(seed)
    skill = rng.beta(2.0, 1.5, n_items)
    rows_item = np.repeat(np.arange(n_items), n_paths)
    u = rng.random(n_items * n_paths)
    wrong = rng.zipf(1.8, n_items * n_paths) % 9 + 1
    correct = u < skill[rows_item]
    abstain = rng.random(n_items * n_paths) < 0.05
    answer = np.where(correct, "gold", np.char.add("w", wrong.astype(str)))
    sample_id = np.char.add("s", rows_item.astype(str))
    idx = np.tile(np.arange(n_paths), n_items)
    return pl.DataFrame({
        "run_id": "bench-sc64", "sample_id": sample_id,
        "path_id": np.char.add(np.char.add(sample_id, "-"), idx.astype(str)),
        "role": "path", "model": "local", "round": 0, "idx": idx,
        "answer": pl.Series(answer.tolist(), dtype=pl.String).set(pl.Series(abstain), None),
        "correct": correct & ~abstain, "finish_reason": "stop", "truncated": False,
        "tokens_in": 90, "tokens_out": rng.poisson(TOKENS_PER_PATH, n_items * n_paths),
        "tokens_reasoning": 0, "cost_usd": 0.0, "latency_ms": rng.gamma(4.0, 600.0,
                                                                         n_items * n_paths),
    })


def build_store(path: Path, n_items: int, n_paths: int) -> None:
    """A DuckDB file with the project schema, one SC@N run and its samples and paths."""
    con = duckdb.connect(str(path), config={"autoinstall_known_extensions": "false"})
    migrate(con)
    paths = synthetic_paths(n_items, n_paths)
    samples = pl.DataFrame({"run_id": "bench-sc64",
                            "sample_id": [f"s{i}" for i in range(n_items)],
                            "item_id": [f"item{i}" for i in range(n_items)],
                            "item_index": list(range(n_items)), "gold": "gold"})
    runs = pl.DataFrame({"run_id": ["bench-sc64"], "technique": ["sc"], "model": ["local"],
                         "task": ["synthetic"], "n_samples": [n_paths], "n_items": [n_items]})
    for table, frame in (("runs", runs), ("samples", samples), ("paths", paths)):
        con.register("_frame", frame.to_arrow())
        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _frame")
        con.unregister("_frame")
    con.execute("CHECKPOINT")
    con.close()


def time_reaggregate(path: Path) -> tuple[float, float, float, pl.DataFrame]:
    """Wall seconds to open the store and load every table, wall seconds to compute the
    curves frame, and the CPU seconds of both (the machine may be shared)."""
    c0, t0 = time.process_time(), time.perf_counter()
    con = duckdb.connect(str(path), read_only=True)
    frames = from_store(con)
    con.close()
    t1 = time.perf_counter()
    out = curves(frames.paths, ks=range(1, 65), b=1000, seed=0)
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1, time.process_time() - c0, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--items", type=int, default=500)
    ap.add_argument("--paths", type=int, default=64)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.duckdb"
        build_store(db, args.items, args.paths)
        runs = [time_reaggregate(db) for _ in range(args.repeat)]
    load_s, calc_s, cpu_s, frame = min(runs, key=lambda r: r[0] + r[1])
    total = load_s + calc_s
    resample_s = args.items * args.paths * TOKENS_PER_PATH / AGGREGATE_TOKENS_PER_S
    print(f"{args.items} items x {args.paths} paths, k = 1..64, exact maj@k + pass@k, "
          f"bootstrap B=1000 (best of {args.repeat}; load average {os.getloadavg()[0]:.1f})")
    print(f"  load from DuckDB: {load_s * 1000:8.1f} ms")
    print(f"  curves + CIs:     {calc_s * 1000:8.1f} ms")
    print(f"  store -> frame:   {total * 1000:8.1f} ms wall, {cpu_s * 1000:.1f} ms CPU "
          "(target < 1000 ms)")
    print(f"  re-sampling est.: {resample_s:8.0f} s = {resample_s / 3600:.1f} h "
          f"({args.items * args.paths} paths x {TOKENS_PER_PATH} tok / "
          f"{AGGREGATE_TOKENS_PER_S:g} tok/s)")
    print(f"  ratio:            {resample_s / total:,.0f}x faster to re-aggregate")
    row = frame.filter(pl.col("k").is_in([1, 8, 64])).select("k", "maj", "maj_lo", "maj_hi",
                                                              "pass")
    print(row)


if __name__ == "__main__":
    main()
