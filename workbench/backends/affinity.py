"""Prefix-cache-affine routing over a pool's deployments (``affinity = "prefix"``).

Why and how: see :mod:`workbench.backends.router`. This module keeps the moving state of
one pool on one event loop: requests in flight per deployment, recent failures, cool-downs.
The adapter asks it which deployment a request goes to, holds that deployment's slot while
the attempt runs, and reports failures; everything else (retries, clocks, streaming) is the
adapter's usual path against a plain single-deployment :class:`ModelConfig`.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

from workbench.backends import router as pool
from workbench.backends.model_config import ModelConfig

QUEUE_FACTOR = 2
"""An item stays on its replica until that replica has this many times its slots in use or
queued; past that it spills to its next replica. Queueing one batch is cheaper than a cache
miss elsewhere (a prefill of the whole prompt), an unbounded queue is not (bounded load)."""

FAIL_WINDOW_S = 60.0
"""``allowed_fails`` counts failures within this window (litellm's "per minute")."""


class AffinityPool:
    """Pick, hold and cool down the deployments of one pool (one instance per event loop)."""

    def __init__(self, cfg: ModelConfig) -> None:
        assert cfg.router is not None
        self.spec = cfg.router
        self.configs = [replace(cfg, litellm_model=d.model, api_base=d.api_base,
                                api_key=pool.deployment_key(d), api_key_env=None,
                                router=None, concurrency=d.concurrency)
                        for d in self.spec.deployments]
        self.slots = [asyncio.Semaphore(d.concurrency) for d in self.spec.deployments]
        self.busy = [0] * len(self.configs)
        self.fails: list[deque[float]] = [deque() for _ in self.configs]
        self.cool_until = [0.0] * len(self.configs)
        self.served = [0] * len(self.configs)

    def pick(self, messages: Sequence[Mapping[str, Any]]) -> int:
        """The deployment for a request: its item's first live replica whose load is under
        ``QUEUE_FACTOR`` x its slots, else the first live one (queue there), else the first
        of all (all cooling down)."""
        order = pool.rendezvous_order(pool.affinity_key(messages), self.spec.deployments)
        now = time.monotonic()
        live = [i for i in order if self.cool_until[i] <= now] or order
        for i in live:
            if self.busy[i] < QUEUE_FACTOR * self.spec.deployments[i].concurrency:
                return i
        return live[0]

    @asynccontextmanager
    async def slot(self, i: int) -> AsyncIterator[ModelConfig]:
        """Hold one of deployment ``i``'s slots; yields its single-deployment config."""
        self.busy[i] += 1
        try:
            async with self.slots[i]:
                self.served[i] += 1
                yield self.configs[i]
        finally:
            self.busy[i] -= 1

    def failed(self, i: int) -> None:
        """An attempt on ``i`` failed: past ``allowed_fails`` in a minute it cools down."""
        now = time.monotonic()
        window = self.fails[i]
        window.append(now)
        while window and window[0] < now - FAIL_WINDOW_S:
            window.popleft()
        if len(window) > self.spec.allowed_fails:
            self.cool_until[i] = now + self.spec.cooldown_s
            window.clear()

    def label(self, i: int) -> str:
        return self.spec.deployments[i].label


def affinity_pool(per_loop: dict[str, Any], cfg: ModelConfig) -> AffinityPool | None:
    """``cfg``'s affinity state in this loop's cache, or ``None`` when litellm routes it."""
    if cfg.router is None or cfg.router.affinity is None:
        return None
    key = f"affinity:{cfg.router.name}"
    if key not in per_loop:
        per_loop[key] = AffinityPool(cfg)
    found: AffinityPool = per_loop[key]
    return found
