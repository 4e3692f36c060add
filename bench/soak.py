"""Soak: thousands of streams through the workbench; memory and file descriptors stay flat.

Older litellm releases leaked per stream (issue reports of growing RSS and open sockets),
and a notebook kernel lives for days. This streams ``--streams`` generations (default
1,200, in waves of ``--concurrency``) from the fake OpenAI-compatible server (its own
process) through the whole pipeline: ``run()`` with self-consistency, the litellm
adapter, the Recorder writing every path into a DuckDB file. RSS and open file
descriptors of this process are read after a warm-up (caches and connection pools
filled) and again at the end, with some faults mixed in (cut streams, 500s, stalls) so
error paths are soaked too.

Prints ``rss before/after``, ``fds before/after`` and ``flat: yes|no`` (RSS grew less than
``--max-growth-mb`` and no more than 5 descriptors leaked).

Usage: ``.venv/bin/python bench/soak.py [--streams 1200] [--concurrency 64]``
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import psutil  # noqa: E402
from fakes.fake_openai import FakeOpenAI, Fault  # noqa: E402

from workbench.backends.litellm_adapter import LiteLLMBackend, ModelConfig  # noqa: E402
from workbench.backends.retry import RetryPolicy  # noqa: E402
from workbench.runner import RunSpec, run  # noqa: E402
from workbench.store.recorder import Recorder  # noqa: E402
from workbench.store.store import Store  # noqa: E402

TEXT = " ".join(f"word{i}" for i in range(40)) + " The answer is 42"
POLICY = RetryPolicy(max_attempts=2, backoff_base_s=0.01, jitter=0.0, deadline_s=30.0,
                     first_token_timeout_s=5.0, stall_timeout_s=1.0)
N = 8  # streams per item (self-consistency, fanned out: one stream per path)


def duckdb_mb(store: Store | None) -> float:
    """Memory DuckDB itself reports (buffer pool, row groups not yet checkpointed)."""
    if store is None:
        return 0.0
    used = store.query("SELECT sum(memory_usage_bytes) AS b FROM duckdb_memory()")["b"][0]
    return float(used or 0) / 2**20


def usage() -> tuple[float, int]:
    """(RSS in MB, open file descriptors) of this process, after a full collection."""
    gc.collect()
    me = psutil.Process()
    return me.memory_info().rss / 2**20, me.num_fds()


async def wave(store: Store | None, backend: LiteLLMBackend, items: int, offset: int) -> int:
    spec = RunSpec(task="arithmetic", technique="sc", n=N, budget=64, limit=items,
                   offset=offset % 150, concurrency=items, model="fake")
    result = await run(spec, backend, [Recorder(store)] if store is not None else [])
    return result.n_samples * N


async def soak(server: FakeOpenAI, db: Path | None, streams: int, concurrency: int,
               warmup: int) -> dict[str, float]:
    backend = LiteLLMBackend({"fake": ModelConfig("openai/fake", api_base=server.base_url,
                                                  native_n=False, concurrency=concurrency)},
                             retry=POLICY)
    items = max(1, concurrency // N)
    done, figures = 0, {}
    store = Store.open(db) if db is not None else None
    try:
        while done < warmup:
            done += await wave(store, backend, items, done // N)
        figures["rss0"], figures["fds0"] = usage()
        figures["duck0"] = duckdb_mb(store)
        t0, start = time.perf_counter(), done
        k = 0
        while done < warmup + streams:
            k += 1
            fault = (Fault("cut", after_chunks=5), Fault("server_error"),
                     Fault("stall_mid", after_chunks=5, stall_s=3), None)[k % 4]
            server.set_faults(fault, fault)  # the first attempts of each wave misbehave
            done += await wave(store, backend, items, done // N)
        figures["wall"] = time.perf_counter() - t0
        figures["streams"] = done - start
        figures["rss1"], figures["fds1"] = usage()
        figures["duck1"] = duckdb_mb(store)
        figures["paths"] = float(store.query("SELECT count(*) AS n FROM paths")["n"][0]
                                 if store is not None else 0)
    finally:
        if store is not None:
            store.close()
    return figures


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--streams", type=int, default=1200)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--warmup", type=int, default=256)
    ap.add_argument("--max-growth-mb", type=float, default=30.0)
    ap.add_argument("--no-store", action="store_true",
                    help="no Recorder: separates the client's memory from DuckDB's cache")
    args = ap.parse_args()
    server = FakeOpenAI(texts=[TEXT], latency_s=0.01, subprocess_mode=True).start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            db = None if args.no_store else Path(tmp) / "soak.duckdb"
            f = asyncio.run(soak(server, db, args.streams, args.concurrency, args.warmup))
    finally:
        server.stop()
    growth, leaked = f["rss1"] - f["rss0"], int(f["fds1"] - f["fds0"])
    print(f"streams: {int(f['streams'])} in {f['wall']:.1f} s after a {args.warmup}-stream "
          f"warm-up; {int(f['paths'])} paths stored")
    print(f"rss before/after: {f['rss0']:.1f} MB / {f['rss1']:.1f} MB ({growth:+.1f} MB, "
          f"{growth * 1024 / max(1.0, f['streams']):+.2f} KB per stream)")
    duck = f["duck1"] - f["duck0"]
    print(f"of which DuckDB's own memory: {f['duck0']:.1f} MB / {f['duck1']:.1f} MB "
          f"({duck:+.1f} MB: rows kept in memory until the next checkpoint); "
          f"client and pipeline: {growth - duck:+.1f} MB")
    print(f"fds before/after: {int(f['fds0'])} / {int(f['fds1'])} ({leaked:+d})")
    flat = growth < args.max_growth_mb and leaked <= 5
    print(f"flat: {'yes' if flat else 'no'}")
    sys.exit(0 if flat else 1)


if __name__ == "__main__":
    main()
