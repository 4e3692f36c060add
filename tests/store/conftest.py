"""Fixtures for the trace-store tests: fresh databases.

Subprocess helpers live in store_helpers.py (DuckDB's file lock is per process, and crash
durability can only be tested by killing one)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from workbench.store.store import Store


@pytest.fixture
def mem_store() -> Iterator[Store]:
    with Store.open(":memory:") as store:
        yield store


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "traces.duckdb"
