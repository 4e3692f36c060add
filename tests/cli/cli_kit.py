"""Types and readers shared by the CLI tests (a module, not conftest, so tests import it)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
from typer.testing import CliRunner

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


def run_cli(args: list[str], env: dict[str, str | None], timeout: float = 120.0) -> Done:
    """``workbench ARGS`` in-process (the real typer app) with a hard timeout: a hang fails
    the test instead of freezing the suite."""
    from workbench.cli.main import app

    box: dict[str, Any] = {}

    def target() -> None:
        box["result"] = CliRunner().invoke(app, args, env=env)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), f"`workbench {' '.join(args)}` hung for {timeout} s"
    result = box["result"]
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"uncaught {result.exception!r}") from result.exception
    return Done(result.exit_code, result.stdout, result.stderr)
