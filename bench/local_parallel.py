"""SC@8 on the embedded model: does the workbench get the engine's batching speed-up?

In one run, on the same prompt and the same server:

1. workbench, parallel: self-consistency with 8 paths through the full stack (runner,
   context, litellm adapter; native n=8 on llama.cpp's parallel slots);
2. workbench, sequential: the same 8 paths as 8 single CoT calls one after another;
3. raw engine: aggregate tokens/s with 8 concurrent streams over single-stream tokens/s,
   measured directly against the server with plain aiohttp (bench/local_raw.py).

Every stream generates exactly ``--max-tokens`` tokens (llama.cpp's ``ignore_eos``) so
early stops flatter neither side. The raw ratio is the physical limit on this machine
(about 1.8x on 2 cores); the target is a quotient of at least 0.9.
The last line is ``quotient: <number>``.

    python bench/local_parallel.py [--max-tokens 96] [--n 8]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from local_raw import DEFAULT_PROMPT, _measure  # noqa: E402

from workbench.backends.litellm_adapter import LiteLLMBackend  # noqa: E402
from workbench.models import resolve  # noqa: E402
from workbench.runner import RunSpec, run  # noqa: E402
from workbench.sinks import ListSink  # noqa: E402
from workbench.tasks import task_from_frame  # noqa: E402
from workbench.techniques import SelfConsistency, cot  # noqa: E402


def one_item_task():  # type: ignore[no-untyped-def]
    import polars as pl

    return task_from_frame(pl.DataFrame({"question": [DEFAULT_PROMPT], "answer": ["65"]}),
                           name="bench")


async def tokens_per_s(spec: RunSpec, backend: LiteLLMBackend, task: object) -> float:
    """Tokens/s of one run. Budget forcing is off: every stream is cut at max_tokens by
    design here, and forced-answer calls would measure something else."""
    events = ListSink()
    inner = cot(spec.budget, force=False)
    technique = SelfConsistency(inner, n=spec.n) if spec.technique == "sc" else inner
    t0 = time.perf_counter()
    await run(spec, backend, [events], task=task, technique=technique)  # type: ignore[arg-type]
    wall = time.perf_counter() - t0
    tokens = sum(getattr(e, "tokens_out", 0) for e in events if e.kind == "path_finished")
    return tokens / wall


async def workbench_ratio(n: int, max_tokens: int) -> dict[str, float]:
    cfg = resolve("local")
    cfg = dataclasses.replace(cfg, params={"extra_body": {"ignore_eos": True}})
    backend = LiteLLMBackend({"local": cfg})
    task = one_item_task()
    base = RunSpec(task="bench", model="local", budget=max_tokens, limit=1, temperature=0.7,
                   prompts={"system": ""})
    await tokens_per_s(dataclasses.replace(base, technique="cot"), backend, task)  # warm-up
    par = await tokens_per_s(dataclasses.replace(base, technique="sc", n=n), backend, task)
    seq_tokens, seq_wall = 0.0, 0.0
    for i in range(n):
        t0 = time.perf_counter()
        tps = await tokens_per_s(dataclasses.replace(base, technique="cot", seed=i),
                                 backend, task)
        dt = time.perf_counter() - t0
        seq_tokens += tps * dt
        seq_wall += dt
    seq = seq_tokens / seq_wall
    raw = await _measure(cfg.api_base or "", cfg.litellm_model.split("/", 1)[1],
                         DEFAULT_PROMPT, n, max_tokens)
    return {"workbench_parallel_tok_s": par, "workbench_sequential_tok_s": seq,
            "workbench_ratio": par / seq, "raw_ratio": float(raw["ratio"])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=96)
    args = parser.parse_args()
    r = asyncio.run(workbench_ratio(args.n, args.max_tokens))
    for key, value in r.items():
        print(f"{key}: {value:.2f}")
    print(f"quotient: {r['workbench_ratio'] / r['raw_ratio']:.3f}")


if __name__ == "__main__":
    main()
