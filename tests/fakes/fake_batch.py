"""A fake OpenAI batch endpoint on 127.0.0.1: ``/v1/files`` + ``/v1/batches``.

It stores uploaded JSONL, reports a batch as ``validating`` then ``in_progress`` for
``polls_in_progress`` retrievals, then ends it as ``final_status`` ("completed", "expired",
"cancelled" or "failed"). Lines whose request matches ``fail_when`` go to the error file;
with "expired"/"cancelled" only the first ``partial_done`` lines get an output. ``hold``
keeps every batch in progress until released (to kill a client mid-batch). Counts of
submissions and polls are kept for tests. Usage is counted like :mod:`fakes.fake_openai`
(whitespace words, 4 tokens of overhead per message), so a batched sweep and a streamed one
against the same texts store the same token counts.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from aiohttp import web
from fakes.fake_openai import tokens_of

Text = Callable[[dict[str, Any]], str]


def default_text(body: dict[str, Any]) -> str:
    """'... The answer is N' where N is a+b of a 'What is a+b?' question (else 7)."""
    content = " ".join(str(m.get("content", "")) for m in body.get("messages", []))
    found = re.findall(r"(\d+)\s*\+\s*(\d+)", content)
    n = int(found[-1][0]) + int(found[-1][1]) if found else 7
    return f"batch reasoning step The answer is {n}"


class FakeBatchAPI:
    def __init__(self, *, text: Text = default_text, polls_in_progress: int = 2,
                 final_status: str = "completed", fail_when: Callable[[dict[str, Any]], bool]
                 | None = None, partial_done: int = 0, hold: bool = False) -> None:
        self.text = text
        self.polls_in_progress = polls_in_progress
        self.final_status = final_status
        self.fail_when = fail_when
        self.partial_done = partial_done
        self.hold = hold
        self.files: dict[str, bytes] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self.submits = 0
        self.polls = 0
        self.lines_submitted = 0
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> FakeBatchAPI:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(sock, ready), daemon=True)
        self._thread.start()
        assert ready.wait(10), "fake batch server did not start"
        return self

    def stop(self) -> None:
        if self._loop is not None:
            fut = asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop)
            fut.result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop = None

    def __enter__(self) -> FakeBatchAPI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _serve(self, sock: socket.socket, ready: threading.Event) -> None:
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        app = web.Application(client_max_size=256 * 1024 * 1024)
        app.router.add_post("/v1/files", self._upload)
        app.router.add_get("/v1/files/{fid}/content", self._content)
        app.router.add_post("/v1/batches", self._create)
        app.router.add_get("/v1/batches/{bid}", self._retrieve)
        app.router.add_post("/v1/batches/{bid}/cancel", self._cancel)
        self._runner = web.AppRunner(app, shutdown_timeout=0.2, access_log=None)
        self._loop.run_until_complete(self._runner.setup())
        self._loop.run_until_complete(web.SockSite(self._runner, sock).start())
        ready.set()
        self._loop.run_forever()
        self._loop.close()

    async def _upload(self, request: web.Request) -> web.Response:
        form = await request.post()
        field = form["file"]
        data = field.file.read() if hasattr(field, "file") else bytes(str(field), "utf-8")
        fid = f"file-{uuid.uuid4().hex[:10]}"
        self.files[fid] = data
        return web.json_response({"id": fid, "object": "file", "bytes": len(data),
                                  "created_at": int(time.time()), "filename": "in.jsonl",
                                  "purpose": str(form.get("purpose", "batch")),
                                  "status": "processed"})

    async def _content(self, request: web.Request) -> web.Response:
        fid = request.match_info["fid"]
        if fid not in self.files:
            return web.json_response({"error": {"message": "no such file"}}, status=404)
        return web.Response(body=self.files[fid], content_type="application/octet-stream")

    async def _create(self, request: web.Request) -> web.Response:
        body = await request.json()
        fid = body["input_file_id"]
        lines = [json.loads(x) for x in self.files[fid].decode().splitlines() if x.strip()]
        self.submits += 1
        self.lines_submitted += len(lines)
        bid = f"batch_{uuid.uuid4().hex[:10]}"
        self.batches[bid] = {"id": bid, "object": "batch", "endpoint": body["endpoint"],
                             "input_file_id": fid, "completion_window": "24h",
                             "status": "validating", "created_at": int(time.time()),
                             "output_file_id": None, "error_file_id": None, "errors": None,
                             "request_counts": {"total": len(lines), "completed": 0,
                                                "failed": 0},
                             "_lines": lines, "_polls": 0}
        return web.json_response(self._public(bid))

    def _public(self, bid: str) -> dict[str, Any]:
        return {k: v for k, v in self.batches[bid].items() if not k.startswith("_")}

    async def _retrieve(self, request: web.Request) -> web.Response:
        bid = request.match_info["bid"]
        if bid not in self.batches:
            return web.json_response({"error": {"message": "no such batch"}}, status=404)
        self.polls += 1
        b = self.batches[bid]
        if b["status"] in ("validating", "in_progress"):
            b["_polls"] += 1
            if self.hold or b["_polls"] <= self.polls_in_progress:
                b["status"] = "in_progress"
                done = min(len(b["_lines"]), b["_polls"])
                b["request_counts"]["completed"] = done
            else:
                self._finish(b, self.final_status)
        return web.json_response(self._public(bid))

    async def _cancel(self, request: web.Request) -> web.Response:
        bid = request.match_info["bid"]
        self._finish(self.batches[bid], "cancelled")
        return web.json_response(self._public(bid))

    def _finish(self, b: dict[str, Any], status: str) -> None:
        lines = b["_lines"]
        if status == "failed":
            b["status"] = "failed"
            b["errors"] = {"data": [{"code": "invalid_request", "message": "bad input file"}]}
            return
        runs = lines if status == "completed" else lines[: self.partial_done]
        out, err = [], []
        for line in runs:
            body = line["body"]
            if self.fail_when is not None and self.fail_when(body):
                err.append({"id": uuid.uuid4().hex, "custom_id": line["custom_id"],
                            "response": {"status_code": 400, "body": {"error": {
                                "message": "context length exceeded", "code": "bad"}}},
                            "error": None})
                continue
            out.append({"id": uuid.uuid4().hex, "custom_id": line["custom_id"],
                        "response": {"status_code": 200, "body": self._completion(body)},
                        "error": None})
        for rec, key in ((out, "output_file_id"), (err, "error_file_id")):
            if rec:
                fid = f"file-{uuid.uuid4().hex[:10]}"
                self.files[fid] = "".join(json.dumps(r) + "\n" for r in rec).encode()
                b[key] = fid
        b["status"] = status
        b["request_counts"] = {"total": len(lines), "completed": len(out), "failed": len(err)}

    def _completion(self, body: dict[str, Any]) -> dict[str, Any]:
        text = self.text(body)
        words = tokens_of(text)  # usage counted as fakes.fake_openai counts a streamed path
        prompt = sum(len(tokens_of(str(m.get("content") or ""))) + 4 for m in body["messages"])
        finish = "length" if len(words) > body.get("max_tokens", 10**9) else "stop"
        return {"id": uuid.uuid4().hex, "object": "chat.completion", "model": body["model"],
                "choices": [{"index": 0, "finish_reason": finish,
                             "message": {"role": "assistant", "content": text}}],
                "usage": {"prompt_tokens": prompt, "completion_tokens": len(words),
                          "total_tokens": prompt + len(words)}}
