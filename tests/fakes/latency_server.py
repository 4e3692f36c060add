"""A fixed-latency OpenAI-compatible server for load benchmarks, lean enough to vanish.

Why not :class:`fakes.fake_openai.FakeOpenAI`: on a 2-core machine its aiohttp handler costs
~0.3 ms of CPU per request, and requests that all wait the same 200 ms come back in bursts
of 64 that the server answers one after another: ~10 ms of queueing per wave, which a
benchmark of the *client* would wrongly charge to the client. This server is a bare
``asyncio.Protocol`` that parses a request, waits ``latency_s`` and writes a pre-built event
stream (the same chunks FakeOpenAI sends for the same text and ``n``), so its own cost per
request is a few microseconds. No faults, no scripting: that is FakeOpenAI's job.

Run in its own process (never sharing the client's GIL): ``LatencyServer(text, 0.2)``.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fakes.fake_openai import (  # noqa: E402
    FakeOpenAI,
    start_ready_process,
    stop_process,
    tokens_of,
)


class LatencyServer:
    """``with LatencyServer(text, latency_s) as srv: srv.base_url``: a subprocess."""

    def __init__(self, text: str, latency_s: float) -> None:
        self.text, self.latency_s = text, latency_s
        self._proc: subprocess.Popen[str] | None = None
        self._port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}/v1"

    @property
    def pid(self) -> int:
        assert self._proc is not None
        return self._proc.pid

    def start(self) -> LatencyServer:
        self._proc, self._port = start_ready_process(
            [sys.executable, __file__, json.dumps([self.text, self.latency_s])],
            "latency server")
        return self

    def stop(self) -> None:
        if self._proc is not None:
            stop_process(self._proc)
            self._proc = None

    def __enter__(self) -> LatencyServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Answers:
    """Pre-built responses per (n, include_usage): the same events FakeOpenAI streams."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._fake = FakeOpenAI(texts=[text])
        self._cache: dict[tuple[int, bool, str], bytes] = {}

    def get(self, body: dict[str, object]) -> bytes:
        n = int(body.get("n") or 1)  # type: ignore[call-overload]
        usage = bool((body.get("stream_options") or {}).get("include_usage"))  # type: ignore[attr-defined]
        key = (n, usage, str(body.get("model")))
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = self._build(body, n)
        return found

    def _build(self, body: dict[str, object], n: int) -> bytes:
        fake = self._fake
        pieces = [tokens_of(self.text)] * n
        finish = ["stop"] * n
        events = fake._events(body, fake._chunks(body, pieces, finish),
                              fake._usage(body, pieces))
        payload = b"".join(events)
        head = (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                b"Connection: keep-alive\r\nContent-Length: " + str(len(payload)).encode()
                + b"\r\n\r\n")
        return head + payload


def next_request(buf: bytes) -> tuple[bytes, bytes, bytes] | None:
    """``(request line, body, rest of buf)`` once ``buf`` holds a whole request, else None."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = buf[:end].split(b"\r\n")
    length = 0
    for line in head[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if len(buf) < end + 4 + length:
        return None
    return head[0], buf[end + 4:end + 4 + length], buf[end + 4 + length:]


class _Conn(asyncio.Protocol):
    """One keep-alive connection: requests in, one delayed response each."""

    def __init__(self, answers: _Answers, latency_s: float) -> None:
        self.answers, self.latency_s = answers, latency_s
        self.buf = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while (request := next_request(self.buf)) is not None:
            _, body, self.buf = request
            answer = self.answers.get(json.loads(body or b"{}"))
            asyncio.get_running_loop().call_later(self.latency_s, self._reply, answer)

    def _reply(self, answer: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(answer)


async def _serve(text: str, latency_s: float) -> None:
    answers = _Answers(text)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _Conn(answers, latency_s), "127.0.0.1", 0,
                                      backlog=1024)
    port = server.sockets[0].getsockname()[1]
    print(f"READY {port}", flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    text_arg, latency_arg = json.loads(sys.argv[1])
    asyncio.run(_serve(text_arg, float(latency_arg)))
