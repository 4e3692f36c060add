"""A writer's open tells live runs from killed ones: dead (or reused) pids become
``interrupted``; live processes, this process and other hosts are left alone."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import psutil
import pytest

from workbench.store.liveness import Owner, alive, this_process
from workbench.store.store import Store


def _running_row(db: Path, run_id: str, pid: int | None, host: str | None,
                 started: float | None) -> None:
    with Store.open(db) as store:
        store.con.execute(
            "INSERT INTO runs (run_id, created_at, technique, model, task) "
            "VALUES (?, now()::TIMESTAMP, 'cot', 'm', 't')", [run_id])
        store.con.execute(
            'INSERT INTO run_status (run_id, status, "at", pid, host, proc_started) '
            "VALUES (?, 'running', now()::TIMESTAMP, ?, ?, ?)", [run_id, pid, host, started])


def _status(db: Path) -> dict[str, str]:
    with Store.open(db, read_only=True) as store:
        df = store.runs()
        return dict(zip(df["run_id"], df["status"], strict=True))


def test_dead_reused_legacy_live_and_foreign_owners(tmp_path: Path) -> None:
    db = tmp_path / "t.duckdb"
    me = this_process()
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        live = psutil.Process(sleeper.pid).create_time()
        dead = subprocess.Popen([sys.executable, "-c", "pass"])
        dead.wait()
        dead_started = time.time() - 1.0
        _running_row(db, "dead", dead.pid, me.host, dead_started)
        _running_row(db, "reused", sleeper.pid, me.host, live - 30.0)  # same pid, older
        _running_row(db, "live", sleeper.pid, me.host, live)
        _running_row(db, "mine", me.pid, me.host, me.started)
        _running_row(db, "legacy", None, None, None)  # written before migration 3
        _running_row(db, "foreign", 12345, "another-host.example", 1.0)
        # every open above was a writer's: all marking happens there, at once
        assert _status(db) == {"dead": "interrupted", "reused": "interrupted",
                               "live": "running", "mine": "running",
                               "legacy": "interrupted", "foreign": "running"}
        with Store.open(db, read_only=True) as store:
            why = store.query("SELECT run_id, error, pid FROM run_status "
                              "WHERE status = 'interrupted' ORDER BY run_id")
        assert why["pid"].to_list() == [me.pid] * 3  # who marked them
        dead_reason = why.filter(why["run_id"] == "dead")["error"][0]
        assert f"PID {dead.pid}" in dead_reason and "--resume dead" in dead_reason
    finally:
        sleeper.kill()
        sleeper.wait()
    with Store.open(db):  # the sleeper is gone now: its run is interrupted on this open
        pass
    assert _status(db)["live"] == "interrupted"
    assert _status(db)["mine"] == "running"  # this process is alive


def test_a_zombie_is_dead(tmp_path: Path) -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    for _ in range(200):  # exited but not reaped: a zombie
        if psutil.Process(child.pid).status() == psutil.STATUS_ZOMBIE:
            break
        time.sleep(0.01)
    started = psutil.Process(child.pid).create_time()
    try:
        assert alive(Owner(child.pid, this_process().host, started)) is False
    finally:
        child.wait()


def test_marking_is_append_only_and_read_only_opens_do_not_mark(tmp_path: Path) -> None:
    db = tmp_path / "t.duckdb"
    Store.open(db).close()
    con = duckdb.connect(str(db))
    con.execute("INSERT INTO runs (run_id, technique, model, task) VALUES ('x', 'cot', 'm', 't')")
    con.execute("INSERT INTO run_status (run_id, status, \"at\") VALUES ('x', 'running', "
                "TIMESTAMP '2026-01-01 00:00:00')")
    con.close()
    assert _status(db) == {"x": "running"}  # a reader changes nothing
    with Store.open(db) as store:
        rows = store.query('SELECT status FROM run_status ORDER BY "at"')["status"].to_list()
    assert rows == ["running", "interrupted"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_is_its_own_process() -> None:
    parent = this_process()
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.write(w, str(this_process().pid).encode())
        os._exit(0)
    os.waitpid(pid, 0)
    assert int(os.read(r, 64)) == pid != parent.pid
