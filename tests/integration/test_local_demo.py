"""The `make demo` path on the real embedded model: CLI -> local llama.cpp server via
litellm -> DuckDB. Small (2 items, 2 samples, short budgets) but every part is real."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

pytestmark = pytest.mark.local_model

WORKBENCH = [sys.executable, "-m", "workbench.cli.main"]


def cli(*args: str, timeout: int = 900) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([*WORKBENCH, *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


def test_demo_writes_every_technique(tmp_path: Path) -> None:
    db = tmp_path / "demo.duckdb"
    out = cli("demo", "--db", str(db), "--limit", "2", "--n", "2")
    assert out.returncode == 0, out.stderr[-2000:]
    for technique in ("direct", "cot", "sc", "adaptive-sc"):
        assert technique in out.stdout
    con = duckdb.connect(str(db), read_only=True)
    runs = con.execute("select technique, n_items from runs order by technique").fetchall()
    assert runs == [("adaptive-sc", 2), ("cot", 2), ("direct", 2), ("sc", 2)]
    samples = con.execute("select count(*), count(error) from samples").fetchone()
    assert samples == (8, 0)
    paths = con.execute("select count(*), sum(tokens_out), count(distinct model) from paths "
                        "where role = 'path'").fetchone()
    assert paths[0] >= 2 + 2 * 2 + 2 and paths[1] > 0 and paths[2] == 1
    assert con.execute("select count(*) from votes").fetchone()[0] == 4  # sc + adaptive-sc
    con.close()
    q = cli("sql", "select technique, count(*) as n from samples join runs using (run_id) "
                   "group by 1 order by 1", "--db", str(db), "--format", "csv")
    assert q.returncode == 0 and "adaptive-sc,2" in q.stdout


def test_refine_with_local_verifier(tmp_path: Path) -> None:
    db = tmp_path / "refine.duckdb"
    out = cli("run", "--task", "arithmetic", "--technique", "refine", "--rounds", "1",
              "--budget", "64", "--limit", "1", "--verifier", "local", "--db", str(db))
    assert out.returncode == 0, out.stderr[-2000:]
    con = duckdb.connect(str(db), read_only=True)
    roles = {r[0] for r in con.execute("select role from paths").fetchall()}
    assert {"path", "critique"} <= roles
    assert con.execute("select count(*) from rounds").fetchone()[0] >= 1
    con.close()
