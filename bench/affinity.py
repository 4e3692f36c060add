"""Prefix-cache affinity vs litellm's default routing: SC@16 over K = 4 replicas.

Each replica (``tests/fakes/prefix_cache_server.py``, one process each) models a prefix
cache: a request whose prompt prefix it computed recently (bounded LRU) pays ``--hit-ms``,
any other pays ``--miss-ms`` (the prefill of a long few-shot prompt), then ``--decode-ms``;
at most ``--slots`` requests compute at once per replica, the rest queue. The run is the
workbench's own SC@16 (fan-out: one request per sample, the case where routing decides
where the 16 prompts are computed) over arithmetic items with a long few-shot prompt.

* **default**: the pool routed by litellm's Router with the pool's default strategy
  (``least-busy``): samples of one item spread over the replicas.
* **least-busy (lean)**: the same spreading, but by this bench's own least-busy picker over
  the workbench's lean HTTP transport — the same client path affinity uses, so the gap
  between it and affinity is the cache alone (litellm's Router also costs ~17 ms of client
  CPU per streamed call, which the "default" row includes).
* **affinity**: the same pool with ``affinity = "prefix"``: each item's samples go to one
  replica (rendezvous hashing, spilling when its slots are full).

Prints, per mode, the best wall time of ``--repeat`` alternating runs, the client's CPU,
and the replicas' cache hit rate, then ``affinity vs default: <wall ratio>``. The ratio is
what affinity buys under this cost model; on a real cluster it depends on the prompt's
share of the work (long shared prompts, short answers: the largest gain).

Usage: ``.venv/bin/python bench/affinity.py [--items 24] [--n 16] [--replicas 4]
[--miss-ms 400] [--hit-ms 10] [--decode-ms 150] [--slots 8] [--cache 6] [--repeat 2]``
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fakes.prefix_cache_server import PrefixCacheReplica  # noqa: E402

from workbench.backends.affinity import AffinityPool  # noqa: E402
from workbench.backends.litellm_adapter import LiteLLMBackend  # noqa: E402
from workbench.backends.model_config import ModelConfig  # noqa: E402
from workbench.models import configured  # noqa: E402
from workbench.runner import RunSpec, run  # noqa: E402

TEXT = "Adding the numbers in order gives the total. The answer is 5"
FEW_SHOT = [
    (f"A shop had {10 + i} boxes of {3 + i % 5} pens and sold {i + 2} boxes. How many pens "
     "are left?", f"{10 + i} - {i + 2} = 8 boxes are left, and 8 boxes of {3 + i % 5} pens "
     f"are {8 * (3 + i % 5)} pens. The answer is {8 * (3 + i % 5)}.") for i in range(24)]
"""A long few-shot prefix (~24 worked examples), shared by every request of an item."""


class LeastBusyPool(AffinityPool):
    """The baseline's picker: the deployment with the fewest requests, ignoring prefixes."""

    def pick(self, messages: Any) -> int:
        return min(range(len(self.busy)), key=lambda i: (self.busy[i], self.served[i]))


class LeanLeastBusy(LiteLLMBackend):
    def _affinity(self, cfg: ModelConfig) -> AffinityPool | None:
        per_loop = self._routers.setdefault(asyncio.get_running_loop(), {})
        return per_loop.setdefault("least-busy", LeastBusyPool(cfg))  # type: ignore[no-any-return]


MODES = ("default", "least-busy", "affinity")


def backend_for(replicas: list[PrefixCacheReplica], slots: int, mode: str) -> LiteLLMBackend:
    entry: dict[str, Any] = {
        "router": True, "native_n": False,
        "deployments": [{"model": "openai/q", "api_base": r.base_url, "concurrency": slots}
                        for r in replicas]}
    if mode != "default":
        entry["affinity"] = "prefix"
    cfg = configured("pool", {"models": {"pool": entry}})
    assert cfg is not None
    return (LeanLeastBusy if mode == "least-busy" else LiteLLMBackend)({"pool": cfg})


def hit_rate(replicas: list[PrefixCacheReplica], before: list[Counter[str]]) -> float:
    hits = misses = 0
    for r, b in zip(replicas, before, strict=True):
        now = r.stats()
        hits += now["hits"] - b["hits"]
        misses += now["misses"] - b["misses"]
    return hits / max(1, hits + misses)


async def one_run(replicas: list[PrefixCacheReplica], args: argparse.Namespace,
                  mode: str) -> tuple[float, float, float, int]:
    spec = RunSpec(task="arithmetic", technique="sc", model="pool", n=args.n,
                   limit=args.items, budget=64, prompts={"fewshot": FEW_SHOT},
                   concurrency=len(replicas))  # about one item in flight per replica
    before = [Counter(r.stats()) for r in replicas]
    events: list[Any] = []
    t0, c0 = time.perf_counter(), time.process_time()
    result = await run(spec, backend_for(replicas, args.slots, mode), [events.append])
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    assert result.n_errors == 0, f"{result.n_errors} errored samples"
    return wall, cpu, hit_rate(replicas, before), result.n_samples * args.n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--items", type=int, default=24)
    ap.add_argument("--n", type=int, default=16)
    ap.add_argument("--replicas", type=int, default=4)
    ap.add_argument("--miss-ms", type=float, default=400.0)
    ap.add_argument("--hit-ms", type=float, default=10.0)
    ap.add_argument("--decode-ms", type=float, default=150.0)
    ap.add_argument("--slots", type=int, default=8)
    ap.add_argument("--cache", type=int, default=6, help="prefixes each replica keeps")
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    replicas = [PrefixCacheReplica(TEXT, miss_ms=args.miss_ms, hit_ms=args.hit_ms,
                                   decode_ms=args.decode_ms, slots=args.slots,
                                   cache_entries=args.cache).start()
                for _ in range(args.replicas)]
    best: dict[str, tuple[float, float, float, int]] = {}
    try:
        from workbench.backends.litellm_adapter import _lib
        _lib()
        for k in range(args.repeat):
            for name in MODES:
                got = asyncio.run(one_run(replicas, args, name))
                print(f"  run {k + 1} {name:10s} wall {got[0]:6.2f} s  cpu {got[1]:5.2f} s  "
                      f"cache hits {100 * got[2]:5.1f}%  paths {got[3]}")
                if name not in best or got[0] < best[name][0]:
                    best[name] = got
    finally:
        for r in replicas:
            r.stop()
    print(f"SC@{args.n} x {args.items} items over {args.replicas} replicas "
          f"({args.slots} slots, {args.cache} cached prefixes each; miss {args.miss_ms:.0f} ms, "
          f"hit {args.hit_ms:.0f} ms, decode {args.decode_ms:.0f} ms)")
    for name, (wall, cpu, hits, paths) in best.items():
        print(f"{name:10s} best wall {wall:6.2f} s  cpu {cpu:5.2f} s  cache hit rate "
              f"{100 * hits:5.1f}%  paths {paths}")
    print(f"affinity vs default: {best['affinity'][0] / best['default'][0]:.2f}")
    print(f"affinity vs least-busy (same transport): "
          f"{best['affinity'][0] / best['least-busy'][0]:.2f}")


if __name__ == "__main__":
    main()
