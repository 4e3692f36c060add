"""Fixtures for backend tests: a fake OpenAI-compatible server and a backend with short clocks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fakes.fake_openai import FakeOpenAI
from faults.fault_kit import warm_litellm as warm

from workbench.backends.litellm_adapter import LiteLLMBackend, ModelConfig
from workbench.backends.retry import RetryPolicy

FAST = RetryPolicy(max_attempts=3, backoff_base_s=0.02, backoff_max_s=0.1, jitter=0.0,
                   deadline_s=8.0, attempt_timeout_s=6.0, first_token_timeout_s=3.0,
                   stall_timeout_s=3.0)
"""Short back-off; clocks loose enough that a busy 2-core machine never trips them
(tests of the clocks pass their own short ones)."""



@pytest.fixture
def server(warm_litellm: None) -> Iterator[FakeOpenAI]:
    srv = FakeOpenAI().start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(params=["http", "litellm"])
def transport(request: pytest.FixtureRequest) -> str:
    """Every adapter test runs over both routes to an OpenAI-compatible server: our lean
    HTTP transport (the default there) and litellm (every other provider, and opt-in)."""
    return str(request.param)


@pytest.fixture
def make_backend(server: FakeOpenAI, transport: str) -> Callable[..., LiteLLMBackend]:
    """``make_backend(policy=..., **ModelConfig fields)``: the model "fake" on the server."""

    def make(policy: RetryPolicy = FAST, **cfg: Any) -> LiteLLMBackend:
        fields: dict[str, Any] = {"litellm_model": "openai/fake", "api_base": server.base_url,
                                  "api_key": "local", "transport": transport}
        fields.update(cfg)
        return LiteLLMBackend({"fake": ModelConfig(**fields)}, retry=policy)

    return make


@pytest.fixture(scope="session")
def warm_litellm() -> None:
    """Pay litellm's import (~3.5 s) and first-call warm-up (~0.8 s) once, outside the
    tests' short clocks, so a first-token timeout of 0.4 s measures the server, not us."""
    warm()
