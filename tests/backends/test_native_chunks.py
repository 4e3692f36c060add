"""A native ``n`` larger than the server allows (llama.cpp: n <= slots) is split."""

from __future__ import annotations

from collections.abc import Callable

from fakes.fake_openai import FakeOpenAI
from test_litellm_adapter import req

from workbench.backends.litellm_adapter import LiteLLMBackend


async def test_n_above_max_native_n_is_split_into_native_chunks(
        server: FakeOpenAI, make_backend: Callable[..., LiteLLMBackend]) -> None:
    server.texts = [f"t{i}" for i in range(5)]
    seen: dict[int, str] = {}
    results = await make_backend(max_native_n=2).generate(
        req(n=5, seed=3), lambda i, t: seen.__setitem__(i, seen.get(i, "") + t))
    assert sorted(b.get("n", 1) for b in server.requests) == [1, 2, 2]
    assert sorted(b["seed"] for b in server.requests) == [3, 5, 7]
    assert [r.index for r in results] == [0, 1, 2, 3, 4]
    assert all(r.error is None for r in results)
    assert seen == {r.index: r.text for r in results}
