"""Fake Anthropic-Messages and Gemini servers on 127.0.0.1, reached through litellm's
``api_base``, so the thinking-budget mapping, the streaming of thinking blocks, reasoning
token accounting and cost are tested end to end through litellm's real provider code.

Both stream what the provider streams (measured against litellm 1.x's parsers):

* Anthropic ``POST /v1/messages`` (``stream: true``): ``message_start`` with input usage,
  a ``thinking`` content block streamed as ``thinking_delta`` + ``signature_delta``, a
  ``text`` block of ``text_delta``, then ``message_delta`` with ``output_tokens`` (which,
  as Anthropic bills it, includes the thinking tokens) and ``message_stop``.
* Gemini ``POST /models/{model}:streamGenerateContent?alt=sse``: chunks of ``parts``, the
  thought parts flagged ``"thought": true``, the last with ``finishReason`` and
  ``usageMetadata`` (``candidatesTokenCount`` for the answer, ``thoughtsTokenCount`` apart).

Tokens are whitespace-delimited words, as in :mod:`fakes.fake_openai`. Each request body is
kept in ``requests`` (with its path) for assertions on what litellm sent.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from typing import Any

from aiohttp import web
from fakes.fake_openai import tokens_of


class FakeProviders:
    """``with FakeProviders(thinking, answer) as fp: fp.anthropic_base / fp.gemini_base``."""

    def __init__(self, thinking: str, answer: str, prompt_tokens: int = 12) -> None:
        self.thinking, self.answer, self.prompt_tokens = thinking, answer, prompt_tokens
        self.requests: list[tuple[str, dict[str, Any], dict[str, str]]] = []
        self._port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None

    @property
    def anthropic_base(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    @property
    def gemini_base(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    # ---- responses ------------------------------------------------------------------
    @staticmethod
    def _sse(event: str | None, data: dict[str, Any]) -> bytes:
        head = f"event: {event}\n" if event else ""
        return (head + "data: " + json.dumps(data) + "\n\n").encode()

    def _anthropic_events(self, model: str) -> list[bytes]:
        think, text = tokens_of(self.thinking), tokens_of(self.answer)
        ev = [self._sse("message_start", {"type": "message_start", "message": {
            "id": "msg_fake", "type": "message", "role": "assistant", "model": model,
            "content": [], "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": self.prompt_tokens, "output_tokens": 1}}})]
        if think:
            ev.append(self._sse("content_block_start", {"type": "content_block_start",
                                "index": 0, "content_block": {"type": "thinking",
                                                              "thinking": "", "signature": ""}}))
            ev += [self._sse("content_block_delta", {"type": "content_block_delta", "index": 0,
                             "delta": {"type": "thinking_delta", "thinking": t}}) for t in think]
            ev.append(self._sse("content_block_delta", {"type": "content_block_delta",
                                "index": 0, "delta": {"type": "signature_delta",
                                                      "signature": "c2ln"}}))
            ev.append(self._sse("content_block_stop", {"type": "content_block_stop", "index": 0}))
        i = 1 if think else 0
        ev.append(self._sse("content_block_start", {"type": "content_block_start", "index": i,
                            "content_block": {"type": "text", "text": ""}}))
        ev += [self._sse("content_block_delta", {"type": "content_block_delta", "index": i,
                         "delta": {"type": "text_delta", "text": t}}) for t in text]
        ev.append(self._sse("content_block_stop", {"type": "content_block_stop", "index": i}))
        ev.append(self._sse("message_delta", {"type": "message_delta", "delta": {
            "stop_reason": "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": len(think) + len(text)}}))
        ev.append(self._sse("message_stop", {"type": "message_stop"}))
        return ev

    def _gemini_events(self) -> list[bytes]:
        think, text = tokens_of(self.thinking), tokens_of(self.answer)
        ev = [self._sse(None, {"candidates": [{"content": {"role": "model", "parts": [
            {"text": t, "thought": True}]}, "index": 0}]}) for t in think]
        ev += [self._sse(None, {"candidates": [{"content": {"role": "model", "parts": [
            {"text": t}]}, "index": 0}]}) for t in text[:-1]]
        ev.append(self._sse(None, {"candidates": [{"content": {"role": "model", "parts": [
            {"text": text[-1]}]}, "finishReason": "STOP", "index": 0}], "usageMetadata": {
            "promptTokenCount": self.prompt_tokens, "candidatesTokenCount": len(text),
            "thoughtsTokenCount": len(think),
            "totalTokenCount": self.prompt_tokens + len(text) + len(think)}}))
        return ev

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append((request.path_qs, body, dict(request.headers)))
        if request.path.endswith("/v1/messages"):
            events = self._anthropic_events(str(body.get("model")))
        elif ":streamGenerateContent" in request.path:
            events = self._gemini_events()
        else:
            return web.json_response({"error": f"no route {request.path}"}, status=404)
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        for e in events:
            await resp.write(e)
        await resp.write_eof()
        return resp

    # ---- lifecycle ------------------------------------------------------------------
    def start(self) -> FakeProviders:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self._port = sock.getsockname()[1]
        ready = threading.Event()

        def serve() -> None:
            loop = self._loop = asyncio.new_event_loop()
            app = web.Application()
            app.router.add_post("/{tail:.*}", self._handle)
            self._runner = web.AppRunner(app, access_log=None)
            loop.run_until_complete(self._runner.setup())
            loop.run_until_complete(web.SockSite(self._runner, sock).start())
            ready.set()
            loop.run_forever()

        self._thread = threading.Thread(target=serve, daemon=True, name="fake-providers")
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("fake provider server did not start")
        return self

    def stop(self) -> None:
        if self._loop is None or self._runner is None or self._thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop = self._runner = self._thread = None

    def __enter__(self) -> FakeProviders:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
