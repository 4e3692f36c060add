"""Synthetic traces with the store's schema: a direct run, a CoT run, an SC@16 run and a
refinement run over the same 40 items, with known structure (difficulty levels, gold)."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from workbench.analysis import Frames

N_ITEMS = 40
N_SC = 16


def _item_skill(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    level = rng.integers(1, 4, N_ITEMS)  # 1 easy .. 3 hard
    skill = np.clip(rng.normal(0.95 - 0.25 * level, 0.1), 0.02, 0.98)
    return level, skill


def _answers(rng: np.random.Generator, skill: float, n: int) -> list[str | None]:
    out: list[str | None] = []
    for _ in range(n):
        u = rng.random()
        out.append(None if u > 0.95 else "gold" if u < skill * 0.95 else
                   f"w{int(rng.integers(1, 4))}")
    return out


def make_frames(seed: int = 0) -> Frames:
    rng = np.random.default_rng(seed)
    level, skill = _item_skill(rng)
    runs, samples, paths, rounds, status = [], [], [], [], []
    specs = [("r-direct", "direct", 1, 0), ("r-cot", "cot", 1, 0), ("r-sc", "sc", N_SC, 0),
             ("r-refine", "refine", 1, 2)]
    for run_id, tech, n, n_rounds in specs:
        runs.append({"run_id": run_id, "technique": tech, "model": "local", "task": "arith",
                     "budget_tokens": 256, "n_samples": n, "rounds": n_rounds})
        status.append({"run_id": run_id, "status": "ok", "wall_ms": 1000.0 * n})
        for i in range(N_ITEMS):
            sid = f"{run_id}-{i}"
            p_ok = 0.3 * skill[i] if tech == "direct" else skill[i]
            ans = _answers(rng, p_ok, n)
            tok_out = 5 if tech == "direct" else 150
            for j, a in enumerate(ans):
                paths.append({"run_id": run_id, "sample_id": sid, "path_id": f"{sid}-{j}",
                              "role": "direct" if tech == "direct" else "path", "idx": j,
                              "answer": a, "correct": a == "gold", "tokens_in": 50,
                              "tokens_out": tok_out, "cost_usd": 1e-6 * tok_out,
                              "latency_ms": 20.0 * tok_out})
            voted = max(set(a for a in ans if a), key=ans.count, default=None)
            samples.append({"run_id": run_id, "sample_id": sid, "item_id": f"item-{i}",
                            "item_index": i, "gold": "gold", "answer": voted,
                            "correct": voted == "gold", "tokens_in": None, "tokens_out": None,
                            "cost_usd": None, "latency_ms": float(20 * tok_out * (1 + 0.1 * i)),
                            "meta": json.dumps({"level": int(level[i])})})
            ok = bool(rng.random() < skill[i])
            for r in range(n_rounds + 1) if n_rounds else ():
                rounds.append({"run_id": run_id, "sample_id": sid, "round": r, "correct": ok})
                ok = ok if rng.random() < 0.7 else not ok
    return Frames(runs=pl.DataFrame(runs), samples=pl.DataFrame(samples),
                  paths=pl.DataFrame(paths), rounds=pl.DataFrame(rounds),
                  run_status=pl.DataFrame(status))


@pytest.fixture(scope="session")
def frames() -> Frames:
    return make_frames(0)
