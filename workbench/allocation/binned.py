"""Snell-style compute-optimal choice per difficulty bin, learned from stored runs.

Snell et al. (2024) pick, per prompt, the strategy and budget that does best at the
prompt's estimated difficulty. Here: probe each item with the first ``probe`` draws of its
sample pool, bin it by the probe's answer agreement (label-free, see
:mod:`workbench.allocation.difficulty`), and give each bin the configuration that
maximises accuracy - lambda * tokens on the *fit* items of that bin. Configurations are
every stored run of the item's task (direct, CoT at each budget, refinement: each item's
stored outcome and tokens) and parallel sampling SC@n replayed from the pool. The probe's
tokens are always paid; SC@n reuses the probe's draws (SC@n for n < probe is SC@probe).
Sweeping lambda from 0 (the most accurate choice per bin) upward traces the policy's
accuracy/compute curve. A bin with no fit items falls back to the choice over all fit
items.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from workbench.allocation.difficulty import probe_estimates
from workbench.allocation.pools import ItemPool, draw_order, voted_correct
from workbench.allocation.replay import REPLICATES
from workbench.analysis.frames import require
from workbench.techniques.registry import find

EDGES = (0.5, 1.0)
"""Agreement bin edges: bin = how many edges the probe's agreement reaches (0 = hard)."""

LAMBDAS = (0.0, 1e-5, 3e-5, 1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2)
"""Default accuracy-per-token prices swept (accuracy points per token)."""


def item_outcomes(samples: pl.DataFrame, runs: pl.DataFrame) -> pl.DataFrame:
    """task, item_id, config, correct, tokens_out: one row per stored single-answer run's
    item (every technique but sampling ones, whose pools are replayed instead).

    ``config`` names the technique and its compute (``cot@256``, ``refine@3x256``,
    ``direct``). ``samples``/``runs`` are ``Store.samples()`` / ``Store.runs()``."""
    require(samples, ("run_id", "item_id", "correct", "tokens_out"), "item_outcomes")
    require(runs, ("run_id", "technique", "task", "params"), "item_outcomes")
    labels = {r["run_id"]: (r["task"], config_label(r["technique"], r["params"]))
              for r in runs.iter_rows(named=True)}
    rows = []
    for run_id, item_id, correct, tokens in samples.select(
            "run_id", "item_id", "correct", "tokens_out").iter_rows():
        task, label = labels.get(run_id, (None, None))
        if label is None:
            continue
        rows.append({"task": task, "item_id": item_id, "config": label,
                     "correct": bool(correct), "tokens_out": int(tokens or 0)})
    schema = {"task": pl.String, "item_id": pl.String, "config": pl.String,
              "correct": pl.Boolean, "tokens_out": pl.Int64}
    return pl.DataFrame(rows, schema=schema)


def config_label(technique: str, params: str | None) -> str | None:
    """A run's configuration name, or ``None`` for sampling runs (replayed from pools)."""
    p = json.loads(params) if params else {}
    info = find(technique)
    if info is None or info.sampling:  # sampled runs are replayed from their pools
        return None
    if technique == "direct":
        return "direct"
    if technique == "refine":
        return f"refine@{p.get('rounds')}x{p.get('budget_tokens', p.get('budget'))}"
    if technique == "cot":
        return f"cot@{p.get('budget_tokens', p.get('budget'))}"
    return technique


@dataclass(frozen=True)
class ConfigTable:
    """Per item x replicate x config: correct and tokens (probe included), and the bin."""

    configs: tuple[str, ...]
    correct: np.ndarray
    tokens: np.ndarray
    bins: np.ndarray


def config_table(pools: Sequence[ItemPool], outcomes: pl.DataFrame, *, probe: int = 4,
                 edges: Sequence[float] = EDGES, seed: int = 0,
                 replicates: Sequence[int] = REPLICATES) -> ConfigTable:
    """Every configuration's result on every item, for every draw order of its pool.
    Only configurations stored for every item are kept (a fair comparison)."""
    stored: dict[str, dict[str, tuple[bool, int]]] = {}
    for item_id, config, correct, tokens in outcomes.select(
            "item_id", "config", "correct", "tokens_out").iter_rows():
        stored.setdefault(config, {})[item_id] = (bool(correct), int(tokens))
    shared = sorted(c for c, per in stored.items() if all(p.item_id in per for p in pools))
    n_max = max((p.n for p in pools), default=1)
    configs = tuple([f"sc@{n}" for n in range(1, n_max + 1)] + shared)
    shape = (len(pools), len(replicates), len(configs))
    correct, tokens = np.zeros(shape), np.zeros(shape)
    bins = np.zeros(shape[:2], dtype=np.int64)
    for i, pool in enumerate(pools):
        for r_pos, r in enumerate(replicates):
            order = draw_order(pool, seed, r)
            k = min(probe, pool.n)
            agreement = probe_estimates([pool.keys[int(j)] for j in order[:k]], [], [])
            bins[i, r_pos] = sum(float(agreement["agreement"] or 0.0) >= e for e in edges)
            probe_tokens = sum(pool.tokens[int(j)] for j in order[:k])
            for c, name in enumerate(configs):
                if name.startswith("sc@"):
                    drawn = order[:max(k, min(int(name[3:]), pool.n))]
                    correct[i, r_pos, c] = voted_correct(pool, drawn)
                    tokens[i, r_pos, c] = sum(pool.tokens[int(j)] for j in drawn)
                else:
                    ok, t = stored[name][pool.item_id]
                    correct[i, r_pos, c], tokens[i, r_pos, c] = ok, probe_tokens + t
    return ConfigTable(configs, correct, tokens, bins)


def fit_binned_choice(table: ConfigTable, fit: np.ndarray, lam: float,
                      n_bins: int = len(EDGES) + 1) -> list[int]:
    """Per bin, the config index maximising mean accuracy - ``lam`` * mean tokens over the
    fit items (boolean mask over items) and all their orders; ties go to the cheaper."""
    choice = []
    for b in range(n_bins):
        mask = (table.bins == b) & fit[:, None]
        if not mask.any():
            mask = np.broadcast_to(fit[:, None], table.bins.shape)
        acc = table.correct[mask].mean(axis=0)
        tok = table.tokens[mask].mean(axis=0)
        value = acc - lam * tok
        best = np.flatnonzero(value >= value.max() - 1e-12)
        choice.append(int(best[np.argmin(tok[best])]))
    return choice


def apply_binned_choice(table: ConfigTable, choice: Sequence[int]
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Per item: accuracy and tokens of the chosen config of its bin, averaged over
    orders (an item's bin can differ between orders)."""
    idx = np.asarray(choice)[table.bins]
    acc = np.take_along_axis(table.correct, idx[..., None], axis=2)[..., 0]
    tok = np.take_along_axis(table.tokens, idx[..., None], axis=2)[..., 0]
    return acc.mean(axis=1), tok.mean(axis=1)
