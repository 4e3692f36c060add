"""Fixtures for the end-to-end fault tests, and the figures table they report.

Each test adds a row (mode, HTTP attempts, wall time, outcome) to a session report; at the
end of the session the table is written to ``test-artifacts/faults.md`` and printed in the
terminal summary (visible without ``-s``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fakes.fake_openai import FakeOpenAI
from faults.fault_kit import toy_answer, warm_litellm

REPO = Path(__file__).resolve().parents[2]
REPORT_FILE = REPO / "test-artifacts" / "faults.md"
HEADER = ("mode", "HTTP attempts", "expected", "wall s", "limit s", "samples stored",
          "outcome")
_ROWS: list[tuple[str, ...]] = []
_NOTES: list[str] = []


@pytest.fixture(scope="session")
def warm() -> None:
    warm_litellm()


@pytest.fixture
def fake(warm: None) -> Iterator[FakeOpenAI]:
    """A fresh fake server whose texts answer the toy task correctly."""
    with FakeOpenAI(texts=toy_answer) as srv:
        yield srv


@pytest.fixture
def report() -> Any:
    """``report(mode, attempts, expected, wall, limit, stored, outcome)`` adds a table row."""

    def add(*cells: object) -> None:
        _ROWS.append(tuple(f"{c:.2f}" if isinstance(c, float) else str(c) for c in cells))

    return add


@pytest.fixture
def note() -> Any:
    """``note(line)`` adds a free-form line (e.g. the kill test's figures) to the report."""
    return _NOTES.append


def _table() -> list[str]:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(row) + " |" for row in sorted(_ROWS)]
    return lines


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _ROWS and not _NOTES:
        return
    lines = (_table() if _ROWS else []) + ([""] if _ROWS and _NOTES else []) + _NOTES
    REPORT_FILE.parent.mkdir(parents=True, exist_ok=True)
    REPORT_FILE.write_text("# Fault injection, end to end (fake server -> runner -> DuckDB)\n\n"
                           + "\n".join(lines) + "\n")
    terminalreporter.section("fault injection figures")
    for line in lines:
        terminalreporter.write_line(line)
    terminalreporter.write_line(f"(written to {REPORT_FILE})")
