"""Prefix-cache-affine routing (``affinity = "prefix"``): every request of an item goes to
one replica (so its prompt is computed once), keys move only off a lost replica, a dead or
full replica is routed around, and each path records who served it."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from fakes.prefix_cache_server import PrefixCacheReplica

from workbench.api import run_experiment_async
from workbench.backends.base import GenRequest
from workbench.backends.router import Deployment, affinity_key, rendezvous_order
from workbench.errors import WorkbenchError
from workbench.runner import RunSpec
from workbench.store.store import Store

TEXT = "Adding the numbers in order gives the total. The answer is 5"


def _deps(n: int) -> list[Deployment]:
    return [Deployment("openai/q", f"http://127.0.0.1:{9000 + i}/v1") for i in range(n)]


def test_rendezvous_moves_only_the_lost_replicas_keys() -> None:
    four = _deps(4)
    owner = {k: four[rendezvous_order(str(k), four)[0]] for k in range(2000)}
    assert min(Counter(owner.values()).values()) > 400  # spread evenly over the four
    three = [four[0], four[2], four[3]]
    for k, d in owner.items():
        now = three[rendezvous_order(str(k), three)[0]]
        assert now == d or d == four[1]  # only keys of the removed replica moved


def test_affinity_key_is_shared_by_an_items_samples_and_later_turns() -> None:
    item = [{"role": "system", "content": "Be careful."}, {"role": "user", "content": "Q1"}]
    later = [*item, {"role": "assistant", "content": "draft"},
             {"role": "user", "content": "Check it."}]
    other = [item[0], {"role": "user", "content": "Q2"}]
    assert affinity_key(item) == affinity_key(later) != affinity_key(other)


def test_pool_config_validates_affinity(pool_backend: Any) -> None:
    with pytest.raises(WorkbenchError, match="affinity 'sticky'"):
        pool_backend([{"model": "openai/q", "api_base": "http://127.0.0.1:1/v1"}],
                     affinity="sticky")


def _stats(replicas: list[PrefixCacheReplica]) -> dict[str, int]:
    total: Counter[str] = Counter()
    for r in replicas:
        total.update(r.stats())
    return dict(total)


@pytest.mark.slow
async def test_sc_samples_of_an_item_share_one_replica_and_its_cache(
        tmp_path: Path, pool_backend: Any) -> None:
    replicas = [PrefixCacheReplica(TEXT, miss_ms=20, hit_ms=1, decode_ms=5, slots=8,
                                   cache_entries=64).start() for _ in range(3)]
    try:
        deployments = [{"model": "openai/q", "api_base": r.base_url, "concurrency": 8,
                        } for r in replicas]
        backend = pool_backend(deployments, affinity="prefix", native_n=False)
        spec = RunSpec(task="arithmetic", technique="sc", model="pool", n=4, limit=9,
                       budget=32)
        with Store.open(tmp_path / "t.duckdb") as store:
            await run_experiment_async(spec, store=store, backend=backend)
            paths = store.paths(text=False)
        by_sample = paths.group_by("sample_id").agg(pl.col("served_by").n_unique().alias("k"))
        assert by_sample["k"].to_list() == [1] * 9  # one replica per item
        assert set(paths["served_by"]) <= {f"openai/q@127.0.0.1:{r.base_url.split(':')[2][:-3]}"
                                          for r in replicas}
        stats = _stats(replicas)
        assert stats["requests"] == paths.height == 36
        assert stats["misses"] == 9 and stats["hits"] == 27  # each prompt computed once
    finally:
        for r in replicas:
            r.stop()


@pytest.mark.slow
async def test_a_dead_replica_is_routed_around_and_a_full_one_spills(
        pool_backend: Any) -> None:
    replicas = [PrefixCacheReplica(TEXT, miss_ms=200, hit_ms=200, decode_ms=0, slots=1
                                   ).start() for _ in range(3)]
    try:
        deployments = [{"model": "openai/q", "api_base": r.base_url, "concurrency": 1}
                       for r in replicas]
        backend = pool_backend(deployments, affinity="prefix", native_n=False,
                               allowed_fails=0, cooldown_s=60)
        messages = ({"role": "user", "content": "What is 2+2?"},)
        owner = rendezvous_order(affinity_key(messages), [
            Deployment("openai/q", r.base_url, concurrency=1) for r in replicas])[0]
        replicas[owner].kill()
        req = GenRequest(model="pool", messages=messages, max_tokens=32, n=3)
        results = await asyncio.gather(backend.generate(req), backend.generate(req))
        flat = [r for rs in results for r in rs]
        assert all(r.ok for r in flat), [r.error for r in flat]
        served = Counter(r.extra["served_by"] for r in flat)
        dead = f"127.0.0.1:{replicas[owner].base_url.split(':')[2][:-3]}"
        assert not any(dead in s for s in served)  # after the failed attempt: elsewhere
        assert len(served) == 2  # one slot each: six concurrent requests spill to both live ones
    finally:
        for r in replicas:
            r.stop()
