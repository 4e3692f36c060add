"""Provider faults through the real litellm: attempt counts match the retry policy, the
clocks hold, partial text is kept, nothing goes missing, and API keys never leak."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import pytest
from fakes.fake_openai import FakeOpenAI, Fault, tokens_of

from workbench.backends.base import GenRequest
from workbench.backends.litellm_adapter import LiteLLMBackend, ModelConfig
from workbench.backends.retry import RetryPolicy
from workbench.errors import WorkbenchError

STALL = RetryPolicy(max_attempts=3, backoff_base_s=0.02, jitter=0.0, deadline_s=5.0,
                    first_token_timeout_s=0.4, stall_timeout_s=0.4)

MESSAGES = ({"role": "user", "content": "Count to thirty."},)
LONG = " ".join(f"w{i}" for i in range(30))  # 30 tokens for the fake


def req(n: int = 1, max_tokens: int = 64) -> GenRequest:
    return GenRequest(model="fake", messages=MESSAGES, max_tokens=max_tokens, n=n)


async def test_rate_limit_twice_then_ok_makes_three_attempts_and_honours_retry_after(
        server: FakeOpenAI, make_backend: Callable[..., LiteLLMBackend]) -> None:
    server.texts = ["ok now"]
    server.set_faults(Fault("rate_limit", retry_after=0.2), Fault("rate_limit", retry_after=0.2))
    t0 = time.perf_counter()
    [r] = await make_backend().generate(req())
    elapsed = time.perf_counter() - t0
    assert server.attempts == 3 and r.extra["attempts"] == 3
    assert r.ok and r.text == "ok now"
    assert 0.4 <= elapsed < 1.5  # two Retry-After waits of 0.2 s, not the 0.02 s back-off


async def test_server_error_forever_stops_at_max_attempts(
        server: FakeOpenAI, make_backend: Callable[..., LiteLLMBackend]) -> None:
    server.set_faults(then=Fault("server_error", status=503))
    [r] = await make_backend(RetryPolicy(max_attempts=4, backoff_base_s=0.01, jitter=0.0)
                             ).generate(req())
    assert server.attempts == 4
    assert not r.ok and r.finish_reason == "error" and r.text == ""
    assert "after 4 attempt(s)" in (r.error or "")


async def test_client_errors_are_not_retried(
        server: FakeOpenAI, make_backend: Callable[..., LiteLLMBackend]) -> None:
    server.set_faults(then=Fault("server_error", status=400))
    [r] = await make_backend().generate(req())
    assert server.attempts == 1 and not r.ok


async def test_stall_before_first_token_retries_then_the_deadline_holds(
        server: FakeOpenAI, make_backend: Callable[..., LiteLLMBackend]) -> None:
    server.set_faults(then=Fault("stall_first", stall_s=30))
    policy = RetryPolicy(max_attempts=10, backoff_base_s=0.01, jitter=0.0, deadline_s=1.0,
                         first_token_timeout_s=0.3, stall_timeout_s=0.3)
    t0 = time.perf_counter()
    [r] = await make_backend(policy).generate(req())
    elapsed = time.perf_counter() - t0
    assert not r.ok and r.finish_reason == "error"
    assert 1.0 <= elapsed < 1.3, elapsed  # the total deadline, not 10 x 0.3 s
    # 0.3 s first-token clock + 0.01 s back-off fits 3 whole attempts in 1 s; the deadline
    # cuts the 4th (which may not have reached the server yet on a busy machine).
    assert 3 <= server.attempts <= r.extra["attempts"] <= 4
    assert "total deadline timeout" in (r.error or "")


async def test_stall_before_first_token_then_recovery(
        server: FakeOpenAI, make_backend: Callable[..., LiteLLMBackend]) -> None:
    server.texts = ["recovered"]
    server.set_faults(Fault("stall_first", stall_s=30))
    [r] = await make_backend(STALL).generate(req())
    assert r.ok and r.text == "recovered" and server.attempts == 2


async def test_stream_cut_after_text_keeps_partial_text_and_does_not_retry(
        server: FakeOpenAI, make_backend: Callable[..., LiteLLMBackend]) -> None:
    server.texts = [LONG]
    server.set_faults(then=Fault("cut", after_chunks=11))  # role chunk + 10 tokens
    seen: list[str] = []
    [r] = await make_backend().generate(req(), lambda i, t: seen.append(t))
    assert server.attempts == 1  # a retry would stream the same words twice
    assert r.text == "".join(tokens_of(LONG)[:10]) == "".join(seen)
    assert not r.ok and r.finish_reason == "error"
    assert r.tokens_out == 10 and r.extra["tokens_estimated"] is True


async def test_stream_cut_before_any_text_is_retried_without_duplicates(
        server: FakeOpenAI, make_backend: Callable[..., LiteLLMBackend]) -> None:
    server.texts = ["a b c"]
    server.set_faults(Fault("cut", after_chunks=1))  # only the role chunk got through
    seen: list[str] = []
    [r] = await make_backend().generate(req(), lambda i, t: seen.append(t))
    assert server.attempts == 2 and r.ok and "".join(seen) == r.text == "a b c"


async def test_garbage_chunk_gives_an_error_result_with_partial_text(
        server: FakeOpenAI, make_backend: Callable[..., LiteLLMBackend]) -> None:
    server.texts = [LONG]
    server.set_faults(then=Fault("garbage", after_chunks=6))
    [r] = await make_backend().generate(req())
    assert server.attempts == 1
    assert not r.ok and r.finish_reason == "error"
    assert r.text == "".join(tokens_of(LONG)[:5])


async def test_stall_mid_stream_hits_the_stall_clock(
        server: FakeOpenAI, make_backend: Callable[..., LiteLLMBackend]) -> None:
    server.texts = [LONG]
    server.set_faults(then=Fault("stall_mid", after_chunks=4, stall_s=30))
    t0 = time.perf_counter()
    [r] = await make_backend(STALL).generate(req())  # stall_timeout_s = 0.4
    elapsed = time.perf_counter() - t0
    assert server.attempts == 1 and not r.ok
    assert r.text == "".join(tokens_of(LONG)[:3])
    assert "stall timeout" in (r.error or "")
    assert 0.4 <= elapsed < 0.8, elapsed


async def test_fewer_choices_than_n_returns_errors_for_the_missing_ones(
        server: FakeOpenAI, make_backend: Callable[..., LiteLLMBackend]) -> None:
    server.set_faults(Fault("few_choices", choices=2))
    results = await make_backend().generate(req(n=4))
    assert [r.index for r in results] == [0, 1, 2, 3]
    assert [r.ok for r in results] == [True, True, False, False]
    assert all("no text for choice" in (r.error or "") for r in results[2:])


async def test_empty_content_is_an_empty_ok_result(
        server: FakeOpenAI, make_backend: Callable[..., LiteLLMBackend]) -> None:
    server.set_faults(Fault("empty"))
    [r] = await make_backend().generate(req())
    assert r.ok and r.text == "" and r.tokens_out == 0 and r.finish_reason == "stop"


async def test_two_megabytes_round_trip(
        server: FakeOpenAI, make_backend: Callable[..., LiteLLMBackend]) -> None:
    server.set_faults(Fault("huge", size_bytes=2_100_000))
    chunks: list[str] = []
    [r] = await make_backend().generate(req(), lambda i, t: chunks.append(t))
    assert r.ok and len(r.text) >= 2_000_000
    assert r.text.startswith("0 lorem ipsum dolor0 lorem") and "".join(chunks) == r.text


CANARY = "sk-canary-7f3e9a1b2c4d5e6f"


@pytest.mark.parametrize("fault", [
    Fault("server_error"), Fault("cut", after_chunks=3), Fault("garbage", after_chunks=3),
    Fault("rate_limit", retry_after=0.01)])
async def test_api_key_never_leaks_into_errors_or_logs(
        server: FakeOpenAI, fault: Fault, caplog: pytest.LogCaptureFixture,
        capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        transport: str) -> None:
    monkeypatch.setenv("CANARY_KEY", CANARY)
    backend = LiteLLMBackend({"fake": ModelConfig("openai/fake", api_base=server.base_url,
                                                  api_key_env="CANARY_KEY",
                                                  transport=transport)},
                             retry=RetryPolicy(max_attempts=2, backoff_base_s=0.01))
    server.texts = [LONG]
    server.set_faults(then=fault)
    caplog.set_level(logging.DEBUG)
    for name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy", "httpx", "openai"):
        caplog.set_level(logging.DEBUG, logger=name)
    results = await backend.generate(req(n=2))
    assert server.requests and all(not r.ok for r in results)
    if transport == "litellm":  # litellm logs at DEBUG; ours logs nothing
        assert any(rec.name.startswith("LiteLLM") for rec in caplog.records)
    out, err = capfd.readouterr()
    for text in [r.error or "" for r in results] + [caplog.text, out, err]:
        assert CANARY not in text and CANARY[3:15] not in text


async def test_rejected_key_raises_a_scrubbed_workbench_error(
        server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, transport: str) -> None:
    monkeypatch.setenv("CANARY_KEY", CANARY)
    backend = LiteLLMBackend({"fake": ModelConfig("openai/fake", api_base=server.base_url,
                                                  api_key_env="CANARY_KEY",
                                                  transport=transport)})
    server.set_faults(then=Fault("auth"))
    with pytest.raises(WorkbenchError) as info:
        await backend.generate(req())
    assert server.attempts == 1  # not retried
    assert "API key" in str(info.value) and CANARY not in str(info.value)
    assert CANARY[3:15] not in str(info.value)


@pytest.mark.parametrize("transport", ["http"])  # litellm keeps its own connection pool
async def test_finished_streams_reuse_their_connection_and_broken_ones_do_not(
        server: FakeOpenAI, make_backend: Callable[..., LiteLLMBackend]) -> None:
    backend = make_backend()
    for _ in range(4):
        [r] = await backend.generate(req())
        assert r.ok
    assert len(set(server.peers)) == 1  # one TCP connection for four streams
    server.texts = [LONG]
    server.set_faults(Fault("garbage", after_chunks=3))
    [r] = await backend.generate(req())
    assert not r.ok
    [r] = await backend.generate(req())
    assert r.ok and server.peers[-1] != server.peers[-2]  # the broken one was dropped
