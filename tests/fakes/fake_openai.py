"""A small OpenAI-compatible chat server on 127.0.0.1 with scriptable faults.

Why a real server: respx does not intercept litellm's aiohttp transport, so the only faithful
test double for "the provider misbehaves" is an HTTP server on loopback that litellm talks to
through its real code path. It runs in a background thread (its own event loop, so it never
shares a loop with the test) or in a subprocess (to test kills, or when a test must not share
the GIL); the subprocess is controlled over two extra endpoints, ``GET /_stats`` and
``POST /_faults``.

Texts: ``texts`` is ``None`` (distinct default texts), a list consumed one entry per generated
choice (cycling), or a function ``(body, attempt, choice_index) -> str``. Tokens are
whitespace-delimited words (``\\s*\\S+``); usage counts them, so tests can predict it.

Faults apply per HTTP attempt: ``set_faults(f1, f2, then=f3)`` gives attempt 1 fault ``f1``,
attempt 2 ``f2`` and every later attempt ``f3`` (``None`` means behave).
"""

from __future__ import annotations

import asyncio
import json
import re
import select
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from aiohttp import web

TextSource = Callable[[dict[str, Any], int, int], str] | Sequence[str] | None
KINDS = ("rate_limit", "server_error", "stall_first", "cut", "garbage", "stall_mid",
         "few_choices", "empty", "huge", "auth")
_HUGE_PIECE = 16_384


@dataclass(frozen=True)
class Fault:
    """One misbehaviour for one HTTP attempt. ``kind`` is one of :data:`KINDS`."""

    kind: str
    retry_after: float | None = None  # rate_limit: Retry-After header (seconds)
    status: int = 500  # server_error: HTTP status
    after_chunks: int = 3  # cut / garbage / stall_mid: good chunks sent first
    stall_s: float = 30.0  # stall_first / stall_mid: how long to hang
    choices: int = 1  # few_choices: how many choices come back
    size_bytes: int = 2_200_000  # huge: bytes of text per choice
    # auth: 401 whose message echoes the Authorization header (a worst-case provider)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; use one of {KINDS}")


def tokens_of(text: str) -> list[str]:
    """The fake tokenizer: words with their leading whitespace ("a b" -> ["a", " b"])."""
    return re.findall(r"\s*\S+|\s+$", text)


def _logprob(k: int) -> float:
    return -(0.05 + 0.01 * (k % 10))


class FakeOpenAI:
    """An OpenAI-compatible ``/v1/chat/completions`` server; see the module docstring."""

    def __init__(self, texts: TextSource = None, *, latency_s: float = 0.0,
                 chunk_delay_s: float = 0.0, usage_mode: str = "sum",
                 reasoning: str | None = None, subprocess_mode: bool = False) -> None:
        self._lock = threading.Lock()
        self._bursts: dict[str, bytes] = {}
        self.peers: list[Any] = []  # the client's (host, port) per request: connection reuse
        self._texts: TextSource = texts
        self.latency_s = latency_s
        self.chunk_delay_s = chunk_delay_s
        self.usage_mode = usage_mode  # "sum" (OpenAI) or "first" (llama.cpp with n > 1)
        self.reasoning = reasoning  # reasoning_content streamed before the answer
        self.subprocess_mode = subprocess_mode
        self.requests: list[dict[str, Any]] = []
        self._attempts = 0
        self.in_flight = 0
        self.max_in_flight = 0  # most requests handled at once (tests concurrency limits)
        self._choice_counter = 0
        self._faults: list[Fault | None] = []
        self._then: Fault | None = None
        self._port = 0
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._proc: subprocess.Popen[str] | None = None

    # ---- control --------------------------------------------------------------------
    @property
    def texts(self) -> TextSource:
        return self._texts

    @texts.setter
    def texts(self, value: TextSource) -> None:
        """Replace the script; a list starts again from its first entry."""
        with self._lock:
            self._texts = value
            self._choice_counter = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}/v1"

    @property
    def attempts(self) -> int:
        """HTTP requests received on /v1/chat/completions so far."""
        if self._proc is not None:
            with urllib.request.urlopen(f"{self.base_url}/_stats", timeout=5) as r:
                return int(json.loads(r.read())["attempts"])
        return self._attempts

    def set_faults(self, *per_attempt: Fault | None, then: Fault | None = None) -> None:
        """Script the next attempts' faults (counted from now) and the fault after them."""
        if self._proc is not None:
            body = json.dumps({"faults": [asdict(f) if f else None for f in per_attempt],
                               "then": asdict(then) if then else None}).encode()
            req = urllib.request.Request(f"{self.base_url}/_faults", data=body, method="POST")
            urllib.request.urlopen(req, timeout=5).close()
            return
        with self._lock:
            self._faults = list(per_attempt)
            self._then = then

    def start(self) -> FakeOpenAI:
        if self.subprocess_mode:
            return self._start_process()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self._port = sock.getsockname()[1]
        ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(sock, ready), daemon=True,
                                        name="fake-openai")
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("fake OpenAI server did not start")
        return self

    def stop(self) -> None:
        if self._proc is not None:
            stop_process(self._proc)
            self._proc = None
            return
        if self._loop is None or self._runner is None or self._thread is None:
            return
        fut = asyncio.run_coroutine_threadsafe(self._shutdown(self._runner), self._loop)
        fut.result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop = None

    @staticmethod
    async def _shutdown(runner: web.AppRunner) -> None:
        """Stop listening, then cancel handlers still stalling (a stall lasts 30 s)."""
        await runner.cleanup()
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for t in others:
            t.cancel()
        await asyncio.gather(*others, return_exceptions=True)

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _start_process(self) -> FakeOpenAI:
        if self.texts is not None and callable(self.texts):
            raise ValueError("subprocess mode needs texts as a list (functions do not pickle)")
        config = {"texts": list(self.texts) if self.texts is not None else None,
                  "latency_s": self.latency_s, "chunk_delay_s": self.chunk_delay_s,
                  "usage_mode": self.usage_mode, "reasoning": self.reasoning}
        self._proc, self._port = start_ready_process(
            [sys.executable, __file__, json.dumps(config)], "fake OpenAI subprocess")
        return self

    def _serve(self, sock: socket.socket, ready: threading.Event) -> None:
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        self._runner = web.AppRunner(self.app(), shutdown_timeout=0.2, access_log=None)
        self._loop.run_until_complete(self._runner.setup())
        self._loop.run_until_complete(web.SockSite(self._runner, sock).start())
        ready.set()
        self._loop.run_forever()
        self._loop.close()

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self._handle)
        app.router.add_get("/v1/_stats", self._stats)
        app.router.add_post("/v1/_faults", self._set_faults_http)
        return app

    async def _stats(self, request: web.Request) -> web.Response:
        return web.json_response({"attempts": self._attempts})

    async def _set_faults_http(self, request: web.Request) -> web.Response:
        body = await request.json()
        then = body.get("then")
        self.set_faults(*[Fault(**f) if f else None for f in body["faults"]],
                        then=Fault(**then) if then else None)
        return web.json_response({"ok": True})

    # ---- request handling -------------------------------------------------------------
    def _next_fault(self) -> tuple[int, Fault | None]:
        with self._lock:
            self._attempts += 1
            fault = self._faults.pop(0) if self._faults else self._then
            return self._attempts, fault

    def _texts_for(self, body: dict[str, Any], attempt: int, n: int, fault: Fault | None
                   ) -> list[str]:
        if fault is not None and fault.kind == "empty":
            return [""] * n
        if fault is not None and fault.kind == "huge":
            return [(f"{i}" + " lorem ipsum dolor") * (fault.size_bytes // 18 + 1)
                    for i in range(n)]
        out = []
        for i in range(n):
            if callable(self.texts):
                out.append(self.texts(body, attempt, i))
            elif self.texts:
                with self._lock:
                    out.append(self.texts[self._choice_counter % len(self.texts)])
                    self._choice_counter += 1
            else:
                out.append(f"Path {i} of attempt {attempt}: so the answer is {40 + i}.")
        return out

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return await self._respond(request)
        finally:
            self.in_flight -= 1

    async def _respond(self, request: web.Request) -> web.StreamResponse:
        attempt, fault = self._next_fault()
        body = await request.json()
        self.requests.append(body)
        self.peers.append(request.transport.get_extra_info("peername")
                          if request.transport is not None else None)
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        kind = fault.kind if fault else None
        if fault is not None and kind == "rate_limit":
            headers = {} if fault.retry_after is None else {"Retry-After": str(fault.retry_after)}
            return _error(429, "Rate limit reached, slow down", "rate_limit_exceeded", headers)
        if fault is not None and kind == "auth":
            key = request.headers.get("Authorization", "")
            return _error(401, f"Incorrect API key provided: {key}", "invalid_api_key", {})
        if fault is not None and kind == "server_error":
            return _error(fault.status, "The server had an error", "server_error", {})
        n = int(body.get("n") or 1)
        kept = min(n, fault.choices) if fault is not None and kind == "few_choices" else n
        texts = self._texts_for(body, attempt, kept, fault)
        max_tokens = body.get("max_completion_tokens") or body.get("max_tokens")
        pieces, finish = [], []
        for t in texts:
            toks = ([t[i:i + _HUGE_PIECE] for i in range(0, len(t), _HUGE_PIECE)]
                    if kind == "huge" else tokens_of(t))
            cut = max_tokens is not None and kind != "huge" and len(toks) > int(max_tokens)
            pieces.append(toks[: int(max_tokens)] if cut else toks)
            finish.append("length" if cut else "stop")
        usage = self._usage(body, pieces)
        if body.get("stream"):
            try:
                return await self._stream(request, body, pieces, finish, usage, fault)
            except ConnectionError:  # the client hung up (timeouts, cancellation): fine
                return web.Response(status=499)
        if fault is not None and kind in ("stall_first", "stall_mid"):
            await asyncio.sleep(fault.stall_s)
        if fault is not None and kind == "cut":
            _abort(request)
            return web.Response(status=500)
        if fault is not None and kind == "garbage":
            return web.Response(text='{"choices": [ garbage', content_type="application/json")
        return web.json_response(self._full(body, pieces, finish, usage))

    def _usage(self, body: dict[str, Any], pieces: list[list[str]]) -> dict[str, Any]:
        prompt = sum(len(tokens_of(str(m.get("content") or ""))) + 4
                     for m in body.get("messages", []))
        counts = [len(p) for p in pieces]
        out = sum(counts) if self.usage_mode == "sum" else (counts[0] if counts else 0)
        reasoning = len(tokens_of(self.reasoning)) * len(pieces) if self.reasoning else 0
        return {"prompt_tokens": prompt, "completion_tokens": out + reasoning,
                "total_tokens": prompt + out + reasoning,
                "completion_tokens_details": {"reasoning_tokens": reasoning}}

    def _full(self, body: dict[str, Any], pieces: list[list[str]], finish: list[str],
              usage: dict[str, Any]) -> dict[str, Any]:
        choices = []
        for i, toks in enumerate(pieces):
            msg: dict[str, Any] = {"role": "assistant", "content": "".join(toks)}
            if self.reasoning:
                msg["reasoning_content"] = self.reasoning
            c: dict[str, Any] = {"index": i, "message": msg, "finish_reason": finish[i]}
            if body.get("logprobs"):
                c["logprobs"] = {"content": [_lp(t, k, _top(body)) for k, t in enumerate(toks)]}
            choices.append(c)
        return {"id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()),
                "model": body.get("model", "fake"), "choices": choices, "usage": usage}

    async def _stream(self, request: web.Request, body: dict[str, Any],
                      pieces: list[list[str]], finish: list[str], usage: dict[str, Any],
                      fault: Fault | None) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        if fault is None and not self.chunk_delay_s:  # nothing to interleave: one write,
            await resp.write(self._burst(body, pieces, finish, usage))  # as a fast server
            await resp.write_eof()  # coalesces a burst of tokens
            return resp
        if fault is not None and fault.kind == "stall_first":
            await asyncio.sleep(fault.stall_s)
        sent = 0
        for chunk in self._chunks(body, pieces, finish):
            if fault is not None and sent == fault.after_chunks:
                if fault.kind == "cut":
                    _abort(request)
                    return resp
                if fault.kind == "garbage":
                    await resp.write(b'data: {"id": "chatcmpl-fake", "choices": [{{garbage\n\n')
                if fault.kind == "stall_mid":
                    await asyncio.sleep(fault.stall_s)
            await resp.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
            sent += 1
            if self.chunk_delay_s:
                await asyncio.sleep(self.chunk_delay_s)
        for tail in self._events(body, [], usage):
            await resp.write(tail)
        await resp.write_eof()
        return resp

    def _burst(self, body: dict[str, Any], pieces: list[list[str]], finish: list[str],
               usage: dict[str, Any]) -> bytes:
        """The whole event stream of a fault-free answer, cached: load benchmarks send the
        same request thousands of times and measure the client, not this server."""
        key = json.dumps([pieces, finish, usage, body.get("model"), bool(body.get("logprobs")),
                          body.get("stream_options"), _top(body)])
        found = self._bursts.get(key)
        if found is None:
            found = b"".join(self._events(body, self._chunks(body, pieces, finish), usage))
            if len(self._bursts) < 1024:
                self._bursts[key] = found
        return found

    @staticmethod
    def _events(body: dict[str, Any], chunks: list[dict[str, Any]], usage: dict[str, Any]
                ) -> list[bytes]:
        """Server-sent events for ``chunks``, then the usage chunk if asked for, then DONE."""
        out = [b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks]
        if (body.get("stream_options") or {}).get("include_usage"):
            last = _chunk(body, [])
            last["usage"] = usage
            out.append(b"data: " + json.dumps(last).encode() + b"\n\n")
        out.append(b"data: [DONE]\n\n")
        return out

    def _chunks(self, body: dict[str, Any], pieces: list[list[str]], finish: list[str]
                ) -> list[dict[str, Any]]:
        """Role chunk per choice, then tokens interleaved round-robin, then finish chunks."""
        out = [_chunk(body, [{"index": i, "delta": {"role": "assistant", "content": ""},
                              "finish_reason": None}]) for i in range(len(pieces))]
        if self.reasoning:
            for i in range(len(pieces)):
                for t in tokens_of(self.reasoning):
                    out.append(_chunk(body, [{"index": i, "delta": {"reasoning_content": t},
                                              "finish_reason": None}]))
        for k in range(max((len(p) for p in pieces), default=0)):
            for i, toks in enumerate(pieces):
                if k < len(toks):
                    c: dict[str, Any] = {"index": i, "delta": {"content": toks[k]},
                                         "finish_reason": None}
                    if body.get("logprobs"):
                        c["logprobs"] = {"content": [_lp(toks[k], k, _top(body))]}
                    out.append(_chunk(body, [c]))
        out += [_chunk(body, [{"index": i, "delta": {}, "finish_reason": finish[i]}])
                for i in range(len(pieces))]
        return out


def _chunk(body: dict[str, Any], choices: list[dict[str, Any]]) -> dict[str, Any]:
    return {"id": "chatcmpl-fake", "object": "chat.completion.chunk",
            "created": int(time.time()), "model": body.get("model", "fake"), "choices": choices}


def _top(body: dict[str, Any]) -> int:
    """How many alternatives were asked for; the fake sends them only for more than one."""
    k = int(body.get("top_logprobs") or 0)
    return k if k > 1 else 0


def _lp(token: str, k: int, top: int = 0) -> dict[str, Any]:
    """Token ``k``'s logprob; with ``top``, the alternatives as llama.cpp sends them: the
    chosen token first, then ``alt1..`` at 1, 2, ... nats below it."""
    raw = list(token.encode()) if len(token) <= 64 else None  # keep huge chunks small
    alts = [{"token": token if j == 0 else f"alt{j}", "logprob": _logprob(k) - j}
            for j in range(top)]
    return {"token": token, "logprob": _logprob(k), "bytes": raw, "top_logprobs": alts}


def _error(status: int, message: str, code: str, headers: dict[str, str]) -> web.Response:
    body = {"error": {"message": message, "type": code, "code": code, "param": None}}
    return web.json_response(body, status=status, headers=headers)


def _abort(request: web.Request) -> None:
    """Drop the TCP connection without finishing the response (a crashed upstream)."""
    if request.transport is not None:
        request.transport.abort()


def start_ready_process(argv: list[str], what: str, timeout_s: float = 60.0
                        ) -> tuple[subprocess.Popen[str], int]:
    """Start a server process that prints ``READY <port>`` once it listens; return it and
    the port (a child that stays silent for ``timeout_s`` is killed, not waited on)."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout_s)
    line = proc.stdout.readline() if ready else ""
    if not line.startswith("READY "):
        proc.kill()
        proc.wait(10)
        raise RuntimeError(f"{what} failed to start: {line!r}")
    return proc, int(line.split()[1])


def stop_process(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    proc.wait(10)


def _main(config_json: str) -> None:
    server = FakeOpenAI(**json.loads(config_json))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]

    async def serve() -> None:
        runner = web.AppRunner(server.app(), shutdown_timeout=0.2, access_log=None)
        await runner.setup()
        await web.SockSite(runner, sock).start()
        print(f"READY {port}", flush=True)
        await asyncio.Event().wait()

    asyncio.run(serve())


if __name__ == "__main__":
    _main(sys.argv[1])
