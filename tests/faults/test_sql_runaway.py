"""Runaway user SQL in the fault table: every entry point stops a statement that would run
for days, and the table shows how many were interrupted and how far past the limit.

The behaviour itself is tested in ``tests/store/test_sql_limits.py``; this file puts the
figures (statements past their limit, interrupted, worst overshoot, exit code of the CLI)
in the CI fault table next to the provider faults.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from widgets.browser import TraceBrowser
from workbench.store.recorder import record_all
from workbench.store.sqlguard import STATS, SqlTimeout
from workbench.store.store import Store
from workbench.store.synthetic import synthetic_run

REPO = Path(__file__).resolve().parents[2]
RUNAWAY = "select count(*) from range(1000000000000000)"
LIMIT_S = 0.5
SLACK_S = 3.0


def test_runaway_sql_is_interrupted_at_every_entry_point(tmp_path: Path, report: Any,
                                                         note: Any) -> None:
    db = tmp_path / "s.duckdb"
    with Store.open(db) as store:
        record_all(store, synthetic_run("r", n_items=3, n_paths=2))
    before = STATS.timed_out
    with Store.open(db) as store:
        start = time.monotonic()
        try:
            store.sql(RUNAWAY, timeout=LIMIT_S)
        except SqlTimeout:
            pass
        python_wall = time.monotonic() - start
        browser = TraceBrowser(store)
        browser.sql_timeout_s = LIMIT_S
        start = time.monotonic()
        browser.run_sql(RUNAWAY)
        browser_wall = time.monotonic() - start
        assert "time limit" in browser.message.value
        assert store.sql("select count(*) AS n FROM samples")["n"][0] == 3  # still usable
    in_process = STATS.timed_out - before
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    start = time.monotonic()
    cli = subprocess.run([sys.executable, "-m", "workbench.cli.main", "sql", RUNAWAY,
                          "--timeout", str(LIMIT_S), "--db", str(db)],
                         capture_output=True, text=True, env=env, timeout=120)
    cli_wall = time.monotonic() - start  # includes the interpreter's start-up
    for where, wall in (("Store.sql", python_wall), ("trace browser", browser_wall)):
        report(f"runaway SQL: {where}", "-", f"stop <= {LIMIT_S + SLACK_S:.1f} s", wall,
               LIMIT_S, "3 (unchanged)", "interrupted, store usable")
        assert wall < LIMIT_S + SLACK_S, (where, wall)
    report("runaway SQL: workbench sql", "-", "exit 124", cli_wall, LIMIT_S, "3 (unchanged)",
           f"exit {cli.returncode}")
    note(f"- runaway SQL: {in_process + 1} statements past a {LIMIT_S} s limit, all "
         f"interrupted (worst overshoot in-process {STATS.worst_overshoot_s:.2f} s); "
         f"`workbench sql` exit {cli.returncode}")
    assert in_process == 2
    assert cli.returncode == 124 and "time limit" in cli.stderr, cli.stderr
    assert "Traceback" not in cli.stderr
