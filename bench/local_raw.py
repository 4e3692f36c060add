"""How much faster is the local server with n parallel streams than with one?

Measured straight against llama.cpp's OpenAI-compatible endpoint with plain aiohttp, no
workbench code in the request path, so the number is a ceiling for what self-consistency
and best-of-N can gain from batching, and any gap between it and a workbench run is the
workbench's own overhead.

Every stream generates exactly ``max_tokens`` tokens (``ignore_eos``), so early stops do
not flatter or penalise either side.

    python bench/local_raw.py [--api-base URL --model NAME] [--n 8] [--max-tokens 128]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

import aiohttp

DEFAULT_PROMPT = (
    "A farmer has 17 sheep and buys 3 times as many goats as sheep. He then sells 12 goats. "
    "How many animals does he have now? Reason step by step in plain words."
)


async def _stream_one(session: aiohttp.ClientSession, url: str, model: str, prompt: str,
                      max_tokens: int, seed: int) -> dict[str, float]:
    """One streamed completion; returns tokens generated, seconds, and time to first token."""
    body = {"model": model, "messages": [{"role": "user", "content": prompt}],
            "max_tokens": max_tokens, "temperature": 0.7, "seed": seed, "stream": True,
            "stream_options": {"include_usage": True}, "ignore_eos": True}
    start = time.perf_counter()
    ttft: float | None = None
    tokens = 0
    async with session.post(url, json=body) as resp:
        resp.raise_for_status()
        async for raw in resp.content:
            line = raw.decode().strip()
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            chunk = json.loads(line[6:])
            if ttft is None and any(c.get("delta", {}).get("content")
                                    for c in chunk.get("choices", [])):
                ttft = time.perf_counter() - start
            if chunk.get("usage"):
                tokens = int(chunk["usage"]["completion_tokens"])
    elapsed = time.perf_counter() - start
    return {"tokens": tokens, "seconds": elapsed, "ttft": ttft if ttft is not None else elapsed}


async def _measure(api_base: str, model: str, prompt: str, n: int, max_tokens: int
                   ) -> dict[str, Any]:
    url = api_base.rstrip("/") + "/chat/completions"
    timeout = aiohttp.ClientTimeout(total=None, sock_read=600)
    # llama.cpp closes the TCP connection after every streamed response while advertising
    # keep-alive; a pooled connection reused at once fails with "Can not write request
    # body". One connection per request avoids that race.
    connector = aiohttp.TCPConnector(force_close=True)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        await _stream_one(session, url, model, prompt, 8, seed=0)  # warm-up: load + cache
        single = await _stream_one(session, url, model, prompt, max_tokens, seed=1)
        start = time.perf_counter()
        many = await asyncio.gather(*(_stream_one(session, url, model, prompt, max_tokens,
                                                  seed=10 + i) for i in range(n)))
        wall = time.perf_counter() - start
    single_tps = single["tokens"] / single["seconds"]
    parallel_tokens = sum(r["tokens"] for r in many)
    aggregate_tps = parallel_tokens / wall
    return {
        "n": n, "max_tokens": max_tokens,
        "single_tokens": int(single["tokens"]), "single_s": round(single["seconds"], 2),
        "single_tps": round(single_tps, 1),
        "single_ttft_ms": round(single["ttft"] * 1000, 1),
        "parallel_tokens": int(parallel_tokens), "parallel_s": round(wall, 2),
        "aggregate_tps": round(aggregate_tps, 1),
        "per_stream_tps": round(aggregate_tps / n, 1),
        "parallel_ttft_ms_mean": round(sum(r["ttft"] for r in many) / n * 1000, 1),
        "ratio": round(aggregate_tps / single_tps, 2),
    }


def raw_parallel_ratio(api_base: str, model: str, prompt: str = DEFAULT_PROMPT, n: int = 8,
                       max_tokens: int = 128) -> dict[str, Any]:
    """Single-stream tokens/s, aggregate tokens/s over ``n`` concurrent streams, and their
    ratio (the batching speed-up). ``api_base`` ends in ``/v1``. Must not be called from
    a running event loop (use ``await _measure(...)`` there)."""
    return asyncio.run(_measure(api_base, model, prompt, n, max_tokens))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--api-base", help="…/v1 of a running server; default: the local model")
    parser.add_argument("--model", default="local")
    parser.add_argument("--n", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--prompt", default=DEFAULT_PROMPT)
    args = parser.parse_args()
    api_base, model = args.api_base, args.model
    if api_base is None:  # convenience only: the measurement itself never uses workbench
        from workbench.local import ensure_local_server

        endpoint = ensure_local_server()
        api_base, model = endpoint.api_base, endpoint.model_name
    print(json.dumps(raw_parallel_ratio(api_base, model, args.prompt, args.n,
                                        args.max_tokens), indent=2))


if __name__ == "__main__":
    main()
