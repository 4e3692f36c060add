"""Runaway user SQL stops: a time limit through DuckDB's interrupt, and Ctrl-C.

``select count(*) from range(1e15)`` would run for days; every entry point for typed SQL
(``Store.sql`` in a notebook, ``run_readonly_sql`` for the CLI, the trace browser's SQL
box) must stop it within a bound, say why, and leave the store usable and unchanged.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from widgets.browser import SQL_TIMEOUT_S, TraceBrowser
from workbench.errors import WorkbenchError
from workbench.store.recorder import record_all
from workbench.store.sql import run_readonly_sql
from workbench.store.sqlguard import STATS, SqlInterrupted, SqlTimeout
from workbench.store.store import Store
from workbench.store.synthetic import synthetic_run

RUNAWAY = "select count(*) from range(1000000000000000)"
SLACK_S = 3.0
"""How long past its limit a statement may take to stop on a loaded 2-core machine (the
interrupt itself lands in milliseconds; the figure goes to the fault table)."""


@pytest.fixture
def recorded(db_path: Path) -> Path:
    with Store.open(db_path) as store:
        record_all(store, synthetic_run("r", n_items=3, n_paths=2))
    return db_path


def _timed(fn: object) -> tuple[BaseException, float]:
    start = time.monotonic()
    with pytest.raises(WorkbenchError) as info:
        fn()  # type: ignore[operator]
    return info.value, time.monotonic() - start


def test_store_sql_times_out_and_stays_usable(recorded: Path) -> None:
    with Store.open(recorded) as store:
        before = STATS.timed_out
        exc, wall = _timed(lambda: store.sql(RUNAWAY, timeout=0.5))
        assert isinstance(exc, SqlTimeout), exc
        assert 0.5 <= wall < 0.5 + SLACK_S, wall
        assert "time limit of 0.5 s" in str(exc) and "nothing was changed" in str(exc)
        assert STATS.timed_out == before + 1
        # the same store answers the next query, and nothing was touched
        assert store.sql("select count(*) AS n FROM samples")["n"].to_list() == [3]
        assert store.sql("select 1 AS one", timeout=5)["one"].to_list() == [1]


def test_cli_path_times_out_on_a_separate_connection(recorded: Path) -> None:
    exc, wall = _timed(lambda: run_readonly_sql(recorded, RUNAWAY, timeout=0.5))
    assert isinstance(exc, SqlTimeout) and wall < 0.5 + SLACK_S, (exc, wall)
    assert run_readonly_sql(recorded, "select count(*) AS n FROM paths")["n"][0] == 6


def test_fast_queries_are_not_limited_and_bad_limits_are_refused(recorded: Path) -> None:
    assert run_readonly_sql(recorded, "select 7 AS x", timeout=None)["x"][0] == 7
    assert run_readonly_sql(recorded, "select 7 AS x", timeout=0)["x"][0] == 7
    with pytest.raises(WorkbenchError, match="positive number of seconds"):
        run_readonly_sql(recorded, "select 1", timeout=-1)
    with pytest.raises(WorkbenchError, match="read-only"):  # still checked before running
        run_readonly_sql(recorded, "DELETE FROM runs", timeout=1)


def test_ctrl_c_interrupts_a_running_statement(recorded: Path) -> None:
    """SIGINT to this process while the statement runs (what Ctrl-C or a Jupyter kernel
    interrupt does): the statement stops at once, with its own message."""
    with Store.open(recorded) as store:
        timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
        timer.start()
        try:
            exc, wall = _timed(lambda: store.sql(RUNAWAY))  # no time limit at all
        finally:
            timer.cancel()
        assert isinstance(exc, SqlInterrupted), exc
        assert wall < 0.5 + SLACK_S and "Ctrl-C" in str(exc), (exc, wall)
        assert store.sql("select count(*) AS n FROM runs")["n"][0] == 1


def test_trace_browser_sql_box_has_a_default_limit(recorded: Path) -> None:
    assert 1 <= SQL_TIMEOUT_S <= 10  # "a few seconds"
    with Store.open(recorded) as store:
        browser = TraceBrowser(store)
        browser.sql_timeout_s = 0.5
        start = time.monotonic()
        browser.run_sql(RUNAWAY)
        assert time.monotonic() - start < 0.5 + SLACK_S
        assert "time limit" in browser.message.value
        frame = browser.run_sql("select count(*) AS n FROM samples")
        assert frame["n"].to_list() == [3] and browser.message.value == ""
