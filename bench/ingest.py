"""Ingest and query benchmark for the DuckDB trace store.

1. Paths written per second: the Recorder (fed a synthetic event stream of one run) versus
   DuckDB's own appender and an Arrow ``INSERT ... SELECT`` writing the same path rows in
   one go. The Recorder is measured as used (whole samples handed to its writer thread,
   group commit) and with a ``flush()`` barrier after every sample (one commit per sample,
   durable before the next event). Target: ratio >= 0.5.
2. An accuracy-by-technique query over 1M stored paths, through ``Store.query`` (polars
   result), cold (fresh open) and warm. Target: < 1 s.

Each write benchmark runs ``--repeat`` times, alternating, and keeps its best wall and CPU
time (CPU seconds of this process, all threads): the machine is shared, and CPU time is
what a busy machine distorts least.

Usage: ``.venv/bin/python bench/ingest.py [--paths 100000] [--per-sample 16]
[--query-paths 1000000] [--repeat 3] [--dir DIR]``. Files go to a temporary directory.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa

from workbench.events import Event, PathFinished, PathStarted, SampleScored
from workbench.store.recorder import COLUMNS, Recorder, _path_row
from workbench.store.store import Store
from workbench.store.synthetic import Clock, run_started, sample_events
from workbench.store.writer import Batch
from workbench.techniques.registry import names

TEXT = ("Let me work through this step by step. First, 17 times 3 is 51. Then add 9 to "
        "get 60. Divide by 4: 15. ") * 9 + "The answer is 15."  # ~1 KB, a 256-token CoT
TECHNIQUES = names()[:5]  # the first five registered (direct .. refine), as before


def make_events(n_paths: int, per_sample: int) -> list[Event]:
    """One run of ``n_paths`` paths, ``per_sample`` per item, 4 token deltas per path."""
    clock = Clock()
    n_items = n_paths // per_sample
    events: list[Event] = [run_started("bench", clock, n_items=n_items, n_paths=per_sample)]
    for item in range(n_items):
        events.extend(sample_events("bench", item, clock, n_paths=per_sample, text=TEXT,
                                    deltas=4))
    return events


def path_rows(events: list[Event]) -> list[tuple[Any, ...]]:
    """Exactly the ``paths`` rows the Recorder writes for these events."""
    starts = {e.path_id: e for e in events if isinstance(e, PathStarted)}
    return [_path_row(starts[e.path_id], e) for e in events if isinstance(e, PathFinished)]


class _Collecting(Recorder):
    """A Recorder that keeps the rows it would write (to time DuckDB on the same rows)."""

    def __init__(self, store: Store) -> None:
        super().__init__(store)
        self.collected = Batch(COLUMNS)

    def _submit(self, batch: Batch) -> None:
        self.collected.extend(batch)

    def _run_exists(self, run_id: str) -> bool:
        return False


def all_rows(events: list[Event]) -> Batch:
    """Every row of every table the Recorder writes for these events."""
    with Store.open(":memory:") as store:
        rec = _Collecting(store)
        for event in events:
            rec(event)
        return rec.collected


Timing = tuple[float, float]
"""(wall seconds, CPU seconds of this process, all threads)."""


class _Clock:
    """``with _Clock() as c: ...`` then ``c.timing``."""

    def __enter__(self) -> _Clock:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu

    @property
    def timing(self) -> Timing:
        return self.wall, self.cpu


def bench_appender(db: Path, batch: Batch) -> Timing:
    """DuckDB's appender writing ``batch`` in one transaction, one flush per table."""
    with Store.open(db) as store:
        cur = store.cursor()
        with _Clock() as clock:
            cur.execute("BEGIN TRANSACTION")
            for table, rows in batch.rows.items():
                if rows:
                    appender = cur.appender(table, columns=list(COLUMNS[table]))
                    appender.append_rows(rows)
                    appender.flush()
            cur.execute("COMMIT")
        return clock.timing


def bench_arrow(db: Path, rows: list[tuple[Any, ...]]) -> Timing:
    """An Arrow table built from the rows, then ``INSERT ... SELECT``."""
    with Store.open(db) as store:
        cur = store.cursor()
        with _Clock() as clock:
            table = pa.table({c: [r[i] for r in rows] for i, c in enumerate(COLUMNS["paths"])})
            cur.register("_batch", table)
            cur.execute(f"INSERT INTO paths ({', '.join(COLUMNS['paths'])}) "
                        "SELECT * FROM _batch")
            cur.unregister("_batch")
        return clock.timing


def bench_recorder(db: Path, events: list[Event], sync: bool = False) -> tuple[Timing, int]:
    """Feed the events; ``sync`` adds a barrier after every scored sample (what a strict
    "durable when the sink returns" contract costs). Returns timing and commits."""
    with Store.open(db) as store:
        with _Clock() as clock:
            rec = Recorder(store)
            for event in events:
                rec(event)
                if sync and isinstance(event, SampleScored):
                    rec.flush()
            rec.close()
        assert store.counts()["paths"] == sum(isinstance(e, PathFinished) for e in events)
        return clock.timing, rec.commits


ACCURACY_SQL = """
SELECT r.technique, count(*) AS paths, avg(p.correct::INTEGER) AS path_accuracy,
       sum(p.tokens_out)::BIGINT AS tokens_out
FROM paths p JOIN runs r USING (run_id)
GROUP BY r.technique ORDER BY r.technique
"""


def build_query_db(db: Path, n_paths: int) -> float:
    """``n_paths`` paths over 50 runs of 5 techniques, generated inside DuckDB."""
    t0 = time.perf_counter()
    with Store.open(db) as store:
        con = store.cursor()
        con.execute("""INSERT INTO runs (run_id, created_at, technique, model, task, params)
            SELECT 'run-' || i, now(), ?[1 + i % 5], 'local', 'arithmetic', '{}'
            FROM range(50) t(i)""", [list(TECHNIQUES)])
        con.execute(f"""INSERT INTO paths (run_id, sample_id, path_id, role, idx, prompt,
                text, answer, correct, tokens_in, tokens_out, started_at, finished_at)
            SELECT 'run-' || (i % 50), 's' || (i // 16), 'p' || i, 'path', i % 16,
                   'Q' || (i // 16), repeat(md5(i::VARCHAR), 32), (i % 7)::VARCHAR,
                   hash(i) % 10 < 6, 120, 200 + i % 56, now(), now()
            FROM range({n_paths}) t(i)""")
    return time.perf_counter() - t0


def bench_query(db: Path) -> tuple[float, float, list[tuple[Any, ...]]]:
    with Store.open(db, read_only=True) as store:
        t0 = time.perf_counter()
        df = store.query(ACCURACY_SQL)
        cold = time.perf_counter() - t0
        t0 = time.perf_counter()
        store.query(ACCURACY_SQL)
        warm = time.perf_counter() - t0
    return cold, warm, df.rows()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--paths", type=int, default=100_000)
    ap.add_argument("--per-sample", type=int, default=16)
    ap.add_argument("--query-paths", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--dir", type=Path, default=None)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = args.dir or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        report = {**bench_writes(out, args.paths, args.per_sample, args.repeat),
                  **bench_reads(out, args.query_paths)}
    print(json.dumps(report, indent=2))


def bench_writes(out: Path, n_paths: int, per_sample: int, repeat: int) -> dict[str, Any]:
    """Best-of-``repeat`` write rates, alternating the contenders, plus the sync variant."""
    events = make_events(n_paths, per_sample)
    rows = path_rows(events)
    n = len(rows)
    paths_only = Batch(COLUMNS)
    paths_only.rows["paths"] = rows
    everything = all_rows(events)
    commits: list[int] = []

    def recorder(db: Path) -> Timing:
        timing, c = bench_recorder(db, events)
        commits.append(c)
        return timing

    contenders: dict[str, Callable[[Path], Timing]] = {
        "appender": lambda db: bench_appender(db, paths_only),
        "appender_all_tables": lambda db: bench_appender(db, everything),
        "arrow_insert": lambda db: bench_arrow(db, rows),
        "recorder": recorder,
    }
    best: dict[str, list[float]] = {k: [float("inf"), float("inf")] for k in contenders}
    for i in range(repeat):
        for name, fn in contenders.items():
            w, c = fn(out / f"{name}-{i}.duckdb")
            best[name] = [min(best[name][0], w), min(best[name][1], c)]
    sync_events = make_events(min(n_paths, 8_000), per_sample)
    (sync_wall, _), sync_commits = bench_recorder(out / "sync.duckdb", sync_events, sync=True)
    n_sync = sum(isinstance(e, PathFinished) for e in sync_events)
    wall = {k: n / v[0] for k, v in best.items()}
    cpu = {k: n / v[1] for k, v in best.items()}
    return {
        "paths": n, "paths_per_sample": per_sample, "events": len(events), "repeat": repeat,
        "paths_per_s_wall": {k: round(v) for k, v in wall.items()},
        "paths_per_cpu_s": {k: round(v) for k, v in cpu.items()},
        "recorder_commits": commits,
        "ratio_recorder_vs_appender_wall": round(wall["recorder"] / wall["appender"], 3),
        "ratio_recorder_vs_appender_cpu": round(cpu["recorder"] / cpu["appender"], 3),
        "ratio_recorder_vs_appender_all_tables_wall":
            round(wall["recorder"] / wall["appender_all_tables"], 3),
        "sync_per_sample_paths": n_sync, "sync_per_sample_commits": sync_commits,
        "sync_per_sample_paths_per_s": round(n_sync / sync_wall),
        "sync_per_sample_ms_per_commit": round(sync_wall / sync_commits * 1000, 2),
    }


def bench_reads(out: Path, query_paths: int) -> dict[str, Any]:
    """Build a ``query_paths`` database and time the accuracy-by-technique query."""
    build = build_query_db(out / "query.duckdb", query_paths)
    cold, warm, result = bench_query(out / "query.duckdb")
    return {"query_db_paths": query_paths, "query_db_build_s": round(build, 2),
            "accuracy_by_technique_cold_s": round(cold, 3),
            "accuracy_by_technique_warm_s": round(warm, 3),
            "accuracy_by_technique": result}


if __name__ == "__main__":
    main()
