"""Two processes, one database: a CLI run while a notebook kernel holds the file.

DuckDB lets one process write a file and nobody else even read it. With real processes:
the CLI's run goes to a spool next to the file (and says so, naming the holder); the
holder merges it (``store.ingest_spools()``), exactly once; without spooling the error
names the holder's PID and what to do. Merging is idempotent and skips spools whose
writer is still alive.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes.fake_openai import FakeOpenAI

from workbench.store.recorder import record_all
from workbench.store.spool import pending_spools, spool_dir
from workbench.store.store import Store
from workbench.store.synthetic import synthetic_run

REPO = Path(__file__).resolve().parents[2]

KERNEL = """
import json, sys
from workbench.store.store import Store
store = Store.open(sys.argv[1])
print("ready", flush=True)
for line in sys.stdin:
    if line.strip() == "ingest":
        merged = store.ingest_spools()
        n = int(store.query("SELECT count(*) AS n FROM samples")["n"][0])
        print(json.dumps({"merged": [list(m.runs) for m in merged], "samples": n,
                          "runs": store.runs()["run_id"].to_list()}), flush=True)
    else:
        break
store.close()
"""


def _env(config: Path | None = None) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "LITELLM_LOCAL_MODEL_COST_MAP": "True",
           "COLUMNS": "200"}
    if config is not None:
        env["WORKBENCH_CONFIG"] = str(config)
    return env


class Kernel:
    """A process that holds the database, like a notebook kernel, and merges on request."""

    def __init__(self, db: Path, script: str = KERNEL) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", script, str(db)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, env=_env())
        assert self._read() == "ready"

    def _read(self) -> str:
        import select

        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], 60)
        assert ready, "kernel process silent"
        return self.proc.stdout.readline().strip()

    def ingest(self) -> dict[str, object]:
        assert self.proc.stdin is not None
        self.proc.stdin.write("ingest\n")
        self.proc.stdin.flush()
        return dict(json.loads(self._read()))

    def stop(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.write("quit\n")
            self.proc.stdin.flush()
            self.proc.wait(30)


@pytest.fixture
def kernel(tmp_path: Path) -> Iterator[Kernel]:
    k = Kernel(tmp_path / "main.duckdb")
    try:
        yield k
    finally:
        k.stop()
        if k.proc.poll() is None:
            k.proc.kill()


def cli(*args: str, config: Path | None = None, timeout: float = 240
        ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "workbench.cli.main", *args],
                          capture_output=True, text=True, env=_env(config), timeout=timeout)


def test_cli_run_is_spooled_and_the_holder_merges_it_once(
        kernel: Kernel, tmp_path: Path, warm: None) -> None:
    db = tmp_path / "main.duckdb"
    with FakeOpenAI(texts=["Adding them gives 7. The answer is 7"]) as server:
        config = tmp_path / "workbench.toml"
        config.write_text(f'[models.fake]\nmodel = "openai/fake"\n'
                          f'api_base = "{server.base_url}"\n')
        done = cli("run", "--model", "fake", "--technique", "cot", "--limit", "3",
                   "--db", str(db), "-q", config=config)
    assert done.returncode == 0, done.stderr
    assert f"PID {kernel.proc.pid}" in done.stderr and ".spool" in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.count("is in use by") == 1, done.stderr  # the note is printed once
    assert len(pending_spools(db)) == 1  # the holder is alive: nothing merged yet

    first = kernel.ingest()
    assert first["samples"] == 3 and len(first["merged"]) == 1  # type: ignore[arg-type]
    assert first["runs"] == first["merged"][0]  # type: ignore[index]
    again = kernel.ingest()  # idempotent: nothing new, nothing twice
    assert again["merged"] == [] and again["samples"] == 3
    assert pending_spools(db) == []
    assert len(list((spool_dir(db) / "ingested").glob("*.duckdb"))) == 1
    kernel.stop()
    with Store.open(db, read_only=True) as store:
        assert store.samples().height == 3
        assert store.paths()["path_id"].is_duplicated().sum() == 0
        assert store.runs()["status"].to_list() == ["ok"]


def test_without_spool_the_error_names_the_holder_and_what_to_do(
        kernel: Kernel, tmp_path: Path) -> None:
    db = tmp_path / "main.duckdb"
    sweep = tmp_path / "s.toml"
    sweep.write_text('name = "s"\n[[techniques]]\ntechnique = "cot"\n')
    for args in (["run", "--no-spool", "--db", str(db)], ["sweep", str(sweep), "--db", str(db)]):
        done = cli(*args, timeout=120)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        err = " ".join(done.stderr.split())
        assert f"PID {kernel.proc.pid}" in err and "Traceback" not in err
        assert "--db" in err and "Stop that process" in err
    assert pending_spools(db) == []
    # a reader is not refused: it reads the writer's published snapshot, and says so
    done = cli("sql", "SELECT 1 AS one", "--db", str(db), timeout=120)
    assert done.returncode == 0 and "one" in done.stdout, done.stderr
    assert "snapshot" in done.stderr and "Traceback" not in done.stderr
    done = cli("runs", "--format", "csv", "--db", str(db), timeout=120)  # watching a sweep
    assert done.returncode == 0 and done.stdout.startswith("run_id,"), done.stderr
    assert "snapshot" in done.stderr and "Traceback" not in done.stderr


def test_a_spool_is_merged_on_open_exactly_once_even_after_a_crash(tmp_path: Path) -> None:
    db = tmp_path / "main.duckdb"
    spool = spool_dir(db) / "20260101T000000-1-abcdef.duckdb"
    spool.parent.mkdir()
    with Store.open(spool) as store:
        record_all(store, synthetic_run("spooled", n_items=3, n_paths=2))
    with Store.open(db) as store:  # opening read-write merges
        assert store.samples("spooled").height == 3 and store.paths().height == 6
    merged = spool_dir(db) / "ingested" / spool.name
    assert merged.exists() and not spool.exists()
    shutil.copy(merged, spool)  # as if the merge committed but the move never happened
    with Store.open(db) as store:
        assert store.ingest_spools() == []  # merged on open already: skipped, moved
        assert store.samples().height == 3 and store.paths().height == 6
    assert pending_spools(db) == []


HOLD_SPOOL = """
import sys, time
from workbench.store.recorder import Recorder
from workbench.store.store import Store
from workbench.store.synthetic import Clock, run_started, sample_events
store, clock = Store.open(sys.argv[1]), Clock()
rec = Recorder(store)
rec(run_started("live", clock, n_items=3, n_paths=2))
for item in range(2):
    for event in sample_events("live", item, clock, n_paths=2):
        rec(event)
rec.flush()
print("ready", flush=True)
time.sleep(120)
"""


def test_a_spool_still_being_written_is_left_until_its_writer_is_gone(tmp_path: Path) -> None:
    db = tmp_path / "main.duckdb"
    spool = spool_dir(db) / "20260101T000000-2-fedcba.duckdb"
    spool.parent.mkdir()
    writer = Kernel(spool, HOLD_SPOOL)  # prints "ready" after two committed samples
    try:
        with Store.open(db) as store:
            assert store.ingest_spools() == [] and pending_spools(db) == [spool]
            writer.proc.kill()  # crashes mid-run: its WAL holds the committed samples
            writer.proc.wait(30)
            merged = store.ingest_spools()
            assert [m.runs for m in merged] == [("live",)]
            assert store.samples("live").height == 2
            assert store.runs("live")["status"].to_list() == ["running"]  # honest status
    finally:
        if writer.proc.poll() is None:
            writer.proc.kill()
