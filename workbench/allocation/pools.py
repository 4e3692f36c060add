"""Stored draws per item, as the replay sees them, and the seeded orders they are drawn in.

A pool frame has one row per draw (:func:`workbench.store.pools.sample_pools`, or built by
hand): run_id, item_id, idx, answer, correct, tokens_out, and optionally answer_key,
task, logprob_mean, score. Answers are grouped into vote keys the way the live vote
groups them (:mod:`workbench.analysis.answer_keys`), so a replayed majority is the one
the technique would have produced.

Every draw is reproducible: replicate ``r`` of an item walks its draws in the order
``default_rng([seed, r, crc32(run_id/item_id)]).permutation(n)``, independent of which
other items are in the set, of the split, and of the process (no Python hash salt).
Replicate ``-1`` is the stored order (``idx``).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import polars as pl

from workbench.analysis.answer_keys import VOTE, fill_answer_keys, with_vote_key
from workbench.analysis.frames import require

STORED_ORDER = -1
"""Replicate number meaning "the stored idx order"."""


@dataclass(frozen=True)
class ItemPool:
    """The stored draws of one item of one run, in stored (idx) order."""

    run_id: str
    item_id: str
    keys: tuple[str | None, ...]
    correct: tuple[bool, ...]
    tokens: tuple[int, ...]
    logprob: tuple[float | None, ...] = ()
    score: tuple[float | None, ...] = ()

    @property
    def n(self) -> int:
        return len(self.keys)

    @property
    def uid(self) -> str:
        return f"{self.run_id}/{self.item_id}"


def pools_from_frame(frame: pl.DataFrame) -> list[ItemPool]:
    """One :class:`ItemPool` per (run_id, item_id), in first-appearance order."""
    require(frame, ("run_id", "item_id", "idx", "answer", "correct", "tokens_out"),
            "pools_from_frame")
    runs = (frame.select("run_id", "task").unique() if "task" in frame.columns else None)
    p = with_vote_key(fill_answer_keys(frame, runs)).sort("run_id", "item_id", "idx",
                                                          maintain_order=True)
    order = frame.select("run_id", "item_id").unique(maintain_order=True)
    by_key = {k: g for k, g in p.group_by("run_id", "item_id", maintain_order=True)}
    out = []
    for run_id, item_id in order.iter_rows():
        g = by_key[(run_id, item_id)]
        out.append(ItemPool(
            run_id=str(run_id), item_id=str(item_id), keys=tuple(g[VOTE].to_list()),
            correct=tuple(bool(c) for c in g["correct"].fill_null(False).to_list()),
            tokens=tuple(int(t) for t in g["tokens_out"].fill_null(0).to_list()),
            logprob=tuple(_opt(g, "logprob_mean")), score=tuple(_opt(g, "score"))))
    return out


def _opt(g: pl.DataFrame, column: str) -> list[float | None]:
    if column not in g.columns:
        return [None] * g.height
    return [None if v is None else float(v) for v in g[column].to_list()]


def draw_order(pool: ItemPool, seed: int, replicate: int) -> np.ndarray:
    """The reproducible order replicate ``replicate`` draws ``pool``'s samples in."""
    if replicate == STORED_ORDER:
        return np.arange(pool.n)
    salt = zlib.crc32(pool.uid.encode("utf-8"))
    return np.random.default_rng([seed, replicate, salt]).permutation(pool.n)


def majority(keys: list[str | None]) -> int | None:
    """Position of the winning draw of a majority vote (ties: the answer seen first, as
    the live vote breaks them); ``None`` when every draw abstained."""
    counts: dict[str, int] = {}
    first: dict[str, int] = {}
    for i, k in enumerate(keys):
        if k is not None:
            counts[k] = counts.get(k, 0) + 1
            first.setdefault(k, i)
    if not counts:
        return None
    top = max(counts.values())
    return min(first[k] for k, c in counts.items() if c == top)


def voted_correct(pool: ItemPool, drawn: np.ndarray) -> bool:
    """Whether the majority over the draws ``drawn`` (positions into the pool, in draw
    order) is correct: the winner's first draw's grade."""
    keys = [pool.keys[int(i)] for i in drawn]
    win = majority(keys)
    return False if win is None else pool.correct[int(drawn[win])]
