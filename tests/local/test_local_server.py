"""The embedded llama.cpp server: lifecycle, and the OpenAI-compatible behaviour that the
litellm adapter relies on (n > 1, per-choice usage, logprobs in the stream)."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from workbench.errors import WorkbenchError
from workbench.local.config import LocalConfig
from workbench.local.server import (
    LocalServer,
    ensure_local_server,
    in_process_endpoint,
    stop_local_server,
)
from workbench.local.state import probe_health

pytestmark = pytest.mark.local_model
PROMPT = [{"role": "user", "content": "Name three colours, one per line."}]


@pytest.fixture(scope="module")
def server(real_gguf: Path) -> Iterator[LocalServer]:
    with LocalServer(LocalConfig(gguf=real_gguf, n_parallel=4, n_ctx=4096, threads=2)) as srv:
        yield srv


def test_start_health_stop(real_gguf: Path) -> None:
    srv = LocalServer(LocalConfig(gguf=real_gguf, n_parallel=2, n_ctx=2048, threads=2))
    srv.start()
    api_base = srv.api_base
    assert api_base.startswith("http://127.0.0.1:") and api_base.endswith("/v1")
    assert probe_health(api_base)
    with urllib.request.urlopen(api_base[:-3] + "/props") as resp:
        props = json.loads(resp.read())
    assert props["total_slots"] == 2
    assert props["default_generation_settings"]["n_ctx"] == 2048
    assert props["model_alias"] == srv.model_name == "qwen2.5-coder-0.5b-instruct-q4_k_m"
    srv.stop()
    assert not probe_health(api_base, timeout=1.0)
    srv.stop()  # idempotent
    with pytest.raises(WorkbenchError, match="not running"):
        _ = srv.api_base


def test_not_a_gguf_fails_clearly(tmp_path: Path) -> None:
    bogus = tmp_path / "model.gguf"
    bogus.write_bytes(b"definitely not a model")
    with pytest.raises(WorkbenchError, match="as a GGUF model file"):
        LocalServer(LocalConfig(gguf=bogus)).start()


async def _stream(api_base: str, body: dict[str, Any]) -> dict[str, Any]:
    texts: dict[int, str] = {}
    logprob_tokens: dict[int, int] = {}
    finished: list[int] = []
    usage_after: dict[int, int] = {}  # usage chunk -> the choice that finished just before
    connector = aiohttp.TCPConnector(force_close=True)
    async with aiohttp.ClientSession(connector=connector) as session:
        async with session.post(api_base + "/chat/completions", json=body) as resp:
            assert resp.status == 200, await resp.text()
            async for raw in resp.content:
                line = raw.decode().strip()
                if not line.startswith("data: ") or line == "data: [DONE]":
                    continue
                chunk = json.loads(line[6:])
                for choice in chunk.get("choices", []):
                    i = choice["index"]
                    texts[i] = texts.get(i, "") + (choice["delta"].get("content") or "")
                    content = (choice.get("logprobs") or {}).get("content") or []
                    logprob_tokens[i] = logprob_tokens.get(i, 0) + len(content)
                    if choice.get("finish_reason"):
                        finished.append(i)
                if chunk.get("usage"):
                    usage_after[finished[-1]] = chunk["usage"]["completion_tokens"]
    return {"texts": texts, "logprob_tokens": logprob_tokens, "usage": usage_after}


async def test_streaming_n_choices_with_per_choice_usage_and_logprobs(
        server: LocalServer) -> None:
    body = {"model": server.model_name, "messages": PROMPT, "max_tokens": 24, "n": 3,
            "temperature": 0.9, "logprobs": True, "top_logprobs": 2, "stream": True,
            "stream_options": {"include_usage": True}}
    out = await _stream(server.api_base, body)
    assert sorted(out["texts"]) == [0, 1, 2] and all(out["texts"].values())
    assert all(n > 0 for n in out["logprob_tokens"].values())
    # One usage chunk per choice, each counting only that choice (EOS included).
    assert sorted(out["usage"]) == [0, 1, 2]
    for i, tokens in out["usage"].items():
        assert out["logprob_tokens"][i] <= tokens <= out["logprob_tokens"][i] + 1 <= 25


async def test_non_streaming_usage_counts_only_the_first_choice(server: LocalServer) -> None:
    body = {"messages": PROMPT, "max_tokens": 24, "n": 3, "temperature": 0.9,
            "logprobs": True}
    async with aiohttp.ClientSession() as session:
        async with session.post(server.api_base + "/chat/completions", json=body) as resp:
            data = await resp.json()
    per_choice = [len(c["logprobs"]["content"]) for c in data["choices"]]
    assert len(per_choice) == 3
    assert data["usage"]["completion_tokens"] == per_choice[0]


async def test_n_above_slots_is_rejected(server: LocalServer) -> None:
    body = {"messages": PROMPT, "max_tokens": 4, "n": 5}
    async with aiohttp.ClientSession() as session:
        async with session.post(server.api_base + "/chat/completions", json=body) as resp:
            assert resp.status == 400
            assert "Field 'n'" in (await resp.json())["error"]["message"]


def test_ensure_local_server_is_a_process_singleton(real_gguf: Path, tmp_cache: Path) -> None:
    config = LocalConfig(gguf=real_gguf, n_parallel=2, n_ctx=2048, threads=2)
    try:
        first = ensure_local_server(config)
        assert first.source == "in-process" and first.params_count == 494_032_768
        assert ensure_local_server(config) == first
        assert in_process_endpoint() == first
    finally:
        stop_local_server()
    assert in_process_endpoint() is None
    assert not probe_health(first.api_base, timeout=1.0)
