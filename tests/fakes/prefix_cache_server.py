"""A replica that models a prefix (KV) cache: the prompt costs time only on a cache miss.

What vLLM / SGLang do with automatic prefix caching, reduced to the part routing changes:
each replica keeps the last ``cache_entries`` prompts it computed (LRU); a request whose
prompt prefix is cached pays ``hit_ms``, any other pays ``miss_ms`` of prefill (a long
few-shot prompt), then ``decode_ms`` for its tokens. At most ``slots`` requests run at once
(a GPU's batch) and the rest queue; decoding overlaps across slots, but prefill is compute
the replica does one prompt at a time (it competes for the same GPU), so misses queue behind
each other. ``GET /_stats`` answers hits, misses, requests.

The prefix is the request's messages up to and including the first user message (system
prompt + few-shot exemplars + question): every sample, refinement round and search step of
one item shares it, as their KV cache would.

Run one process per replica: ``with PrefixCacheReplica(...) as r: r.base_url``.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import json
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fakes.fake_openai import start_ready_process, stop_process  # noqa: E402
from fakes.latency_server import _Answers, next_request  # noqa: E402


class PrefixCacheReplica:
    """One replica in its own process; ``stats()`` reads its cache counters."""

    def __init__(self, text: str, *, miss_ms: float = 120.0, hit_ms: float = 5.0,
                 decode_ms: float = 40.0, slots: int = 8, cache_entries: int = 16) -> None:
        self.config = {"text": text, "miss_ms": miss_ms, "hit_ms": hit_ms,
                       "decode_ms": decode_ms, "slots": slots, "cache_entries": cache_entries}
        self._proc: subprocess.Popen[str] | None = None
        self._port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}/v1"

    def start(self) -> PrefixCacheReplica:
        self._proc, self._port = start_ready_process(
            [sys.executable, __file__, json.dumps(self.config)], "prefix-cache replica")
        return self

    def stop(self) -> None:
        if self._proc is not None:
            stop_process(self._proc)
            self._proc = None

    def kill(self) -> None:
        """Die at once (a replica lost mid-sweep)."""
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait(10)
            self._proc = None

    def stats(self) -> dict[str, int]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self._port}/_stats", timeout=10) as r:
            return dict(json.loads(r.read()))

    def __enter__(self) -> PrefixCacheReplica:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def prefix_key(body: dict[str, Any]) -> str:
    """Hash of the messages up to the first user message (what a KV prefix cache reuses)."""
    messages = list(body.get("messages") or [])
    cut = next((i for i, m in enumerate(messages) if m.get("role") == "user"), len(messages))
    blob = json.dumps(messages[:cut + 1], sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()


class _Replica:
    def __init__(self, config: dict[str, Any]) -> None:
        self.answers = _Answers(str(config["text"]))
        self.miss_s, self.hit_s = config["miss_ms"] / 1000, config["hit_ms"] / 1000
        self.decode_s = config["decode_ms"] / 1000
        self.slots = asyncio.Semaphore(int(config["slots"]))
        self.prefill = asyncio.Lock()
        self.capacity = int(config["cache_entries"])
        self.cache: collections.OrderedDict[str, None] = collections.OrderedDict()
        self.stats = {"requests": 0, "hits": 0, "misses": 0}

    def _lookup(self, key: str) -> bool:
        hit = key in self.cache
        if hit:
            self.cache.move_to_end(key)
        else:
            self.cache[key] = None
            while len(self.cache) > self.capacity:
                self.cache.popitem(last=False)
        self.stats["hits" if hit else "misses"] += 1
        return hit

    async def answer(self, body: dict[str, Any], transport: asyncio.Transport) -> None:
        self.stats["requests"] += 1
        async with self.slots:
            hit = self._lookup(prefix_key(body))
            async with self.prefill:
                await asyncio.sleep(self.hit_s if hit else self.miss_s)
            await asyncio.sleep(self.decode_s)
        if not transport.is_closing():
            transport.write(self.answers.get(body))


class _Conn(asyncio.Protocol):
    def __init__(self, replica: _Replica) -> None:
        self.replica = replica
        self.buf = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while self.transport is not None and (request := next_request(self.buf)) is not None:
            line, body, self.buf = request
            if line.startswith(b"GET /_stats"):
                payload = json.dumps(self.replica.stats).encode()
                self.transport.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                     b"Content-Length: " + str(len(payload)).encode()
                                     + b"\r\n\r\n" + payload)
                continue
            asyncio.get_running_loop().create_task(
                self.replica.answer(json.loads(body or b"{}"), self.transport))


async def _serve(config: dict[str, Any]) -> None:
    replica = _Replica(config)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _Conn(replica), "127.0.0.1", 0, backlog=1024)
    print(f"READY {server.sockets[0].getsockname()[1]}", flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(_serve(json.loads(sys.argv[1])))
