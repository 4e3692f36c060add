"""Hand-computable pools for the allocation tests."""

from __future__ import annotations

import polars as pl
import pytest
from alloc_kit import pool_frame


@pytest.fixture
def two_items() -> pl.DataFrame:
    """item1: 7 7 5 5 (7 right), tokens 10..40; item2: 5 9 9 - (9 right), 5 each."""
    return pool_frame({
        "item1": (["7", "7", "5", "5"], [True, True, False, False], [10, 20, 30, 40]),
        "item2": (["5", "9", "9", None], [False, True, True, False], [5, 5, 5, 5]),
    })
