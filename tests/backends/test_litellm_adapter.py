"""LiteLLMBackend against a real HTTP server through the real litellm: streaming, native n,
fan-out, usage per choice, thinking budgets and the up-front user errors."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Callable

import pytest
from fakes.fake_openai import FakeOpenAI, Fault, tokens_of

from workbench.backends.base import GenRequest
from workbench.backends.litellm_adapter import LiteLLMBackend, ModelConfig
from workbench.backends.retry import RetryPolicy, scrub
from workbench.backends.thinking import thinking_params as _thinking_params
from workbench.errors import WorkbenchError

MESSAGES = ({"role": "system", "content": "Be brief."},
            {"role": "user", "content": "What is two plus two?"})
PROMPT_TOKENS = sum(len(tokens_of(m["content"])) + 4 for m in MESSAGES)  # the fake's count


def req(n: int = 1, max_tokens: int = 64, **kw: object) -> GenRequest:
    return GenRequest(model="fake", messages=MESSAGES, max_tokens=max_tokens, n=n, **kw)  # type: ignore[arg-type]


async def test_deltas_stream_in_order_and_usage_is_counted(
        server: FakeOpenAI, make_backend: Callable[..., LiteLLMBackend], transport: str
) -> None:
    server.texts = ["Two plus two is four, so the answer is 4."]
    seen: list[tuple[int, str]] = []
    [r] = await make_backend().generate(req(), lambda i, t: seen.append((i, t)))
    assert r.ok and r.finish_reason == "stop"
    assert "".join(t for _, t in seen) == r.text  # in order; a burst may come as one delta
    if transport == "litellm":
        assert [t for _, t in seen] == tokens_of(r.text)  # litellm: one delta per chunk
    assert {i for i, _ in seen} == {0}
    assert r.text == "Two plus two is four, so the answer is 4."
    assert (r.tokens_in, r.tokens_out, r.tokens_reasoning) == (PROMPT_TOKENS, 10, 0)
    assert r.cost_usd == 0.0  # a loopback server is free
    assert r.ttft_ms is not None and 0 < r.ttft_ms <= r.latency_ms
    assert r.extra["attempts"] == 1
    body = server.requests[-1]
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert "n" not in body


async def test_tokens_that_arrive_apart_reach_the_callback_apart(
        server: FakeOpenAI, make_backend: Callable[..., LiteLLMBackend]) -> None:
    server.texts = ["one two three four five six"]
    server.chunk_delay_s = 0.03  # a server that streams as it generates
    seen: list[tuple[float, str]] = []
    [r] = await make_backend().generate(
        req(), lambda i, t: seen.append((time.perf_counter(), t)))
    assert r.ok and [t for _, t in seen] == tokens_of(r.text)  # live, token by token
    assert seen[-1][0] - seen[0][0] >= 0.1


async def test_max_tokens_truncation_reports_length(
        server: FakeOpenAI, make_backend: Callable[..., LiteLLMBackend]) -> None:
    server.texts = ["one two three four five six seven"]
    [r] = await make_backend().generate(req(max_tokens=3))
    assert (r.text, r.finish_reason, r.tokens_out) == ("one two three", "length", 3)


async def test_native_n_gives_distinct_choices_with_per_choice_usage(
        server: FakeOpenAI, make_backend: Callable[..., LiteLLMBackend]) -> None:
    server.texts = ["a b", "c d e", "f g h i", "j"]
    per_choice: dict[int, str] = {}

    def on_delta(i: int, t: str) -> None:
        per_choice[i] = per_choice.get(i, "") + t

    results = await make_backend().generate(req(n=4, logprobs=True), on_delta)
    assert server.attempts == 1 and server.requests[0]["n"] == 4
    assert [r.index for r in results] == [0, 1, 2, 3]
    assert [r.text for r in results] == ["a b", "c d e", "f g h i", "j"]
    assert per_choice == {r.index: r.text for r in results}
    assert [r.tokens_out for r in results] == [2, 3, 4, 1]
    # The prompt was billed once: its tokens are split so that the choices sum to the call.
    assert sum(r.tokens_in for r in results) == PROMPT_TOKENS
    assert max(r.tokens_in for r in results) - min(r.tokens_in for r in results) <= 1
    assert results[2].logprob_mean == pytest.approx((-0.05 - 0.06 - 0.07 - 0.08) / 4)
    assert all(r.ok and r.finish_reason == "stop" for r in results)


async def test_native_n_with_llamacpp_style_usage_counts_each_choice(
        server: FakeOpenAI, make_backend: Callable[..., LiteLLMBackend]) -> None:
    server.texts = ["a b c", "d e f g h", "i"]
    server.usage_mode = "first"  # usage.completion_tokens covers choice 0 only
    results = await make_backend().generate(req(n=3))
    assert [r.tokens_out for r in results] == [3, 5, 1]


async def test_fan_out_sends_n_single_requests_with_distinct_seeds(
        server: FakeOpenAI, make_backend: Callable[..., LiteLLMBackend]) -> None:
    seen: list[tuple[int, str]] = []
    results = await make_backend(native_n=False).generate(
        req(n=4, seed=7), lambda i, t: seen.append((i, t)))
    assert server.attempts == 4
    assert all("n" not in b for b in server.requests)
    assert sorted(b["seed"] for b in server.requests) == [7, 8, 9, 10]
    assert [r.index for r in results] == [0, 1, 2, 3]
    assert len({r.text for r in results}) == 4
    assert all(r.tokens_in == PROMPT_TOKENS for r in results)  # each call paid its prompt
    assert {i for i, _ in seen} == {0, 1, 2, 3}


@pytest.mark.parametrize("transport", ["litellm"])  # 'mistral/': litellm's own check
async def test_unsupported_n_falls_back_to_fan_out(
        server: FakeOpenAI, make_backend: Callable[..., LiteLLMBackend]) -> None:
    backend = make_backend(litellm_model="mistral/fake", native_n=True)
    results = await backend.generate(req(n=3))
    assert server.attempts == 3  # litellm rejected n before any request; then 3 singles
    assert [r.ok for r in results] == [True, True, True]
    await backend.generate(req(n=2))
    assert server.attempts == 5  # remembered: no second native try


async def test_concurrency_limit_per_model(
        server: FakeOpenAI, make_backend: Callable[..., LiteLLMBackend]) -> None:
    server.latency_s = 0.15
    backend = make_backend(native_n=False, concurrency=2)
    t0 = time.perf_counter()
    results = await backend.generate(req(n=6))
    elapsed = time.perf_counter() - t0
    assert all(r.ok for r in results)
    assert server.max_in_flight == 2
    assert elapsed >= 3 * 0.15


async def test_reasoning_text_and_tokens_are_kept_apart(
        server: FakeOpenAI, make_backend: Callable[..., LiteLLMBackend]) -> None:
    server.texts = ["The answer is 4."]
    server.reasoning = "two and two make four"
    [r] = await make_backend().generate(req())
    assert r.text == "The answer is 4."
    assert r.reasoning_text == "two and two make four"
    assert (r.tokens_out, r.tokens_reasoning) == (4, 5)


async def test_thinking_budget_reaches_the_request_as_reasoning_effort(
        server: FakeOpenAI, make_backend: Callable[..., LiteLLMBackend]) -> None:
    backend = make_backend(litellm_model="openai/o3-mini")
    [r] = await backend.generate(req(thinking_budget=6000, temperature=1.0))
    assert server.requests[-1]["reasoning_effort"] == "medium"
    assert r.extra["thinking"] == {"reasoning_effort": "medium"}


def test_thinking_budget_mapping_per_provider() -> None:
    def params(provider: str, model: str, budget: int) -> dict[str, object]:
        return _thinking_params(provider, model, req(thinking_budget=budget, max_tokens=500),
                                lambda model: model in ("o3-mini", "gpt-5"), {})

    assert params("openai", "o3-mini", 500) == {"reasoning_effort": "low"}
    assert params("openai", "o3-mini", 50_000) == {"reasoning_effort": "high"}
    assert params("openai", "gpt-5", 0) == {"reasoning_effort": "minimal"}
    claude = params("anthropic", "anthropic/claude-sonnet-4-5", 2000)
    assert claude["thinking"] == {"type": "enabled", "budget_tokens": 2000}
    assert claude["max_tokens"] == 2500  # Anthropic counts thinking inside max_tokens
    assert params("anthropic", "anthropic/claude-sonnet-4-5", 10)["thinking"] == {
        "type": "enabled", "budget_tokens": 1024}  # Anthropic's minimum
    assert params("gemini", "gemini/gemini-2.5-flash", 0) == {
        "thinking": {"type": "enabled", "budget_tokens": 0}}
    assert params("gemini", "gemini/gemini-3-pro-preview", 9000) == {"reasoning_effort": "high"}
    extra: dict[str, object] = {}
    assert _thinking_params("openai", "openai/qwen", req(thinking_budget=100),
                            lambda model: False, extra) == {}
    assert extra["thinking_budget_ignored"] is True


def test_check_model_rejects_unknown_models() -> None:
    with pytest.raises(WorkbenchError, match="does not recognise.*provider"):
        LiteLLMBackend().check_model("no-such-model-xyz")


def test_check_model_names_the_missing_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(WorkbenchError, match="ANTHROPIC_API_KEY"):
        LiteLLMBackend().check_model("anthropic/claude-sonnet-4-5")
    monkeypatch.delenv("MY_LAB_KEY", raising=False)
    backend = LiteLLMBackend({"m": ModelConfig("openai/gpt-4o-mini", api_key_env="MY_LAB_KEY")})
    with pytest.raises(WorkbenchError, match=r"\$MY_LAB_KEY"):
        backend.check_model("m")
    monkeypatch.setenv("MY_LAB_KEY", "sk-test-0123456789")
    backend.check_model("m")
    LiteLLMBackend({"local": ModelConfig("openai/qwen", api_base="http://127.0.0.1:9/v1")}
                   ).check_model("local")  # a loopback server needs no key


async def test_user_errors_raise_before_any_request(server: FakeOpenAI) -> None:
    backend = LiteLLMBackend({"bad": ModelConfig("nonsense-model", api_base=server.base_url)})
    with pytest.raises(WorkbenchError):
        await backend.generate(GenRequest(model="bad", messages=MESSAGES, max_tokens=8))
    assert server.attempts == 0


def test_scrub_removes_key_shapes() -> None:
    text = ("key sk-proj-AbCdEf123456 header Bearer abc.def url https://x/y?key=AIzaSecret123"
            "&alt=sse api_key='hunter2hunter2' custom s3cr3t-value")
    out = scrub(text, ("s3cr3t-value",))
    for secret in ("AbCdEf123456", "abc.def", "AIzaSecret123", "hunter2hunter2", "s3cr3t-value"):
        assert secret not in out
    assert "alt=sse" in out


async def test_cancellation_propagates_and_frees_the_slot(
        server: FakeOpenAI, make_backend: Callable[..., LiteLLMBackend]) -> None:
    server.chunk_delay_s = 0.05
    server.texts = [" ".join(["word"] * 100)]
    backend = make_backend(concurrency=1)
    task = asyncio.create_task(backend.generate(req(max_tokens=200)))
    await asyncio.sleep(0.3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    server.chunk_delay_s = 0.0
    server.texts = ["fine"]
    [r] = await asyncio.wait_for(backend.generate(req()), 3)  # the semaphore was released
    assert r.text == "fine"


async def test_fake_server_runs_in_a_subprocess() -> None:
    srv = FakeOpenAI(texts=["from a subprocess"], subprocess_mode=True).start()
    try:
        srv.set_faults(Fault("server_error"))
        backend = LiteLLMBackend({"fake": ModelConfig("openai/fake", api_base=srv.base_url)},
                                 retry=RetryPolicy(backoff_base_s=0.01))
        [r] = await backend.generate(req())
        assert r.text == "from a subprocess" and srv.attempts == 2
    finally:
        srv.stop()


def test_importing_the_adapter_does_not_import_litellm() -> None:
    code = ("import sys, workbench.backends.litellm_adapter, workbench.backends.pricing as p; "
            "p.cost_usd('gpt-4o-mini', 1, 1); assert 'litellm' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_config_repr_hides_the_key() -> None:
    assert "sk-secret-123456" not in repr(ModelConfig("openai/x", api_key="sk-secret-123456"))


def test_openai_compatible_servers_take_the_http_transport() -> None:
    local = ModelConfig("openai/qwen", api_base="http://127.0.0.1:8080/v1")
    assert local.uses_http and ModelConfig("hosted_vllm/m", api_base="http://h:8000/v1").uses_http
    assert not ModelConfig("openai/qwen", api_base="http://127.0.0.1:1/v1",
                           transport="litellm").uses_http
    assert not ModelConfig("openai/gpt-4o-mini").uses_http  # no api_base: litellm's route
    assert not ModelConfig("anthropic/claude-sonnet-4-5", api_base="http://x/v1").uses_http
    with pytest.raises(ValueError, match="OpenAI-compatible"):
        ModelConfig("anthropic/claude-sonnet-4-5", transport="http")
    with pytest.raises(ValueError, match="transport"):
        ModelConfig("openai/x", transport="grpc")
