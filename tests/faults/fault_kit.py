"""Shared pieces for the end-to-end fault, security, CLI and scale-out tests.

Imported as ``faults.fault_kit`` everywhere (``tests/`` is on the path), so it is loaded
once. Everything here is real: the fake OpenAI-compatible server on loopback, litellm,
the runner, the Recorder and a DuckDB file.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
from fakes.fake_openai import FakeOpenAI

from workbench.backends.base import GenRequest
from workbench.backends.litellm_adapter import LiteLLMBackend, ModelConfig
from workbench.backends.retry import RetryPolicy
from workbench.runner import RunResult, RunSpec, Sink, run
from workbench.store.recorder import Recorder
from workbench.store.store import Store

POLICY = RetryPolicy(max_attempts=3, backoff_base_s=0.02, backoff_max_s=0.1, jitter=0.0,
                     deadline_s=20.0, attempt_timeout_s=15.0, first_token_timeout_s=10.0,
                     stall_timeout_s=10.0)
"""Short back-off, clocks loose enough for a loaded 2-core machine (stall tests use their own)."""

_SUM = re.compile(r"What is (\d+)\+(\d+)\?")


def toy_answer(body: dict[str, Any], attempt: int, choice: int) -> str:
    """The fake server's text for the toy task: a short chain that ends in the right sum."""
    text = " ".join(str(m.get("content") or "") for m in body.get("messages", []))
    m = _SUM.search(text)
    total = int(m.group(1)) + int(m.group(2)) if m else 0
    return f"Adding the two numbers gives {total}. The answer is {total}"


def fake_backend(server: FakeOpenAI, policy: RetryPolicy = POLICY, **cfg: Any
                 ) -> LiteLLMBackend:
    """A LiteLLMBackend whose model "fake" is ``openai/fake`` on the fake server."""
    fields: dict[str, Any] = {"litellm_model": "openai/fake", "api_base": server.base_url}
    fields.update(cfg)
    return LiteLLMBackend({"fake": ModelConfig(**fields)}, retry=policy)


def warm_litellm() -> None:
    """Pay litellm's import and first-call cost once, outside any test's clocks."""
    with FakeOpenAI(texts=["warm"]) as srv:
        backend = LiteLLMBackend({"w": ModelConfig("openai/w", api_base=srv.base_url,
                                                   transport="litellm")})
        asyncio.run(backend.generate(GenRequest(
            model="w", messages=({"role": "user", "content": "hi"},), max_tokens=4)))


@dataclass
class Outcome:
    """What one run left in the database (read back after the file was closed)."""

    result: RunResult
    wall_s: float
    samples: pl.DataFrame
    paths: pl.DataFrame


async def run_into_file(spec: RunSpec, backend: Any, db: Path, task: Any,
                        sinks: Sequence[Sink] = ()) -> Outcome:
    """Run through the real Recorder into ``db``, close it, reopen it and read it back."""
    t0 = time.perf_counter()
    with Store.open(db) as store:
        result = await run(spec, backend, [Recorder(store), *sinks], task=task)
    wall = time.perf_counter() - t0
    with Store.open(db, read_only=True) as store:
        return Outcome(result, wall, store.samples(result.run_id), store.paths(result.run_id))


def assert_each_sample_once(out: Outcome, n_items: int) -> None:
    """Every item has exactly one samples row; no path id is stored twice."""
    samples, paths = out.samples, out.paths
    assert samples.height == n_items, samples
    assert samples["sample_id"].n_unique() == n_items
    assert sorted(samples["item_index"].to_list()) == list(range(n_items))
    assert paths["path_id"].n_unique() == paths.height
    assert set(paths["sample_id"].to_list()) <= set(samples["sample_id"].to_list())
