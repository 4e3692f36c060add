"""Fixtures for the grading-review tests: a trace file and the task file its runs used."""

from __future__ import annotations

from pathlib import Path

import pytest
from review_kit import write_task


@pytest.fixture
def task_path(tmp_path: Path) -> Path:
    return write_task(tmp_path)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "traces.duckdb"
