"""Anthropic-Messages and Gemini end to end through litellm's real provider code (fake
servers on 127.0.0.1 via ``api_base``): the thinking-budget mapping as sent, the streamed
thinking kept per path, reasoning tokens apart from answer tokens, cost from the price
table, and all of it through the runner into the store and back out of replay."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes.fake_providers import FakeProviders
from faults.fault_kit import warm_litellm

from workbench.api import run_experiment_async
from workbench.backends.base import GenRequest
from workbench.backends.litellm_adapter import LiteLLMBackend, ModelConfig
from workbench.backends.pricing import price_of
from workbench.events import PathFinished
from workbench.runner import RunSpec
from workbench.store.replay import replay
from workbench.store.store import Store

THINKING = "Seven and five: count up from seven, eight nine ten eleven twelve"
ANSWER = "The answer is 12"
CLAUDE = "anthropic/claude-sonnet-4-5-20250929"
GEMINI = "gemini/gemini-2.5-flash"


@pytest.fixture(scope="module")
def providers() -> FakeProviders:
    warm_litellm()
    with FakeProviders(THINKING, ANSWER) as fp:
        yield fp


def _backend(fp: FakeProviders, monkeypatch: pytest.MonkeyPatch) -> LiteLLMBackend:
    monkeypatch.setenv("WB_TEST_ANTHROPIC", "sk-ant-fake-123")
    monkeypatch.setenv("WB_TEST_GEMINI", "g-fake-456")
    return LiteLLMBackend({
        "claude": ModelConfig(CLAUDE, api_base=fp.anthropic_base, api_key_env="WB_TEST_ANTHROPIC"),
        "gemini": ModelConfig(GEMINI, api_base=fp.gemini_base, api_key_env="WB_TEST_GEMINI")})


def _req(model: str, budget: int | None) -> GenRequest:
    return GenRequest(model=model, messages=({"role": "user", "content": "7 + 5?"},),
                      max_tokens=256, temperature=0.0, thinking_budget=budget)


async def test_anthropic_thinking_budget_blocks_tokens_and_cost(
        providers: FakeProviders, monkeypatch: pytest.MonkeyPatch) -> None:
    providers.requests.clear()
    shown: list[str] = []
    [r] = await _backend(providers, monkeypatch).generate(
        _req("claude", 600), lambda i, text: shown.append(text))
    # the answer streams live in pieces; the thinking block never leaks into it
    assert len(shown) > 1 and "".join(shown) == ANSWER
    path, body, headers = providers.requests[-1]
    assert path == "/v1/messages" and headers["x-api-key"] == "sk-ant-fake-123"
    # Anthropic's minimum budget is 1024; max_tokens counts thinking, temperature must be 1
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 1024}
    assert body["max_tokens"] == 256 + 1024 and body["temperature"] == 1.0
    assert (r.text, r.reasoning_text, r.error) == (ANSWER, THINKING, None)
    # output_tokens includes thinking; the split is estimated from the streamed text
    assert r.tokens_in == 12 and r.tokens_out + r.tokens_reasoning >= 14
    assert r.extra["reasoning_tokens_estimated"] and r.tokens_reasoning > r.tokens_out
    price = price_of(CLAUDE)
    assert price is not None and price.output_per_token > 0
    billed = r.tokens_out + r.tokens_reasoning
    assert r.cost_usd == pytest.approx(12 * price.input_per_token + billed * price.output_per_token)


async def test_gemini_thinking_budget_thoughts_and_reasoning_tokens(
        providers: FakeProviders, monkeypatch: pytest.MonkeyPatch) -> None:
    providers.requests.clear()
    [r] = await _backend(providers, monkeypatch).generate(_req("gemini", 512))
    path, body, headers = providers.requests[-1]
    assert ":streamGenerateContent" in path and headers["x-goog-api-key"] == "g-fake-456"
    assert body["generationConfig"]["thinkingConfig"]["thinkingBudget"] == 512
    assert (r.text, r.reasoning_text) == (ANSWER, THINKING)
    assert (r.tokens_in, r.tokens_out, r.tokens_reasoning) == (12, 4, 12)  # reported apart
    assert "reasoning_tokens_estimated" not in r.extra
    price = price_of(GEMINI)
    assert price is not None
    assert r.cost_usd == pytest.approx(12 * price.input_per_token + 16 * price.output_per_token)


async def test_no_budget_sends_no_thinking(providers: FakeProviders,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    providers.requests.clear()
    await _backend(providers, monkeypatch).generate(_req("claude", None))
    assert "thinking" not in providers.requests[-1][1]


@pytest.mark.parametrize("model", ["gemini", "claude"])
async def test_a_run_stores_and_replays_the_thinking(
        providers: FakeProviders, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        model: str) -> None:
    """Through the runner, which seeds every request: Anthropic takes no seed, and litellm
    refused the whole request while the adapter sent one (every sample failed)."""
    providers.requests.clear()
    spec = RunSpec(task="arithmetic", technique="cot", model=model, limit=2,
                   thinking_budget=300)
    with Store.open(tmp_path / "t.duckdb") as store:
        result = await run_experiment_async(spec, store=store,
                                            backend=_backend(providers, monkeypatch))
        paths = store.paths(result.run_id)
        finished = [e for e in replay(store, result.run_id) if isinstance(e, PathFinished)]
        raw = store.query("SELECT * FROM paths").to_dicts()
    assert paths["error"].to_list() == [None, None]
    if model == "claude":
        assert all("seed" not in body for _, body, _ in providers.requests)
    assert paths["reasoning"].to_list() == [THINKING, THINKING]
    assert paths["text"].to_list() == [ANSWER, ANSWER]  # thinking kept apart from the text
    reasoning = paths["tokens_reasoning"].to_list()
    assert reasoning == [12, 12] if model == "gemini" else all(t > 0 for t in reasoning)
    assert all(p > 0 for p in paths["cost_usd"].to_list())
    assert [e.reasoning for e in finished] == [THINKING, THINKING]
    assert "g-fake-456" not in str(raw) and "sk-ant-fake-123" not in str(raw)  # keys unstored
