"""Types and readers shared by the CLI tests (a module, not conftest, so tests import it)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from workbench.store.store import Store


@dataclass
class Done:
    """What a CLI invocation left: exit code and everything it printed."""

    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return " ".join(f"{self.out}\n{self.err}".split())  # rich wraps long lines


Invoke = Callable[..., Done]


def read_db(path: Path, *tables: str) -> list[pl.DataFrame]:
    """Whole tables of a trace file, opened read-only after the CLI closed it."""
    with Store.open(path, read_only=True) as store:
        return [store.query(f'SELECT * FROM "{t}"') for t in tables]
