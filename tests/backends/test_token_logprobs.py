"""Per-token logprobs from the wire to GenResult and the streaming callback (both routes to
an OpenAI-compatible server), the path cache's handling of them, and which engines may
continue an assistant message."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import replace

import pytest
from fakes.fake_openai import FakeOpenAI, tokens_of

from workbench.backends.base import GenRequest, TokenLogprob
from workbench.backends.cache import CachingBackend, request_key
from workbench.backends.continuation import continuation_params
from workbench.backends.litellm_adapter import LiteLLMBackend, ModelConfig
from workbench.backends.scripted import ScriptedBackend
from workbench.errors import WorkbenchError

MESSAGES = ({"role": "user", "content": "What is two plus two?"},)


def req(**kw: object) -> GenRequest:
    fields: dict[str, object] = {"model": "fake", "messages": MESSAGES, "max_tokens": 64}
    return GenRequest(**{**fields, **kw})  # type: ignore[arg-type]


def fake_lp(k: int) -> float:
    return -(0.05 + 0.01 * (k % 10))  # the fake server's logprob of token k


async def test_top_logprobs_reach_the_result_and_the_callback_after_their_text(
        server: FakeOpenAI, make_backend: Callable[..., LiteLLMBackend]) -> None:
    server.texts = ["one two three four"]
    seen: list[tuple[str, object]] = []
    [r] = await make_backend().generate(
        req(logprobs=True, top_logprobs=3), lambda i, t: seen.append(("text", t)),
        on_logprobs=lambda i, lps: seen.append(("lps", tuple(lps))))
    assert server.requests[-1]["top_logprobs"] == 3
    assert r.token_logprobs == tuple(
        TokenLogprob(fake_lp(k), (fake_lp(k), fake_lp(k) - 1, fake_lp(k) - 2))
        for k in range(4))
    assert r.logprob_mean == pytest.approx(sum(fake_lp(k) for k in range(4)) / 4)
    assert seen[0][0] == "text"  # text first, then the logprobs of that text
    streamed = [lp for kind, lps in seen if kind == "lps" for lp in lps]  # type: ignore[union-attr]
    assert tuple(streamed) == r.token_logprobs
    texts = "".join(str(t) for kind, t in seen if kind == "text")
    assert texts == r.text == "one two three four"


async def test_without_top_logprobs_one_alternative_is_asked_and_none_kept(
        server: FakeOpenAI, make_backend: Callable[..., LiteLLMBackend]) -> None:
    server.texts = ["a b"]
    [r] = await make_backend().generate(req(logprobs=True))
    assert server.requests[-1]["top_logprobs"] == 1
    assert [t.top for t in r.token_logprobs] == [(), ()]
    [plain] = await make_backend().generate(req())
    assert plain.token_logprobs == () and "logprobs" not in server.requests[-1]


async def test_native_n_keeps_each_choices_tokens(
        server: FakeOpenAI, make_backend: Callable[..., LiteLLMBackend]) -> None:
    server.texts = ["a b c", "d e"]
    per: dict[int, int] = {}
    results = await make_backend().generate(
        req(n=2, logprobs=True, top_logprobs=2),
        on_logprobs=lambda i, lps: per.__setitem__(i, per.get(i, 0) + len(lps)))
    assert [len(r.token_logprobs) for r in results] == [3, 2] and per == {0: 3, 1: 2}


async def test_a_trailing_assistant_message_is_refused_where_it_would_start_a_new_turn(
        server: FakeOpenAI, make_backend: Callable[..., LiteLLMBackend]) -> None:
    cont = req(messages=MESSAGES + ({"role": "assistant", "content": "Four.\n\nWait"},),
               continue_final=True)
    with pytest.raises(WorkbenchError, match="cannot continue an assistant message"):
        await make_backend().generate(cont)
    assert server.requests == []  # refused before any request
    server.texts = [", yes"]
    [r] = await make_backend(continue_final="prefill").generate(cont)
    assert r.ok and server.requests[-1]["messages"][-1]["role"] == "assistant"
    assert "continue_final_message" not in server.requests[-1]


def test_vllm_is_asked_to_continue_and_anthropic_prefills() -> None:
    vllm = ModelConfig("hosted_vllm/q", api_base="http://127.0.0.1:9/v1")
    assert continuation_params("m", vllm, "hosted_vllm") == {
        "extra_body": {"continue_final_message": True, "add_generation_prompt": False}}
    assert continuation_params("m", ModelConfig("anthropic/c"), "anthropic") == {}
    with pytest.raises(WorkbenchError, match=r'continue_final = "prefill"'):
        continuation_params("gpt", ModelConfig("openai/gpt-4o-mini"), "openai")
    with pytest.raises(ValueError, match="continue_final"):
        ModelConfig("openai/x", continue_final="maybe")


def test_request_keys_are_unchanged_unless_the_new_fields_are_set() -> None:
    r = req(logprobs=True, seed=3, run_seed=1)
    old = json.dumps({"model": "fake", "messages": list(MESSAGES), "max_tokens": 64,
                      "temperature": 0.0, "top_p": None, "stop": None, "logprobs": True,
                      "thinking": None, "seed": 1, "sample": 0},
                     sort_keys=True, ensure_ascii=False)
    assert request_key(r, 0) == hashlib.sha256(old.encode()).hexdigest()[:32]
    assert request_key(replace(r, top_logprobs=5), 0) != request_key(r, 0)
    assert request_key(replace(r, continue_final=True), 0) != request_key(r, 0)


async def test_the_path_cache_never_answers_a_top_logprobs_request() -> None:
    def lookup(keys):  # type: ignore[no-untyped-def]
        raise AssertionError("a top-logprobs request must not be looked up")
    inner = ScriptedBackend(lambda r, i: "x y",
                            token_logprobs=lambda r, c, p, w: TokenLogprob(-0.5, (-0.5, -1.0)))
    got: list[int] = []
    [r] = await CachingBackend(inner, lookup).generate(
        req(logprobs=True, top_logprobs=2), on_logprobs=lambda i, lps: got.append(len(lps)))
    assert len(r.token_logprobs) == 2 and got == [1, 1]


def test_fake_tokenizer_matches_the_counts_above() -> None:
    assert len(tokens_of("one two three four")) == 4


def test_continue_final_is_a_validated_model_setting() -> None:
    from pydantic import ValidationError

    from workbench.config_schema import ModelEntry
    from workbench.models import configured

    entry = {"model": "openai/x", "api_base": "http://127.0.0.1:9/v1", "continue_final": "vllm"}
    cfg = configured("m", {"models": {"m": entry}})
    assert cfg is not None and cfg.continue_final == "vllm"
    assert ModelEntry(**entry).continue_final == "vllm"
    with pytest.raises(ValidationError):
        ModelEntry(model="openai/x", continue_final="sometimes")
