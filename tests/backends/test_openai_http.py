"""The lean OpenAI-compatible transport against a real socket that sends exactly the bytes a
test scripts, split where the test says: server-sent-event framing (CRLF, comments,
multi-line data, events cut across reads), error statuses, error events, bodies that end
early, and plain JSON answers. FakeOpenAI covers the fault catalogue end to end."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest

from workbench.backends.base import GenRequest
from workbench.backends.litellm_adapter import LiteLLMBackend, ModelConfig
from workbench.backends.openai_http import (
    HTTPTransport,
    MidStreamError,
    RateLimitError,
    request_body,
)
from workbench.backends.retry import RetryPolicy, is_retryable, retry_after_of


def sse(*chunks: dict[str, object], done: bool = True, sep: bytes = b"\n") -> bytes:
    out = b"".join(b"data: " + json.dumps(c).encode() + sep + sep for c in chunks)
    return out + (b"data: [DONE]" + sep + sep if done else b"")


def delta(text: str, index: int = 0, finish: str | None = None) -> dict[str, object]:
    return {"choices": [{"index": index, "delta": {"content": text},
                         "finish_reason": finish}]}


USAGE = {"choices": [], "usage": {"prompt_tokens": 7, "completion_tokens": 3}}


class RawServer:
    """Answers every POST with ``status`` + ``headers`` and then ``pieces``, each written
    separately with a pause so the client sees them as separate reads."""

    def __init__(self, pieces: list[bytes], status: str = "200 OK",
                 content_type: str = "text/event-stream", length: bool = False,
                 headers: tuple[str, ...] = ()) -> None:
        self.pieces, self.status, self.content_type = pieces, status, content_type
        self.length, self.headers = length, headers
        self.requests: list[tuple[bytes, dict[str, object]]] = []
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/v1"

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        size = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length"))
        self.requests.append((head, json.loads(await reader.readexactly(size))))
        extra = "".join(f"{h}\r\n" for h in self.headers)
        total = sum(len(p) for p in self.pieces)
        framing = (f"Content-Length: {total}" if self.length
                   else "Transfer-Encoding: chunked")  # how streaming servers send
        writer.write(f"HTTP/1.1 {self.status}\r\nContent-Type: {self.content_type}\r\n"
                     f"{framing}\r\n{extra}Connection: close\r\n\r\n".encode())
        for piece in self.pieces:
            writer.write(piece if self.length else b"%x\r\n%s\r\n" % (len(piece), piece))
            await writer.drain()
            await asyncio.sleep(0.02)
        if not self.length:
            writer.write(b"0\r\n\r\n")
        await writer.drain()
        writer.close()


async def chunks_of(base: str, **kw: object) -> AsyncIterator[dict[str, object]]:
    stream = await HTTPTransport().complete(model="openai/m", api_base=base, api_key="k",
                                           messages=[{"role": "user", "content": "hi"}],
                                           stream=True, **kw)
    async for chunk in stream:
        yield chunk


async def collect(base: str) -> list[dict[str, object]]:
    return [c async for c in chunks_of(base)]


async def test_events_split_anywhere_across_reads_are_parsed_whole() -> None:
    body = sse(delta("Hel"), delta("lo"), delta("!", finish="stop"), USAGE)
    pieces = [body[i:i + 7] for i in range(0, len(body), 7)]  # cuts inside JSON and "\n\n"
    async with RawServer(pieces) as base:
        got = await collect(base)
    assert [c["choices"][0]["delta"]["content"] for c in got[:3]] == ["Hel", "lo", "!"]
    assert got[3]["usage"] == USAGE["usage"]


async def test_crlf_framing_comments_and_multi_line_data() -> None:
    multi = b'data: {"choices": [{"index": 0,\r\ndata: "delta": {"content": "b"}}]}\r\n\r\n'
    body = (b": keep-alive comment\r\n\r\nevent: message\r\nid: 1\r\n"
            + sse(delta("a"), done=False, sep=b"\r\n") + multi
            + sse(delta("c", finish="stop"), sep=b"\r\n"))
    pieces = [body[:len(body) // 2 - 1], body[len(body) // 2 - 1:]]
    async with RawServer([p for p in pieces if p]) as base:
        got = await collect(base)
    assert "".join(c["choices"][0]["delta"]["content"] for c in got) == "abc"


async def test_request_carries_the_key_as_a_bearer_header_and_the_bare_model() -> None:
    server = RawServer([sse(delta("x", finish="stop"))])
    async with server as base:
        await collect(base)
    head, body = server.requests[0]
    assert b"authorization: bearer k" in head.lower()
    assert body["model"] == "m" and body["stream"] is True


def test_request_body_drops_litellm_switches_and_merges_extra_body() -> None:
    body = request_body({"model": "hosted_vllm/org/model", "api_base": "b", "api_key": "k",
                         "max_retries": 0, "num_retries": 0, "drop_params": False,
                         "timeout": 5, "messages": [], "extra_body": {"top_k": 20},
                         "seed": None})
    assert body == {"model": "org/model", "messages": [], "top_k": 20}


async def test_status_errors_carry_status_message_and_retry_after() -> None:
    err = b'{"error": {"message": "slow down", "type": "rate_limit"}}'
    async with RawServer([err], status="429 Too Many Requests",
                         content_type="application/json", length=True,
                         headers=("Retry-After: 3",)) as base:
        with pytest.raises(RateLimitError) as info:
            await collect(base)
    assert info.value.status_code == 429 and "slow down" in str(info.value)
    assert is_retryable(info.value) and retry_after_of(info.value) == 3.0


async def test_good_chunks_before_garbage_in_the_same_read_are_delivered_first() -> None:
    body = sse(delta("a"), delta("b"), done=False) + b"data: {not json\n\n"
    async with RawServer([body]) as base:
        seen = []
        with pytest.raises(MidStreamError, match="not JSON"):
            async for c in chunks_of(base):
                seen.append(c["choices"][0]["delta"]["content"])
    assert seen == ["a", "b"]


async def test_error_event_mid_stream_and_body_ending_without_done() -> None:
    async with RawServer([sse(delta("a"), done=False),
                          b'data: {"error": {"message": "slot crashed"}}\n\n']) as base:
        with pytest.raises(MidStreamError, match="slot crashed"):
            await collect(base)
    async with RawServer([sse(delta("a"), done=False)], length=True) as base:
        with pytest.raises(MidStreamError, match="without \\[DONE\\]"):
            await collect(base)
    async with RawServer([sse(delta("a", finish="stop"), done=False)], length=True) as base:
        assert len(await collect(base)) == 1  # a finish reason is a proper end


async def test_a_plain_json_answer_becomes_one_chunk_per_choice() -> None:
    doc = {"choices": [{"index": 0, "message": {"content": "whole"}, "finish_reason": "stop"}],
           "usage": {"prompt_tokens": 2, "completion_tokens": 1}}
    async with RawServer([json.dumps(doc).encode()], content_type="application/json",
                         length=True) as base:
        got = await collect(base)
    assert got[0]["choices"][0]["delta"] == {"content": "whole"}
    assert got[1]["usage"]["completion_tokens"] == 1


async def test_through_the_adapter_a_refused_connection_is_retried_then_reported() -> None:
    async with RawServer([]) as base:
        dead = base  # the server closes on exit: its port then refuses connections
    backend = LiteLLMBackend({"m": ModelConfig("openai/m", api_base=dead)},
                             retry=RetryPolicy(max_attempts=3, backoff_base_s=0.01, jitter=0))
    [r] = await backend.generate(GenRequest(model="m", max_tokens=8,
                                            messages=({"role": "user", "content": "hi"},)))
    assert not r.ok and r.extra["attempts"] == 3
    assert "APIConnectionError" in (r.error or "") and "cannot reach" in (r.error or "")


def test_no_litellm_import_on_the_http_route() -> None:
    import subprocess
    import sys

    code = ("import asyncio, sys\n"
            "from workbench.backends.litellm_adapter import LiteLLMBackend, ModelConfig\n"
            "from workbench.backends.base import GenRequest\n"
            "from workbench.backends.retry import RetryPolicy\n"
            "b = LiteLLMBackend({'m': ModelConfig('openai/m', api_base='http://127.0.0.1:9/v1')},"
            " retry=RetryPolicy(max_attempts=1))\n"
            "b.check_model('m')\n"
            "asyncio.run(b.generate(GenRequest(model='m', max_tokens=8, messages=({'role': "
            "'user', 'content': 'x'},))))\n"
            "print('litellm' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.stdout.strip().splitlines()[-1] == "False", out.stderr[-2000:]
