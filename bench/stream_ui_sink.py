"""Kernel-side cost of streaming 16 paths into the live view (no browser).

What it measures: 16 paths each receive ``--tokens`` one-token deltas, produced on the
event loop at ``--rate`` tokens/s in total (0 = as fast as possible), through the real
``WidgetSink`` and ``LiveView`` (paths cards, vote chart, refinement table, progress).
Reported: flushes and flushes/s (must stay <= 20), delta messages sent and their bytes,
full-text trait syncs, mean/max render time per flush, and the sink's cost per event.
The browser side (how fast the DOM keeps up) is bench/stream_ui.py's job.

Usage: ``.venv/bin/python bench/stream_ui_sink.py [--paths 16] [--tokens 500]
[--rate 2000]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

from widgets.live import LiveView
from widgets.sink import Delta
from widgets.state import RunState
from workbench.events import PathFinished, PathStarted, RunFinished, RunStarted, TokenDelta

RUN, SAMPLE = "bench", "bench-00000"


async def stream(paths: int, tokens: int, rate: float) -> dict[str, Any]:
    view = LiveView()
    sent: list[int] = []
    view.paths.send = lambda content, buffers=None: sent.append(  # type: ignore[method-assign]
        len(json.dumps(content)))
    renders: list[float] = []
    texts_syncs = [0]
    view.paths.observe(lambda _c: texts_syncs.__setitem__(0, texts_syncs[0] + 1), "texts")
    inner = view.sink.render

    def timed(state: RunState, stale: set[str], deltas: list[Delta]) -> None:
        t = time.perf_counter()
        inner(state, stale, deltas)
        renders.append(time.perf_counter() - t)

    view.sink.render = timed
    sink = view.sink
    sink(RunStarted(run_id=RUN, technique="sc", model="m", task="t", n_items=1))
    for i in range(paths):
        sink(PathStarted(run_id=RUN, sample_id=SAMPLE, path_id=f"p{i}", role="path", index=i))
    loop = asyncio.get_running_loop()
    total = paths * tokens
    t0 = loop.time()
    sink_cost = 0.0
    for k in range(total):
        e = TokenDelta(run_id=RUN, sample_id=SAMPLE, path_id=f"p{k % paths}", text=f" w{k}")
        t = time.perf_counter()
        sink(e)
        sink_cost += time.perf_counter() - t
        if rate and k % 50 == 49:
            await asyncio.sleep(max(0.0, t0 + (k + 1) / rate - loop.time()))
        elif not rate and k % 500 == 499:
            await asyncio.sleep(0)
    await asyncio.sleep(0.1)
    wall = loop.time() - t0
    for i in range(paths):
        p = sink.state.samples[SAMPLE].paths[f"p{i}"]
        sink(PathFinished(run_id=RUN, sample_id=SAMPLE, path_id=f"p{i}", text=p.text,
                          answer=str(i % 3), correct=i % 3 == 0, tokens_out=tokens))
    sink(RunFinished(run_id=RUN, status="ok"))
    return {"paths": paths, "tokens_per_path": tokens, "events": total,
            "wall_s": round(wall, 3), "flushes": sink.flushes,
            "flushes_per_s": round(sink.flushes / wall, 1),
            "delta_messages": len(sent), "delta_bytes": sum(sent),
            "texts_syncs": texts_syncs[0],
            "render_ms_mean": round(1000 * sum(renders) / len(renders), 3),
            "render_ms_max": round(1000 * max(renders), 3),
            "sink_us_per_event": round(1e6 * sink_cost / total, 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--paths", type=int, default=16)
    ap.add_argument("--tokens", type=int, default=500)
    ap.add_argument("--rate", type=float, default=2000.0, help="tokens/s in total; 0 = max")
    args = ap.parse_args()
    print(json.dumps(asyncio.run(stream(args.paths, args.tokens, args.rate)), indent=2))


if __name__ == "__main__":
    main()
