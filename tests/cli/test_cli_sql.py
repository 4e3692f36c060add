"""``workbench sql`` on big and runaway queries: capped table, streamed output, Ctrl-C.

The table shows the first rows and says how many more there are (counting them is bounded
in time); csv / json / parquet stream record batches, so ten million rows go out in
bounded memory; a time limit exits 124 and Ctrl-C exits 130, each with a clear message and
no traceback. Speed is measured in bench/sql_output.py, not asserted here.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest
from cli_kit import Done
from typer.testing import CliRunner

from workbench.cli.main import app
from workbench.store.recorder import record_all
from workbench.store.store import Store
from workbench.store.synthetic import synthetic_run

REPO = Path(__file__).resolve().parents[2]
RUNAWAY = "select count(*) from range(1000000000000000)"
RSS_BOUND_MB = 400
"""Peak RSS allowed for streaming 10M rows (~250 MB of CSV). Materialising the frame and
its CSV text first, as before, took well over twice this."""


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "t.duckdb"
    with Store.open(path) as store:
        record_all(store, synthetic_run("r", n_items=3, n_paths=2))
    return path


def sql(db: Path, *args: str) -> Done:
    result = CliRunner().invoke(app, ["sql", *args, "--db", str(db)], env={"COLUMNS": "200"})
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"uncaught {result.exception!r}") from result.exception
    return Done(result.exit_code, result.stdout, result.stderr)


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            "COLUMNS": "200"}


def _cli(*args: str, **kw: object) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "workbench.cli.main", *args],
                            env=_env(), **kw)  # type: ignore[call-overload]


def test_table_is_capped_with_a_note_saying_how_many_more(db: Path) -> None:
    done = sql(db, "select range AS i from range(1000)", "--max-rows", "10")
    assert done.code == 0, done
    shown = [line for line in done.out.splitlines() if line.strip("│ ").isdigit()]
    assert [int(v.strip("│ ")) for v in shown] == list(range(10))
    assert "990 more rows not shown" in done.text, done.text
    assert "--format csv/parquet" in done.text and "LIMIT" in done.text
    small = sql(db, "select run_id FROM runs")
    assert small.code == 0 and "more rows" not in small.text and " r " in small.text


def test_counting_the_rest_of_an_endless_result_is_bounded(db: Path) -> None:
    start = time.monotonic()
    done = sql(db, "select * from range(1000000000000000)", "--max-rows", "3")
    assert done.code == 0, done
    assert time.monotonic() - start < 30  # counting gives up after a couple of seconds
    assert "more than " in done.text and "more rows not shown" in done.text, done.text


def test_time_limit_exits_124_and_leaves_no_partial_file(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "all.csv"
    done = sql(db, "select * from range(1000000000000000)", "--timeout", "1",
               "--format", "csv", "--out", str(out))
    assert done.code == 124, done
    assert "time limit of 1 s" in done.text and "Traceback" not in done.text
    assert not out.exists() and not list(tmp_path.glob("*.partial"))
    assert sql(db, RUNAWAY, "--timeout", "0.5").code == 124


def test_formats_stream_every_row(db: Path, tmp_path: Path) -> None:
    query = "select range AS i, 'v' || range AS s from range(200000)"
    csv = sql(db, query, "--format", "csv")
    assert csv.code == 0 and csv.out.count("\n") == 200001 and csv.out.startswith("i,s\n")
    assert csv.out.endswith("199999,v199999\n")
    as_json = pl.read_json(sql(db, query + " LIMIT 3", "--format", "json").out.encode())
    assert as_json.rows() == [(0, "v0"), (1, "v1"), (2, "v2")]
    assert sql(db, "select 1 AS a WHERE false", "--format", "json").out == "[]\n"
    assert sql(db, "select 1 AS a WHERE false", "--format", "csv").out == "a\n"
    target = tmp_path / "x.parquet"
    done = sql(db, query, "--format", "parquet", "--out", str(target))
    assert done.code == 0 and "wrote 200,000 rows" in done.text, done
    table = pq.read_table(target)
    assert table.num_rows == 200000 and table.column("s")[-1].as_py() == "v199999"
    assert sql(db, "select 1", "--format", "xml").code == 2


def test_sigint_stops_a_running_query_with_a_clear_message(db: Path) -> None:
    proc = _cli("sql", RUNAWAY, "--db", str(db), stdout=subprocess.PIPE,
                stderr=subprocess.PIPE)
    try:
        time.sleep(4.0)  # start-up, then the query runs (it would run for days)
        assert proc.poll() is None, proc.communicate()
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = err.decode()
    assert proc.returncode == 130, (proc.returncode, text)
    assert time.monotonic() - sent < 30
    assert "interrupted: the query was stopped" in text and "Traceback" not in text, text
    with Store.open(db, read_only=True) as store:  # the file is untouched and free
        assert store.counts()["samples"] == 3


MEASURE = ("import os, subprocess, sys\n"
           "p = subprocess.Popen(sys.argv[1:])\n"
           "_, status, usage = os.wait4(p.pid, 0)\n"
           "sys.stderr.write(f'peak_rss_kb={usage.ru_maxrss}\\n')\n"
           "sys.exit(os.waitstatus_to_exitcode(status))\n")
"""Runs a command and reports its peak RSS. Linux keeps a process's peak across exec, so
a child forked straight from this (large, long-running) pytest process would report
pytest's size; forked from this small launcher, it reports its own."""


def test_ten_million_rows_of_csv_stream_in_bounded_memory(db: Path) -> None:
    """Peak RSS of the CLI (rusage from wait4, in a small launcher) while 10M rows go
    through a pipe."""
    query = "select range AS i, range * 7 AS j, 'row ' || range AS s from range(10000000)"
    proc = subprocess.Popen([sys.executable, "-c", MEASURE, sys.executable, "-m",
                             "workbench.cli.main", "sql", query, "--db", str(db), "--format",
                             "csv"], env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    lines, size, tail = 0, 0, b""
    while chunk := proc.stdout.read(1 << 20):
        lines += chunk.count(b"\n")
        size += len(chunk)
        tail = (tail + chunk)[-200:]
    err = proc.stderr.read().decode()
    assert proc.wait() == 0, err
    peak_mb = int(err.rsplit("peak_rss_kb=", 1)[1].split()[0]) / 1024
    print(f"10M-row CSV: {size / 1e6:.0f} MB streamed, CLI peak RSS {peak_mb:.0f} MB")
    assert lines == 10_000_001 and tail.endswith(b"9999999,69999993,row 9999999\n")
    assert peak_mb < RSS_BOUND_MB, peak_mb
