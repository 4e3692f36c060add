"""Fixtures for the scale-out tests: warm litellm once, build pool backends."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from faults.fault_kit import warm_litellm

from workbench.backends.litellm_adapter import LiteLLMBackend
from workbench.backends.retry import RetryPolicy
from workbench.models import configured

POLICY = RetryPolicy(max_attempts=4, backoff_base_s=0.05, backoff_max_s=0.2, jitter=0.0,
                     deadline_s=60.0, attempt_timeout_s=30.0, first_token_timeout_s=20.0,
                     stall_timeout_s=20.0)

PoolBackend = Callable[..., LiteLLMBackend]


@pytest.fixture(scope="session")
def warm_pool() -> None:
    warm_litellm()


@pytest.fixture
def pool_backend(warm_pool: None) -> PoolBackend:
    """``pool_backend(deployments, **pool options)``: a backend whose model "pool" is a
    router over ``deployments``, configured exactly as workbench.toml would."""

    def make(deployments: list[dict[str, Any]], policy: RetryPolicy = POLICY,
             **options: Any) -> LiteLLMBackend:
        entry = {"router": True, "deployments": deployments, **options}
        cfg = configured("pool", {"models": {"pool": entry}})
        assert cfg is not None and cfg.router is not None
        return LiteLLMBackend({"pool": cfg}, retry=policy)

    return make
