"""Can one workbench process keep a cluster busy? Throughput against K = 1..16 replicas.

Each replica is ``tests/fakes/latency_server.py`` in its own process (a few microseconds of
CPU per request, so the replicas cost the driver next to nothing): it answers after
``--latency`` seconds with a ~``--tokens``-token streamed path. The workbench runs SC@16
against a pool of K replicas (``affinity = "prefix"``: the workbench routes the pool
itself, each deployment within ``--slots`` requests in flight), with ``--oversubscribe``
(default 2) times the items in flight that fill every slot, for ``--waves`` rounds' worth
of work for the whole cluster.

Per K and mode (fan-out: one request per path; native n: one request per item carrying 16
choices) it prints paths/s, the ideal paths/s (``K x slots / latency`` for fan-out), their
ratio, the driver's CPU per path and how busy that kept one core (on a shared machine a
driver that gets only part of a core stalls below 100%; the arithmetic task's 200 items cap
native n's in-flight items). The knee is the first K where fan-out falls below 80%
of its ideal: past it the driver, not the cluster, sets the pace. From CPU per path:
one driver core feeds about ``1 / cpu_per_path`` paths/s, i.e. ``latency / (slots x
cpu_per_path)`` replicas of this shape (see docs/scale-out.md).

With ``--store`` every path is also recorded into a temporary DuckDB file (what a sweep
does); without it the figures are the routing and streaming alone. With ``--repeat R`` each
cell runs R times (alternating modes) and the median wall and CPU are reported, with the
spread: on a shared machine single runs are noisy.

Usage: ``.venv/bin/python bench/driver_scale.py [--ks 1,2,4,8,16] [--slots 16]
[--latency 0.5] [--tokens 100] [--waves 3] [--repeat 1] [--store]``
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fakes.latency_server import LatencyServer  # noqa: E402

from workbench.backends.litellm_adapter import LiteLLMBackend  # noqa: E402
from workbench.models import configured  # noqa: E402
from workbench.runner import RunSpec, run  # noqa: E402
from workbench.store.recorder import Recorder  # noqa: E402
from workbench.store.store import Store  # noqa: E402

N = 16


def backend(servers: list[LatencyServer], slots: int, native: bool, over: int
            ) -> LiteLLMBackend:
    """The pool; its ``concurrency`` (requests in flight, all replicas) is ``over`` times
    the slots: the default cap (the sum of the slots) leaves no queue to absorb two items
    hashed onto one replica while another idles."""
    entry: dict[str, Any] = {
        "router": True, "affinity": "prefix", "native_n": native,
        "concurrency": over * slots * len(servers),
        "deployments": [{"model": "openai/q", "api_base": s.base_url, "concurrency": slots}
                        for s in servers]}
    cfg = configured("pool", {"models": {"pool": entry}})
    assert cfg is not None
    return LiteLLMBackend({"pool": cfg})


async def one(servers: list[LatencyServer], args: argparse.Namespace, native: bool
              ) -> tuple[float, float, int]:
    k = len(servers)
    # fan-out: K*slots requests fill the cluster, i.e. K*slots/16 items in flight; native n
    # fills a slot per item, so it needs 16x the items in flight for the same paths. Times
    # --oversubscribe: affinity hashes items onto replicas, and with about one item per
    # replica some replicas get two and others none (the cluster, not the driver, would
    # set the pace); a queue of a second item per replica keeps every slot busy.
    fill = k * args.slots if native else max(1, k * args.slots // N)
    in_flight = fill * args.oversubscribe
    items = fill * args.waves
    spec = RunSpec(task="arithmetic", technique="sc", model="pool", n=N, limit=items,
                   budget=args.tokens + 50, concurrency=in_flight)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(Path(tmp) / "t.duckdb") if args.store else None
        sinks = [Recorder(store)] if store is not None else []
        t0, c0 = time.perf_counter(), time.process_time()
        result = await run(spec, backend(servers, args.slots, native, args.oversubscribe),
                           sinks)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        if store is not None:
            store.close()
    assert result.n_errors == 0, f"{result.n_errors} errored samples"
    return wall, cpu, result.n_samples * N


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ks", default="1,2,4,8,16")
    ap.add_argument("--slots", type=int, default=16)
    ap.add_argument("--latency", type=float, default=0.5)
    ap.add_argument("--tokens", type=int, default=100)
    ap.add_argument("--waves", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--store", action="store_true", help="record every path into DuckDB")
    ap.add_argument("--oversubscribe", type=int, default=2,
                    help="items in flight per cluster-filling set of items")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the replicas on kill
    text = " ".join(f"w{i}" for i in range(args.tokens - 4)) + " The answer is 5"
    ks = [int(k) for k in args.ks.split(",")]
    servers = [LatencyServer(text, args.latency).start() for _ in range(max(ks))]
    rows = []
    knee = None
    try:
        for k in ks:
            runs: dict[bool, list[tuple[float, float, int]]] = {False: [], True: []}
            for _ in range(args.repeat):  # alternate the modes: load drifts
                for native in (False, True):
                    runs[native].append(asyncio.run(one(servers[:k], args, native)))
            for native in (False, True):
                walls = [r[0] for r in runs[native]]
                wall = statistics.median(walls)
                cpu = statistics.median(r[1] for r in runs[native])
                paths = runs[native][0][2]
                rate = paths / wall
                ideal = k * args.slots / args.latency * (N if native else 1)
                mode = "native n" if native else "fan-out"
                rows.append((k, mode, rate, ideal, cpu / paths * 1000))
                print(f"K={k:2d} {mode:8s} {paths:6d} paths in {wall:6.2f} s: {rate:8.0f} "
                      f"paths/s (ideal {ideal:8.0f}, {rate / ideal:5.2f}), driver CPU "
                      f"{cpu / paths * 1000:.3f} ms/path, busy {cpu / wall:4.0%} of a core; "
                      f"walls {min(walls):.2f}.."
                      f"{max(walls):.2f} s over {len(walls)}", flush=True)
                if not native and knee is None and rate / ideal < 0.8:
                    knee = k
    finally:
        for s in servers:
            s.stop()
    fan = [r for r in rows if r[1] == "fan-out"]
    cpu_ms = sorted(r[4] for r in fan)[len(fan) // 2]
    print(f"knee (fan-out below 80% of ideal): K = {knee if knee else 'none up to ' + str(ks[-1])}")
    print(f"median driver CPU per fan-out path: {cpu_ms:.3f} ms -> one core feeds about "
          f"{1000 / cpu_ms:,.0f} paths/s = {args.latency * 1000 / (args.slots * cpu_ms):.1f} "
          f"replicas of {args.slots} slots at {args.latency * 1000:.0f} ms per path")


if __name__ == "__main__":
    main()
