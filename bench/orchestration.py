"""Orchestration overhead: SC@16 over 100 items against a server with a fixed latency.

The server (``tests/fakes/latency_server.py``, in its own process so it never competes for
this process's GIL) answers every request after a fixed 200 ms with the event stream
FakeOpenAI sends for a short text, at a few microseconds of CPU per request: FakeOpenAI's
aiohttp handler costs ~0.3 ms, and 64 answers due at the same instant then queue ~10 ms per
wave, which would be charged to the client. With 1,600 reasoning paths and 64 requests in
flight, no client can beat ``ceil(1600 / 64) x 0.2 s = 5.0 s``; what remains is the
client's own overhead (and the machine's: loopback TCP, wake-ups, connection set-up).

Measured (each ``--repeat`` times, alternating, best kept):

* **hand-written loop**: ``asyncio`` + ``litellm.acompletion``, 1,600 streamed single
  calls under a semaphore of 64, reading every chunk, storing nothing: "the same calls
  through litellm", the baseline the issue names.
* **hand-written aiohttp loop**: the same calls with a bare ``aiohttp`` client that parses
  each chunk and keeps the text, storing nothing: the floor for any Python client here.
* **workbench, fan-out**: ``run(RunSpec(technique="sc", n=16, limit=100))`` with the
  model's ``native_n`` off, so every path is its own request: the same 1,600 calls,
  plus everything the workbench adds (paths, token-delta events, voting, grading, the
  retry policy and its clocks, and the Recorder writing every path into a DuckDB file).
  This is the fair comparison: same requests, same concurrency. OpenAI-compatible servers
  are streamed by ``workbench.backends.openai_http``, not litellm (litellm's ~17 ms of CPU
  per streamed call made this run client-bound: 8.75x the ideal before).
* **workbench, native n**: the same run with ``n=16`` in one request per item (100
  requests of 16 choices), as the workbench does by default on OpenAI-compatible servers;
  reported for information (its ideal is ``ceil(100 / 64) x 0.2 s = 0.4 s`` plus streaming
  16 choices, so it is not comparable with the loop).

Prints ``vs ideal: <x>`` (fan-out wall / 5.0 s; target <= 1.10) and
``vs hand-written loop: <y>`` (fan-out wall / loop wall; target <= 1.0), plus CPU seconds
(what a shared machine distorts least).

Usage: ``.venv/bin/python bench/orchestration.py [--items 100] [--n 16]
[--concurrency 64] [--latency 0.2] [--repeat 2] [--no-native]``
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fakes.latency_server import LatencyServer  # noqa: E402

from workbench.backends.litellm_adapter import LiteLLMBackend, ModelConfig, _lib  # noqa: E402
from workbench.runner import RunSpec, run  # noqa: E402
from workbench.store.recorder import Recorder  # noqa: E402
from workbench.store.store import Store  # noqa: E402
from workbench.tasks import get_task  # noqa: E402

TEXT = "Adding the numbers step by step gives 42. The answer is 42"


async def hand_loop(api_base: str, prompts: list[str], n: int, concurrency: int) -> int:
    """The floor: plain asyncio + litellm, every path its own streamed call."""
    litellm = _lib()
    sem = asyncio.Semaphore(concurrency)

    async def one(prompt: str, seed: int) -> str:
        async with sem:
            resp = await litellm.acompletion(
                model="openai/fake", api_base=api_base, api_key="local",
                messages=[{"role": "user", "content": prompt}], max_tokens=64,
                temperature=0.7, seed=seed, stream=True,
                stream_options={"include_usage": True}, max_retries=0)
            parts = []
            async for chunk in resp:
                if chunk.choices and chunk.choices[0].delta.content:
                    parts.append(chunk.choices[0].delta.content)
            return "".join(parts)

    texts = await asyncio.gather(*(one(p, i) for p in prompts for i in range(n)))
    return len(texts)


async def aiohttp_loop(api_base: str, prompts: list[str], n: int, concurrency: int) -> int:
    """The floor: a bare aiohttp client, every path its own streamed call, text kept."""
    import json

    import aiohttp

    sem = asyncio.Semaphore(concurrency)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        async def one(prompt: str, seed: int) -> str:
            body = {"model": "fake", "messages": [{"role": "user", "content": prompt}],
                    "max_tokens": 64, "temperature": 0.7, "seed": seed, "stream": True,
                    "stream_options": {"include_usage": True}}
            async with sem, session.post(f"{api_base}/chat/completions", json=body) as r:
                parts = []
                async for line in r.content:
                    if line.startswith(b"data: {"):
                        choices = json.loads(line[6:]).get("choices")
                        if choices and choices[0]["delta"].get("content"):
                            parts.append(choices[0]["delta"]["content"])
                return "".join(parts)

        texts = await asyncio.gather(*(one(p, i) for p in prompts for i in range(n)))
    return len(texts)


async def workbench_run(api_base: str, items: int, n: int, concurrency: int, native: bool,
                        db: Path) -> int:
    """The same work through the workbench: runner, techniques, recorder, DuckDB."""
    backend = LiteLLMBackend({"fake": ModelConfig("openai/fake", api_base=api_base,
                                                  native_n=native, concurrency=concurrency)})
    spec = RunSpec(task="arithmetic", technique="sc", n=n, budget=64, limit=items,
                   concurrency=items, model="fake")
    with Store.open(db) as store:
        result = await run(spec, backend, [Recorder(store)])
        paths = store.query("SELECT count(*) AS n FROM paths")["n"][0]
    assert result.n_samples == items and result.n_errors == 0, result
    return int(paths)


def measure(fn: Callable[[], Coroutine[Any, Any, int]]) -> tuple[float, float, int]:
    """(wall s, CPU s of this process, paths) of one fresh event loop running ``fn``."""
    cpu0, t0 = time.process_time(), time.perf_counter()
    count = asyncio.run(fn())
    return time.perf_counter() - t0, time.process_time() - cpu0, count


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--items", type=int, default=100)
    ap.add_argument("--n", type=int, default=16)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--latency", type=float, default=0.2)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--no-native", action="store_true")
    args = ap.parse_args()
    problems = get_task("arithmetic").load(args.items, 0)
    prompts = [p.question for p in problems]
    total = args.items * args.n
    ideal = math.ceil(total / args.concurrency) * args.latency
    server = LatencyServer(TEXT, args.latency).start()
    best: dict[str, tuple[float, float, int]] = {}
    try:
        measure(lambda: hand_loop(server.base_url, prompts[:2], 1, 2))  # warm litellm
        with tempfile.TemporaryDirectory() as tmp:
            jobs: dict[str, Callable[[int], Callable[[], Coroutine[Any, Any, int]]]] = {
                "hand-written loop": lambda k: lambda: hand_loop(
                    server.base_url, prompts, args.n, args.concurrency),
                "aiohttp loop": lambda k: lambda: aiohttp_loop(
                    server.base_url, prompts, args.n, args.concurrency),
                "workbench fan-out": lambda k: lambda: workbench_run(
                    server.base_url, args.items, args.n, args.concurrency, False,
                    Path(tmp) / f"fan{k}.duckdb"),
            }
            if not args.no_native:
                jobs["workbench native n"] = lambda k: lambda: workbench_run(
                    server.base_url, args.items, args.n, args.concurrency, True,
                    Path(tmp) / f"nat{k}.duckdb")
            for k in range(args.repeat):
                for name, job in jobs.items():
                    got = measure(job(k))
                    print(f"  run {k + 1} {name:20s} wall {got[0]:6.2f} s  cpu {got[1]:6.2f} s"
                          f"  paths {got[2]}", flush=True)
                    if name not in best or got[0] < best[name][0]:
                        best[name] = got
    finally:
        server.stop()
    report(best, total, ideal, args)


def report(best: dict[str, Any], total: int, ideal: float, args: argparse.Namespace) -> None:
    loop, fan = best["hand-written loop"], best["workbench fan-out"]
    print(f"SC@{args.n} x {args.items} items = {total} paths, {args.latency * 1000:.0f} ms "
          f"latency, concurrency {args.concurrency}; ideal {ideal:.2f} s")
    for name, (wall, cpu, paths) in best.items():
        print(f"{name:20s} best wall {wall:6.2f} s  cpu {cpu:6.2f} s  paths {paths}")
    print(f"vs ideal: {fan[0] / ideal:.2f}")
    print(f"vs hand-written loop: {fan[0] / loop[0]:.2f}")
    print(f"cpu vs hand-written loop: {fan[1] / loop[1]:.2f}")
    floor = best["aiohttp loop"]
    print(f"vs aiohttp loop: {fan[0] / floor[0]:.2f} wall, {fan[1] / floor[1]:.2f} cpu "
          f"(aiohttp loop vs ideal: {floor[0] / ideal:.2f})")
    if "workbench native n" in best:
        native = best["workbench native n"][0]
        print(f"native n: {native:.2f} s ({args.items} requests of n={args.n}; "
              f"{fan[0] / native:.1f}x faster than fan-out)")


if __name__ == "__main__":
    main()
