"""A fake vLLM reward-model server on 127.0.0.1: ``/pooling``, ``/classify``, ``/score``.

Replies as vLLM does (``data[0].data`` = one ``[p_bad, p_good]`` pair per step tag for
``/pooling``; ``data[0].probs`` for ``/classify``; ``data[0].score`` for ``/score``; a
``usage`` with ``prompt_tokens``), scoring each step by ``step_score(step_text)``. Faults,
per request, in the order set (then ``then``): ``"500"``, ``"timeout"`` (hangs),
``"garbage"`` (not JSON), ``"no_data"`` (JSON without scores), ``"wrong_count"`` (one score
too few), ``"nan"``. Same thread-and-own-loop pattern as ``fake_openai``.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Callable
from typing import Any

from aiohttp import web

FAULTS = ("500", "timeout", "garbage", "no_data", "wrong_count", "nan")


def default_step_score(step: str) -> float:
    """0.9 for a step that says 'good', 0.1 for 'bad', else 0.5."""
    return 0.9 if "good" in step else 0.1 if "bad" in step else 0.5


class FakeReward:
    def __init__(self, step_score: Callable[[str], float] = default_step_score,
                 step_tag: str = "<extra_0>") -> None:
        self.step_score, self.step_tag = step_score, step_tag
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self._faults: list[str | None] = []
        self._then: str | None = None
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    def set_faults(self, *faults: str | None, then: str | None = None) -> None:
        with self._lock:
            self._faults, self._then = list(faults), then

    def _next_fault(self) -> str | None:
        with self._lock:
            return self._faults.pop(0) if self._faults else self._then

    def start(self) -> FakeReward:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self._port = sock.getsockname()[1]
        ready = threading.Event()
        threading.Thread(target=self._serve, args=(sock, ready), daemon=True,
                         name="fake-reward").start()
        if not ready.wait(10):
            raise RuntimeError("fake reward server did not start")
        return self

    def _serve(self, sock: socket.socket, ready: threading.Event) -> None:
        self._loop = asyncio.new_event_loop()
        app = web.Application()
        for route in ("pooling", "classify", "score"):
            app.router.add_post(f"/{route}", self._handler(route))
        self._runner = web.AppRunner(app, shutdown_timeout=0.1, access_log=None)
        self._loop.run_until_complete(self._runner.setup())
        self._loop.run_until_complete(web.SockSite(self._runner, sock).start())
        ready.set()
        self._loop.run_forever()

    def stop(self) -> None:
        if self._loop is None or self._runner is None:
            return
        fut = asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop)
        try:
            fut.result(5)
        except Exception:  # noqa: BLE001  (a hung handler: the loop dies with the thread)
            pass
        self._loop.call_soon_threadsafe(self._loop.stop)

    def __enter__(self) -> FakeReward:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _handler(self, route: str) -> Callable[[web.Request], Any]:
        async def handle(request: web.Request) -> web.StreamResponse:
            body = await request.json()
            self.requests.append((route, body))
            fault = self._next_fault()
            if fault == "500":
                return web.Response(status=500, text='{"error": "engine died"}')
            if fault == "timeout":
                await asyncio.sleep(30)
            if fault == "garbage":
                return web.Response(text="<html>oops", content_type="text/html")
            if fault == "no_data":
                return web.json_response({"object": "list", "data": []})
            return web.json_response(self._reply(route, body, fault))
        return handle

    def _reply(self, route: str, body: dict[str, Any], fault: str | None) -> dict[str, Any]:
        if route == "pooling":
            answer = body["messages"][-1]["content"]
            steps = answer.split(self.step_tag)[:-1]
            scores = [self.step_score(s) for s in steps]
            if fault == "wrong_count":
                scores = scores[:-1]
            pairs: list[Any] = [[1 - p, p] for p in scores]
            if fault == "nan":
                pairs = [[0.5, "NaN"] for _ in scores]
            data: dict[str, Any] = {"index": 0, "object": "pooling", "data": pairs}
            text = json.dumps(body["messages"])
        elif route == "classify":
            p = self.step_score(body["input"].split("\n\n")[-1])
            data, text = {"index": 0, "label": "good", "probs": [1 - p, p]}, body["input"]
        else:
            p = self.step_score(body["text_2"].split("\n\n")[-1])
            data, text = {"index": 0, "object": "score", "score": p}, body["text_2"]
        tokens = len(text.split())
        return {"id": "pool-1", "object": "list", "model": body.get("model"), "data": [data],
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}
