"""SIGKILL a real ``workbench sweep`` process at 30 moments; nothing committed is ever lost.

A sweep (3 runs x 200 items, self-consistency n=4, ~32 KB per path so the WAL crosses
DuckDB's 16 MiB checkpoint threshold mid-sweep) runs against the fake server in its own
process. It is killed at 30 moments: during start-up (imports, opening and migrating the
file), mid-run (after the WAL grew: samples were committed), and around the automatic
checkpoint (the WAL watched from outside); at least 25 must hit a sweep still at work. After
every kill the file is reopened and checked: it opens, no path id committed before is gone,
none is stored twice, only whole samples exist. The next process resumes; a final resume
runs exactly the missing items (one HTTP request each) and the sweep is complete.

The CLI processes are forked from a zygote that imported litellm once (see kill_zygote.py):
each is a real, separate writer process, without paying a 5 s import thirty times.
"""

from __future__ import annotations

import json
import os
import random
import select
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fakes.fake_openai import FakeOpenAI

from workbench.errors import WorkbenchError
from workbench.store.store import Store

REPO = Path(__file__).resolve().parents[2]
RUNS, ITEMS, N = 3, 200, 4  # the arithmetic task has 200 items
MIB = 1024 * 1024
CHECKPOINT_AT = 16 * MIB  # DuckDB's default checkpoint_threshold
WORD = "x" * 680
TEXT = " ".join([WORD] * 46) + " The answer is 7"  # 50 tokens (< budget), ~32 KB

SWEEP = f"""
name = "kill"
models = ["fake"]
tasks = ["arithmetic"]
limit = {ITEMS}
parallel_runs = 3
[[techniques]]
technique = "sc"
n = {N}
budget = [64, 96, 128]
"""


class Zygote:
    """Drives kill_zygote.py: start a CLI child, learn its pid, collect its exit status."""

    def __init__(self, log_dir: Path, env: dict[str, str], cwd: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("kill_zygote.py")), str(log_dir)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=cwd)
        assert self._line(180) == "READY"

    def _line(self, timeout: float) -> str:
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            raise AssertionError(f"zygote silent for {timeout} s")
        line = self.proc.stdout.readline().strip()
        if not line:
            raise AssertionError("zygote exited")
        return line

    def start(self, args: list[str]) -> int:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(args) + "\n")
        self.proc.stdin.flush()
        word, pid = self._line(30).split()
        assert word == "PID"
        return int(pid)

    def reap(self, pid: int, timeout: float = 120) -> int:
        word, got, code = self._line(timeout).split()
        assert word == "EXIT" and int(got) == pid
        return int(code)

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(30)


@dataclass
class Moment:
    kind: str  # "startup" | "mid-run" | "near checkpoint"
    delay_s: float = 0.0  # start-up kills: seconds after the fork
    wal_growth: int = 0  # mid-run kills: bytes the WAL must grow by (samples committed)
    wal_bytes: int | None = None  # near-checkpoint kills (None: as soon as the WAL shrinks)


def plan_moments(rng: random.Random) -> list[Moment]:
    """30 moments: 10 during start-up, 16 mid-run, 4 closing in on the checkpoint."""
    timed = ([Moment("startup", delay_s=rng.uniform(0.0, 2.0)) for _ in range(10)]
             + [Moment("mid-run", wal_growth=int(rng.uniform(0.1, 0.8) * MIB))
                for _ in range(16)])
    rng.shuffle(timed)
    near = [Moment("near checkpoint", wal_bytes=CHECKPOINT_AT - int(d * MIB))
            for d in (1.0, 0.4, 0.1)] + [Moment("near checkpoint")]
    return timed[:14] + near + timed[14:]


def wal_size(db: Path) -> int:
    try:
        return os.path.getsize(str(db) + ".wal")
    except OSError:
        return 0


def kill_at(pid: int, moment: Moment, db: Path, t_start: float) -> None:
    """Wait for the moment, then SIGKILL (the child may already have exited).

    Mid-run and checkpoint moments watch the WAL from outside: it grows with every
    committed sample and shrinks when a checkpoint moves it into the main file."""
    if moment.kind == "startup":
        time.sleep(max(0.0, t_start + moment.delay_s - time.perf_counter()))
    else:
        start = peak = wal_size(db)
        target = start + moment.wal_growth if moment.kind == "mid-run" else moment.wal_bytes
        if target is not None and start >= target:
            target = start + MIB // 4
        while time.perf_counter() < t_start + 60.0 and _alive(pid):
            size = wal_size(db)
            if (target is not None and size >= target) or size < peak:
                break  # reached the size, or the WAL shrank: a checkpoint just ran
            peak = max(peak, size)
            time.sleep(0.002)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _alive(pid: int) -> bool:
    """The child still runs (the zygote reaps it the moment it exits)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def snapshot(db: Path) -> tuple[set[str], int, int]:
    """(path ids, samples, runs) of the file as the next process will see it."""
    if not db.exists():
        return set(), 0, 0  # killed before the file was created
    try:
        store = Store.open(db, read_only=True)
    except WorkbenchError as exc:
        if "no _migrations" in str(exc) or "open it read-write once" in str(exc):
            return set(), 0, 0  # killed while migrating: the next process migrates
        raise
    with store:
        paths = store.query("SELECT path_id, sample_id FROM paths")
        samples = store.query("SELECT run_id, item_index, sample_id FROM samples")
        runs = store.query("SELECT run_id FROM runs")
    ids = paths["path_id"].to_list()
    assert len(ids) == len(set(ids)), "a path id is stored twice"
    assert samples.select("run_id", "item_index").is_duplicated().sum() == 0
    assert set(paths["sample_id"].to_list()) <= set(samples["sample_id"].to_list()), \
        "paths of a sample that was never committed: half a sample survived"
    assert paths.height == N * samples.height  # whole samples only
    assert runs.height <= RUNS and runs["run_id"].n_unique() == runs.height
    return set(ids), samples.height, runs.height


@pytest.fixture
def sweep_env(tmp_path: Path) -> Any:
    server = FakeOpenAI(texts=[TEXT], latency_s=0.05, subprocess_mode=True).start()
    (tmp_path / "workbench.toml").write_text(
        f'[models.fake]\nmodel = "openai/fake"\napi_base = "{server.base_url}"\n')
    (tmp_path / "sweep.toml").write_text(SWEEP)
    (tmp_path / "logs").mkdir()
    env = {**os.environ, "PYTHONPATH": str(REPO), "LITELLM_LOCAL_MODEL_COST_MAP": "True",
           "WORKBENCH_CONFIG": str(tmp_path / "workbench.toml"), "COLUMNS": "200"}
    zygote = Zygote(tmp_path / "logs", env, tmp_path)
    try:
        yield server, zygote
    finally:
        zygote.close()
        server.stop()


@pytest.mark.slow
def test_thirty_sigkills_lose_nothing_and_resume_completes(
        sweep_env: Any, tmp_path: Path, note: Any) -> None:
    server, zygote = sweep_env
    db = tmp_path / "kill.duckdb"
    args = ["sweep", str(tmp_path / "sweep.toml"), "--db", str(db)]
    committed: set[str] = set()
    present: list[str] = []
    recovered = landed = 0
    t0 = time.perf_counter()
    for moment in plan_moments(random.Random(20261)):
        pid = zygote.start(args)
        kill_at(pid, moment, db, time.perf_counter())
        code = zygote.reap(pid)
        assert code in (-signal.SIGKILL, 0), _log(tmp_path, pid)
        landed += code != 0
        try:
            ids, n_samples, _ = snapshot(db)
            wal_replayed = True
        except WorkbenchError as exc:  # a WAL that cannot be replayed: recover must cope
            assert "workbench recover" in str(exc)
            assert zygote.reap(zygote.start(["recover", "--db", str(db)])) == 0
            recovered += 1
            wal_replayed = False  # recover sets the WAL aside: its commits are not here
            ids, n_samples, _ = snapshot(db)
        if wal_replayed:
            assert committed <= ids, f"{len(committed - ids)} committed paths lost"
        committed = ids
        present.append(f"{n_samples}{'' if code else '(exited)'}@{moment.kind[:3]}")
    assert len(present) == 30
    assert landed >= 25, ", ".join(present)  # kills hit a sweep at work, not a finished one

    missing = RUNS * ITEMS - len(committed) // N
    attempts_before = server.attempts
    pid = zygote.start(args)
    assert zygote.reap(pid) == 0, _log(tmp_path, pid)
    ids, n_samples, n_runs = snapshot(db)
    reran = server.attempts - attempts_before
    note(f"kill test: 30 SIGKILLs ({landed} on a running sweep) in "
         f"{time.perf_counter() - t0:.0f} s; samples present "
         f"after each kill: {', '.join(present)}; WAL recoveries: {recovered}")
    note(f"kill test: final resume ran {reran} requests for {missing} missing items; "
         f"{n_samples}/{RUNS * ITEMS} samples, {len(ids)} paths, no duplicates")
    assert n_samples == RUNS * ITEMS and n_runs == RUNS
    assert committed <= ids and len(ids) == N * RUNS * ITEMS
    assert reran == missing  # native n: one request per missing item, nothing re-run


def _log(tmp_path: Path, pid: int) -> str:
    path = tmp_path / "logs" / f"{pid}.log"
    return path.read_text()[-3000:] if path.exists() else "(no log)"
