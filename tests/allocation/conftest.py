"""Hand-computable pools for the allocation tests."""

from __future__ import annotations

import polars as pl
import pytest


def pool_frame(items: dict[str, tuple[list[str | None], list[bool], list[int]]],
               run_id: str = "r") -> pl.DataFrame:
    """One row per draw: item -> (answers, correct, tokens), in idx order."""
    frames = []
    for item, (answers, correct, tokens) in items.items():
        n = len(answers)
        frames.append(pl.DataFrame({
            "run_id": run_id, "item_id": item, "idx": list(range(n)),
            "answer": pl.Series(answers, dtype=pl.String), "correct": correct,
            "tokens_out": tokens}))
    return pl.concat(frames)


@pytest.fixture
def two_items() -> pl.DataFrame:
    """item1: 7 7 5 5 (7 right), tokens 10..40; item2: 5 9 9 - (9 right), 5 each."""
    return pool_frame({
        "item1": (["7", "7", "5", "5"], [True, True, False, False], [10, 20, 30, 40]),
        "item2": (["5", "9", "9", None], [False, True, True, False], [5, 5, 5, 5]),
    })
