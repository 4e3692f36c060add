"""Reading a trace file while a real ``workbench sweep`` process writes it.

DuckDB refuses any second process on a file being written; the writer therefore publishes
a snapshot on request (workbench/store/snapshot.py). Here a sweep against the fake server
runs in its own process while this process polls the same file over every read path
(``run_readonly_sql``, ``Store.open(read_only=True)``, and a ``workbench sql`` child) and
checks what a researcher relies on:

* every poll succeeds and says how old its snapshot is;
* the data only grows: each poll sees every sample the previous one saw;
* no torn rows: every sample seen has all of its paths, and no path is seen without its
  sample;
* what the polls saw is exactly what the file holds at the end (same ids, same answers);
* the snapshot is gone once the writer has closed the file.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest
from fakes.fake_openai import FakeOpenAI

from workbench.store.snapshot import snapshot_path
from workbench.store.sql import run_readonly_sql
from workbench.store.store import Store

REPO = Path(__file__).resolve().parents[2]
ITEMS, N = 40, 3
SWEEP = f"""
name = "watch"
models = ["fake"]
tasks = ["arithmetic"]
limit = {ITEMS}
parallel_runs = 1
[[techniques]]
technique = "sc"
n = {N}
budget = [64, 96]
"""
SEEN_SQL = """
SELECT s.run_id, s.sample_id, s.answer,
       (SELECT count(*) FROM paths p WHERE p.run_id = s.run_id
                                       AND p.sample_id = s.sample_id) AS n_paths
FROM samples s
"""
ORPHANS_SQL = """
SELECT count(*) AS n FROM paths p
WHERE NOT EXISTS (SELECT 1 FROM samples s WHERE s.run_id = p.run_id
                                             AND s.sample_id = p.sample_id)
"""


@pytest.fixture
def sweep_files(tmp_path: Path) -> Any:
    server = FakeOpenAI(texts=["Adding them up gives 7. The answer is 7"], latency_s=1.0,
                        subprocess_mode=True).start()
    (tmp_path / "workbench.toml").write_text(
        f'[models.fake]\nmodel = "openai/fake"\napi_base = "{server.base_url}"\n')
    (tmp_path / "sweep.toml").write_text(SWEEP)
    env = {**os.environ, "PYTHONPATH": str(REPO), "LITELLM_LOCAL_MODEL_COST_MAP": "True",
           "WORKBENCH_CONFIG": str(tmp_path / "workbench.toml"), "COLUMNS": "200"}
    try:
        yield env
    finally:
        server.stop()


def _poll(db: Path, i: int, notes: list[str]) -> dict[tuple[str, str], tuple[Any, int]]:
    """One consistent look at the file, alternating the two in-process read paths."""
    if i % 2:
        with Store.open(db, read_only=True, on_note=notes.append) as store:
            seen, orphans = store.sql(SEEN_SQL), store.sql(ORPHANS_SQL)
    else:
        seen = run_readonly_sql(db, SEEN_SQL, on_note=notes.append)
        orphans = run_readonly_sql(db, ORPHANS_SQL, on_note=notes.append)
    assert orphans["n"][0] == 0, "a path was visible without its sample"
    return {(r, s): (a, n) for r, s, a, n in seen.iter_rows()}


def _writer_still_locks(db: Path) -> bool:
    """A plain DuckDB open must still be refused: the writer kept its lock."""
    try:
        duckdb.connect(str(db), read_only=True).close()
    except duckdb.IOException as exc:
        return "lock" in str(exc)
    return False


@pytest.mark.slow
def test_readers_see_growing_consistent_committed_data(
        sweep_files: dict[str, str], tmp_path: Path, note: Any) -> None:
    db = tmp_path / "watch.duckdb"
    Store.open(db).close()  # exists before the sweep starts, as in a real session
    writer = subprocess.Popen([sys.executable, "-m", "workbench.cli.main", "sweep",
                               str(tmp_path / "sweep.toml"), "--db", str(db)],
                              env=sweep_files, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    polls: list[dict[tuple[str, str], tuple[Any, int]]] = []
    notes: list[str] = []
    cli: subprocess.CompletedProcess[str] | None = None
    try:
        i = 0
        while writer.poll() is None:
            state = _poll(db, i, notes)
            i += 1
            if state and not notes:
                continue  # the writer had not opened the file yet: read directly
            polls.append(state)
            if cli is None and len(state) >= 10:
                assert _writer_still_locks(db), "publishing a snapshot unlocked the file"
                cli = subprocess.run([sys.executable, "-m", "workbench.cli.main", "sql",
                                      "select count(*) AS n from samples", "--db", str(db)],
                                     env=sweep_files, capture_output=True, text=True,
                                     timeout=120)
            time.sleep(0.2)
        out, err = writer.communicate(timeout=120)
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()
    assert writer.returncode == 0, err
    final = _poll(db, 0, [])
    assert len(final) == 2 * ITEMS and all(n == N for _, n in final.values())

    during = [p for p in polls if 0 < len(p) < len(final)]
    sizes = [len(p) for p in polls]
    assert len({len(p) for p in during}) >= 3, f"too few states seen mid-sweep: {sizes}"
    for before, after in zip(polls, polls[1:], strict=False):
        assert before.keys() <= after.keys(), "a sample seen earlier disappeared"
    for state in polls:
        for key, (answer, n_paths) in state.items():
            assert n_paths == N, f"torn sample {key}: {n_paths} of {N} paths"
            assert final[key] == (answer, n_paths)  # exactly what was committed
    snapshot_notes = [n for n in notes if "reading its snapshot of" in n]
    assert snapshot_notes and all(f"{db}" in n for n in snapshot_notes)
    ages = [float(n.split("reading its snapshot of ")[1].split(" s ago")[0])
            for n in snapshot_notes]
    assert cli is not None and cli.returncode == 0, cli
    assert "reading its snapshot of" in cli.stderr and "Traceback" not in cli.stderr
    assert not snapshot_path(db).exists()  # removed when the writer closed the file
    note(f"read-while-writing: {len(polls)} polls during a {2 * ITEMS}-sample sweep, "
         f"{len({len(p) for p in during})} distinct growing states, 0 torn samples, "
         f"snapshot age median {sorted(ages)[len(ages) // 2]:.2f} s, max {max(ages):.2f} s")
