"""Hand-computable pools for the allocation tests (imported as ``alloc_kit``)."""

from __future__ import annotations

import polars as pl


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
