"""A model pool (litellm Router over several deployments) against fake servers: load is
balanced within each deployment's concurrency, rpm limits send the excess elsewhere, a
dead deployment is routed around, and a sweep completes on the survivor."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fakes.fake_openai import FakeOpenAI

from workbench.backends.base import GenRequest
from workbench.backends.litellm_adapter import LiteLLMBackend
from workbench.backends.retry import RetryPolicy
from workbench.errors import WorkbenchError
from workbench.events import Event, SampleScored
from workbench.models import configured
from workbench.store.store import Store
from workbench.sweep import run_sweep
from workbench.sweep.spec import expand

MESSAGES = ({"role": "user", "content": "What is 2+2?"},)
PoolBackend = Callable[..., LiteLLMBackend]


def req() -> GenRequest:
    return GenRequest(model="pool", messages=MESSAGES, max_tokens=32)


def dep(server: FakeOpenAI, concurrency: int = 4, **extra: Any) -> dict[str, Any]:
    return {"model": "openai/qwen", "api_base": server.base_url, "concurrency": concurrency,
            **extra}


@pytest.mark.parametrize(("entry", "message"), [
    ({"router": True}, "no deployments"),
    ({"router": True, "deployments": [{"api_base": "http://x"}]}, 'needs model = "'),
    ({"router": True, "deployments": [{"model": "openai/q", "api_key": "sk-1"}]},
     "api_key_env"),
    ({"router": True, "deployments": [{"model": "openai/q", "concurrency": 0}]},
     "concurrency must be a positive integer"),
    ({"router": True, "deployments": [{"model": "openai/q", "gpus": 2}]}, "unknown key"),
    ({"router": True, "deployments": [{"model": "openai/q"}], "routing": "random"},
     "routing 'random'"),
    ({"router": True, "deployments": [{"model": "openai/q"}], "cooldown_s": -1},
     "cooldown_s"),
])
def test_bad_pool_tables_are_clear_errors(entry: dict[str, Any], message: str) -> None:
    with pytest.raises(WorkbenchError, match="models.p") as info:
        configured("p", {"models": {"p": entry}})
    assert message in str(info.value)


def test_default_routing_follows_the_deployments() -> None:
    def routing(*deps: dict[str, Any]) -> str:
        cfg = configured("p", {"models": {"p": {"router": True, "deployments": list(deps)}}})
        assert cfg is not None and cfg.router is not None
        return cfg.router.routing

    same = {"model": "openai/q", "concurrency": 4}
    assert routing(same, same) == "least-busy"
    assert routing(same, {**same, "concurrency": 8}) == "simple-shuffle"
    assert routing(same, {**same, "rpm": 60}) == "usage-based-routing-v2"


async def test_load_is_balanced_within_each_deployments_concurrency(
        pool_backend: PoolBackend) -> None:
    with FakeOpenAI(latency_s=0.2) as a, FakeOpenAI(latency_s=0.2) as b:
        backend = pool_backend([dep(a, 2), dep(b, 3)])
        results = await asyncio.gather(*(backend.generate(req()) for _ in range(30)))
    assert all(r.ok for (r,) in results)
    assert a.max_in_flight <= 2 and b.max_in_flight <= 3  # never over a deployment's slots
    assert a.attempts > 0 and b.attempts > 0 and a.attempts + b.attempts == 30
    assert all(r.extra["attempts"] == 1 for (r,) in results)  # waits for a slot are no attempt


async def test_rpm_limit_sends_the_excess_to_the_other_deployment(
        pool_backend: PoolBackend) -> None:
    with FakeOpenAI() as a, FakeOpenAI() as b:
        backend = pool_backend([dep(a, rpm=3), dep(b, rpm=1000)])
        for _ in range(12):
            [r] = await backend.generate(req())
            assert r.ok
    assert a.attempts <= 3 and a.attempts + b.attempts == 12


async def test_a_missing_key_in_any_deployment_is_named_up_front(
        pool_backend: PoolBackend, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WB_POOL_KEY", raising=False)
    backend = pool_backend([{"model": "openai/q", "api_base": "http://127.0.0.1:9/v1"},
                            {"model": "openai/q", "api_base": "https://pool.example/v1",
                             "api_key_env": "WB_POOL_KEY"}])
    with pytest.raises(WorkbenchError, match=r"\$WB_POOL_KEY"):
        backend.check_model("pool")


async def test_when_every_deployment_is_dead_samples_fail_fast_and_clearly(
        pool_backend: PoolBackend) -> None:
    a, b = FakeOpenAI().start(), FakeOpenAI().start()
    deployments = [dep(a), dep(b)]
    a.stop()
    b.stop()
    policy = RetryPolicy(max_attempts=3, backoff_base_s=0.05, jitter=0.0, deadline_s=10.0)
    t0 = time.perf_counter()
    results = await asyncio.gather(*(pool_backend(deployments, policy).generate(req())
                                     for _ in range(4)))
    assert time.perf_counter() - t0 < 10.0
    for (r,) in results:
        assert not r.ok and r.extra["attempts"] == 3 and "after 3 attempt(s)" in (r.error or "")


SWEEP = {"name": "pool", "models": ["pool"], "tasks": ["arithmetic"], "limit": 60,
         "techniques": [{"technique": "cot", "budget": 64}]}


async def test_a_sweep_completes_on_the_survivor_when_one_deployment_dies(
        pool_backend: PoolBackend, tmp_path: Path) -> None:
    a = FakeOpenAI(latency_s=0.15, subprocess_mode=True).start()
    b = FakeOpenAI(latency_s=0.15, subprocess_mode=True).start()
    try:
        backend = pool_backend([dep(a, 4), dep(b, 4)], cooldown_s=60)
        scored: list[str] = []
        killed_at: list[int] = []

        def kill_b_midway(event: Event) -> None:
            if isinstance(event, SampleScored):
                scored.append(event.sample_id)
                if len(scored) == 20 and b._proc is not None:
                    b._proc.kill()  # the server process dies mid-sweep
                    killed_at.append(a.attempts)

        with Store.open(tmp_path / "p.duckdb") as store:
            await run_sweep(expand(SWEEP), store, backend, [kill_b_midway])
            samples = store.samples()
            paths = store.paths()
        assert killed_at, "the sweep ended before the kill"
        assert samples.height == 60 and samples["item_index"].n_unique() == 60
        assert paths["path_id"].is_duplicated().sum() == 0
        failed = samples.height - samples["error"].null_count()
        assert failed <= 4, samples["error"].drop_nulls().to_list()  # only streams cut mid-way
        after = a.attempts - killed_at[0]
        assert after >= 60 - 20 - 8  # everything after the kill went to the survivor
    finally:
        a.stop()
        b.stop()
