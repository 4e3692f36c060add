"""Can one workbench process keep a cluster busy? Throughput against K = 1..16 replicas.

Each replica is ``tests/fakes/latency_server.py`` in its own process (a few microseconds of
CPU per request, so the replicas cost the driver next to nothing): it answers after
``--latency`` seconds with a ~``--tokens``-token streamed path. The workbench runs SC@16
against a pool of K replicas (``affinity = "prefix"``: the workbench routes the pool
itself, each deployment within ``--slots`` requests in flight), with enough items in
flight to fill every slot, for ``--waves`` rounds of the whole cluster.

Per K and mode (fan-out: one request per path; native n: one request per item carrying 16
choices) it prints paths/s, the ideal paths/s (``K x slots / latency`` for fan-out), their
ratio, and the driver's CPU per path. The knee is the first K where fan-out falls below 80%
of its ideal: past it the driver, not the cluster, sets the pace. From CPU per path:
one driver core feeds about ``1 / cpu_per_path`` paths/s, i.e. ``latency / (slots x
cpu_per_path)`` replicas of this shape (see docs/scale-out.md).

Usage: ``.venv/bin/python bench/driver_scale.py [--ks 1,2,4,8,16] [--slots 16]
[--latency 0.5] [--tokens 100] [--waves 3] [--repeat 1]``
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fakes.latency_server import LatencyServer  # noqa: E402

from workbench.backends.litellm_adapter import LiteLLMBackend  # noqa: E402
from workbench.models import configured  # noqa: E402
from workbench.runner import RunSpec, run  # noqa: E402

N = 16


def backend(servers: list[LatencyServer], slots: int, native: bool) -> LiteLLMBackend:
    entry: dict[str, Any] = {
        "router": True, "affinity": "prefix", "native_n": native,
        "deployments": [{"model": "openai/q", "api_base": s.base_url, "concurrency": slots}
                        for s in servers]}
    cfg = configured("pool", {"models": {"pool": entry}})
    assert cfg is not None
    return LiteLLMBackend({"pool": cfg})


async def one(servers: list[LatencyServer], args: argparse.Namespace, native: bool
              ) -> tuple[float, float, int]:
    k = len(servers)
    # fan-out: K*slots requests fill the cluster, i.e. K*slots/16 items in flight; native n
    # fills a slot per item, so it needs 16x the items in flight for the same paths
    in_flight = k * args.slots if native else max(1, k * args.slots // N)
    items = in_flight * args.waves
    spec = RunSpec(task="arithmetic", technique="sc", model="pool", n=N, limit=items,
                   budget=args.tokens + 50, concurrency=in_flight)
    t0, c0 = time.perf_counter(), time.process_time()
    result = await run(spec, backend(servers, args.slots, native), [])
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
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
    args = ap.parse_args()
    text = " ".join(f"w{i}" for i in range(args.tokens - 4)) + " The answer is 5"
    ks = [int(k) for k in args.ks.split(",")]
    servers = [LatencyServer(text, args.latency).start() for _ in range(max(ks))]
    rows = []
    knee = None
    try:
        for k in ks:
            for native in (False, True):
                best = min((asyncio.run(one(servers[:k], args, native))
                            for _ in range(args.repeat)), key=lambda r: r[0])
                wall, cpu, paths = best
                rate = paths / wall
                ideal = k * args.slots / args.latency * (N if native else 1)
                mode = "native n" if native else "fan-out"
                rows.append((k, mode, rate, ideal, cpu / paths * 1000))
                print(f"K={k:2d} {mode:8s} {paths:6d} paths in {wall:6.2f} s: {rate:8.0f} "
                      f"paths/s (ideal {ideal:8.0f}, {rate / ideal:5.2f}), driver CPU "
                      f"{cpu / paths * 1000:.3f} ms/path", flush=True)
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
