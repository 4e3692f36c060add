"""What only real processes can show: the file lock, crash durability, WAL recovery."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from store_helpers import spawn, wait_for_line

from workbench.errors import WorkbenchError
from workbench.store.recorder import Recorder
from workbench.store.recover import recover
from workbench.store.replay import replay
from workbench.store.sql import run_readonly_sql
from workbench.store.store import Store
from workbench.store.synthetic import Clock, run_started, sample_events
from workbench.store.writer import COMMIT_INTERVAL_S

HOLD = """
import sys, time
from workbench.store.store import Store
store = Store.open(sys.argv[1])
print("ready", flush=True)
time.sleep(120)
"""

RECORD_THEN_HANG = """
import sys, time
from workbench.store.recorder import Recorder
from workbench.store.store import Store
from workbench.store.synthetic import Clock, run_started, sample_events
store, clock, n = Store.open(sys.argv[1]), Clock(), int(sys.argv[2])
rec = Recorder(store)
rec(run_started("r", clock, n_items=n + 1, n_paths=3))
for item in range(n):
    for event in sample_events("r", item, clock, n_paths=3):
        rec(event)
    print(f"scored {item}", flush=True)
rec.flush()  # barrier: every scored sample is committed (milliseconds after scoring)
in_flight = list(sample_events("r", n, clock, n_paths=3))
for event in in_flight[:-1]:  # paths and vote of the next item, not yet scored
    rec(event)
print("ready", flush=True)
time.sleep(120)
"""

CHECKPOINT_THEN_HANG = """
import sys, time
from workbench.store.recorder import record_all, Recorder
from workbench.store.store import Store
from workbench.store.synthetic import Clock, run_started, sample_events, synthetic_run
store, clock = Store.open(sys.argv[1]), Clock()
record_all(store, synthetic_run("r1", n_items=2, n_paths=2, clock=clock))
rec = Recorder(store)
rec(run_started("r2", clock, n_items=3, n_paths=2))
store.con.execute("CHECKPOINT")  # r1 and r2's start are in the main file; the rest in the WAL
for item in range(3):
    for event in sample_events("r2", item, clock, n_paths=2):
        rec(event)
rec.flush()
print("ready", flush=True)
time.sleep(120)
"""


def _kill(proc: object) -> None:
    import subprocess

    assert isinstance(proc, subprocess.Popen)
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)


FORGET_TO_CLOSE = """
import sys
from workbench.store.recorder import Recorder
from workbench.store.store import Store
from workbench.store.synthetic import Clock, run_started, sample_events
store, clock = Store.open(sys.argv[1]), Clock()
rec = Recorder(store)
rec(run_started("r", clock, n_items=3))
for item in range(3):
    for event in sample_events("r", item, clock):
        rec(event)
"""


def test_exit_without_close_keeps_scored_samples(db_path: Path) -> None:
    proc = spawn(FORGET_TO_CLOSE, str(db_path))
    assert proc.wait(timeout=60) == 0, proc.stderr.read() if proc.stderr else ""
    with Store.open(db_path, read_only=True) as store:
        assert store.samples().height == 3 and store.paths().height == 12


def test_lock_error_names_the_holding_process(db_path: Path) -> None:
    proc = spawn(HOLD, str(db_path))
    try:
        wait_for_line(proc, "ready")
        with pytest.raises(WorkbenchError) as info:
            Store.open(db_path)
        message = str(info.value)
        assert f"PID {proc.pid}" in message
        assert "workbench.store.store" in message  # its command line, via psutil
        assert "--db" in message and "read-only" in message
        # readers are not refused: they get the holder's snapshot, and are told whose
        notes: list[str] = []
        with Store.open(db_path, read_only=True, on_note=notes.append) as reader:
            assert reader.snapshot_of == str(db_path) and reader.counts()["runs"] == 0
        assert run_readonly_sql(db_path, "SELECT 1 AS one")["one"].to_list() == [1]
        assert len(notes) == 1 and f"PID {proc.pid}" in notes[0], notes
        assert "workbench.store.store" in notes[0] and "snapshot" in notes[0]
    finally:
        _kill(proc)
    with Store.open(db_path) as store:  # a killed holder releases the lock at once
        assert store.counts()["runs"] == 0


@pytest.mark.slow
def test_sigkill_keeps_exactly_the_scored_samples(db_path: Path) -> None:
    proc = spawn(RECORD_THEN_HANG, str(db_path), "4")
    try:
        lines = wait_for_line(proc, "ready")
        assert lines[:-1] == [f"scored {i}" for i in range(4)]
    finally:
        _kill(proc)
    with Store.open(db_path) as store:
        assert store.samples()["item_index"].to_list() == [0, 1, 2, 3]
        paths = store.paths()
        assert paths.height == 12 and paths["path_id"].n_unique() == 12
        assert set(paths["sample_id"]) == {f"r-s{i}" for i in range(4)}
        assert store.votes().height == 4
        assert store.runs()["status"].to_list() == ["interrupted"]  # the writer is gone
        # resuming the run completes it without duplicating what survived
        clock = Clock(2_000_000_000.0)
        rec = Recorder(store)
        rec(run_started("r", clock, n_items=5, n_paths=3))
        for item in range(5):
            for event in sample_events("r", item, clock, n_paths=3):
                rec(event)
        rec.flush()
        assert store.samples().height == 5 and store.paths().height == 15
        assert store.paths()["path_id"].n_unique() == 15
        assert len(replay(store, "r")) > 0


RECORD_FOREVER = """
import sys
from workbench.store.recorder import Recorder
from workbench.store.store import Store
from workbench.store.synthetic import Clock, run_started, sample_events
store, clock = Store.open(sys.argv[1]), Clock()
rec = Recorder(store)
rec(run_started("r", clock, n_items=10**6, n_paths=3, rounds=1))
item = 0
while True:
    for event in sample_events("r", item, clock, n_paths=3, rounds=1):
        rec(event)
    if item % 100 == 0:
        print(f"scored {item}", flush=True)
    item += 1
"""


@pytest.mark.slow
def test_sigkill_mid_stream_leaves_only_whole_samples(db_path: Path) -> None:
    proc = spawn(RECORD_FOREVER, str(db_path))
    try:
        wait_for_line(proc, "scored 3000")
        time.sleep(5 * COMMIT_INTERVAL_S)  # commits are spaced: let some land, still writing
    finally:
        _kill(proc)
    with Store.open(db_path) as store:
        samples = store.samples()["item_index"].to_list()
        assert samples == list(range(len(samples))) and len(samples) > 0  # a prefix
        per_sample = store.query(
            "SELECT sample_id, count(*) AS n FROM paths GROUP BY 1")["n"].unique().to_list()
        assert per_sample == [3 + 2]  # 3 paths + critique + refine, never a partial sample
        assert store.paths()["sample_id"].n_unique() == len(samples)
        assert store.votes().height == len(samples) and store.rounds().height == len(samples)
        assert store.paths()["path_id"].is_duplicated().sum() == 0


def _garble_wal(wal: Path) -> bytes:
    data = bytearray(wal.read_bytes())
    at = data.find(b"Let me think")  # inside a committed entry's payload
    assert at > 0, "expected the path text in the WAL"
    data[at:at + 12] = b"\xab" * 12
    wal.write_bytes(bytes(data))
    return bytes(data)


@pytest.mark.slow
def test_recover_moves_a_broken_wal_aside(db_path: Path) -> None:
    proc = spawn(CHECKPOINT_THEN_HANG, str(db_path))
    try:
        wait_for_line(proc, "ready")
    finally:
        _kill(proc)
    wal = Path(str(db_path) + ".wal")
    garbled = _garble_wal(wal)
    main_before = db_path.read_bytes()
    with pytest.raises(WorkbenchError, match="workbench recover"):
        Store.open(db_path)

    report = recover(db_path)
    moved = Path(report["wal_moved_to"])
    assert not wal.exists() and moved.read_bytes() == garbled  # kept, not deleted
    assert report["wal_bytes"] == len(garbled)
    assert report["counts"]["runs"] == 2 and report["counts"]["samples"] == 2
    assert report["runs_without_end"] == ["r2"]
    assert db_path.read_bytes() == main_before  # recovery itself writes nothing

    with Store.open(db_path) as store:  # usable again, r1 complete
        assert store.samples("r1").height == 2
        assert store.runs("r1")["status"].to_list() == ["ok"]


def test_recover_without_wal_reports_counts(db_path: Path) -> None:
    with Store.open(db_path) as store:
        Recorder(store)(run_started("r", Clock()))
    report = recover(db_path)
    assert report["wal_moved_to"] is None and report["wal_bytes"] == 0
    assert report["counts"]["runs"] == 1 and report["runs_without_end"] == ["r"]
    assert os.path.exists(db_path)


def test_recover_refuses_missing_or_open_files(db_path: Path, tmp_path: Path) -> None:
    with pytest.raises(WorkbenchError, match="No database file"):
        recover(tmp_path / "none.duckdb")
    with Store.open(db_path), pytest.raises(WorkbenchError, match="open in this process"):
        recover(db_path)
