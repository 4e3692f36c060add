"""Reuse stored paths instead of calling the model again.

A path is keyed by everything that determines its distribution *and its sample index*:
model, messages, max tokens, temperature, top-p, stop, logprobs, thinking budget, the
run seed and the index of the sample within the item (and, only when set, the number of
top logprobs and whether an assistant message is continued, so older keys are unchanged). Two requests for sample 3 of the
same prompt share a key; samples 3 and 4 never do, so repeated samples are never
collapsed into one. A sweep that asks for SC@16 after SC@8 generates only samples 8..15.

Requests for top logprobs (deepconf) are never answered from the store: it keeps each
path's mean logprob, not its per-token ones, so a replayed path could not be scored.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from workbench.backends.base import (
    Backend,
    DeltaCallback,
    GenRequest,
    GenResult,
    LogprobCallback,
)

Lookup = Callable[[Sequence[str]], dict[str, GenResult]]
Fetch = Callable[[Sequence[str]], Mapping[str, Mapping[str, Any]]]
"""Request keys -> stored rows (text, finish_reason, tokens_*, cost_usd, ...), e.g.
``functools.partial(workbench.store.cache.stored_paths, store)``."""


def lookup_from(fetch: Fetch) -> Lookup:
    """A :data:`Lookup` over stored rows: each row becomes the result it recorded."""
    def lookup(keys: Sequence[str]) -> dict[str, GenResult]:
        return {key: GenResult(
            index=0, text=row["text"], finish_reason=row["finish_reason"],
            tokens_in=row["tokens_in"] or 0, tokens_out=row["tokens_out"] or 0,
            tokens_reasoning=row["tokens_reasoning"] or 0, cost_usd=row["cost_usd"] or 0.0,
            logprob_mean=row["logprob_mean"], ttft_ms=row["ttft_ms"],
            latency_ms=row["latency_ms"] or 0.0) for key, row in fetch(keys).items()}
    return lookup


def request_key(req: GenRequest, choice: int) -> str:
    """The cache key of choice ``choice`` of ``req``."""
    fields: dict[str, Any] = {
        "model": req.model, "messages": list(req.messages), "max_tokens": req.max_tokens,
        "temperature": req.temperature, "top_p": req.top_p, "stop": req.stop,
        "logprobs": req.logprobs, "thinking": req.thinking_budget, "seed": req.run_seed,
        "sample": req.sample_index + choice}
    if req.top_logprobs is not None:
        fields["top_logprobs"] = req.top_logprobs
    if req.continue_final:
        fields["continue_final"] = True
    blob = json.dumps(fields, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8", "surrogatepass")).hexdigest()[:32]


class CachingBackend:
    """Wraps a backend; choices found by ``lookup`` are replayed, the rest generated.

    Missing choices are generated one request each (``n=1``) with their own sample index,
    so a partly cached request never shifts which sample is which.
    """

    def __init__(self, inner: Backend, lookup: Lookup) -> None:
        self.inner = inner
        self.lookup = lookup
        self.hits = 0
        self.misses = 0
        self.cached_keys: set[str] = set()
        self.item_concurrency = getattr(inner, "item_concurrency", None)

    async def generate(self, req: GenRequest, on_delta: DeltaCallback | None = None, *,
                       on_logprobs: LogprobCallback | None = None) -> list[GenResult]:
        if req.top_logprobs is not None or on_logprobs is not None:
            return await self.inner.generate(req, on_delta, on_logprobs=on_logprobs)
        keys = [request_key(req, i) for i in range(req.n)]
        found = self.lookup(keys) if req.temperature is not None else {}
        missing = [i for i, k in enumerate(keys) if k not in found]
        self.hits += req.n - len(missing)
        self.misses += len(missing)
        if not missing:
            return [self._replay(found[k], i, on_delta) for i, k in enumerate(keys)]
        if len(missing) == req.n:
            return await self.inner.generate(req, on_delta)
        fresh = await asyncio.gather(*(self._one(req, i, on_delta) for i in missing))
        out = {i: r for i, r in zip(missing, fresh, strict=True)}
        for i, k in enumerate(keys):
            if k in found:
                out[i] = self._replay(found[k], i, on_delta)
        return [out[i] for i in range(req.n)]

    def _replay(self, stored: GenResult, index: int, on_delta: DeltaCallback | None
                ) -> GenResult:
        if on_delta and stored.text:
            on_delta(index, stored.text)
        return replace(stored, index=index, extra={**stored.extra, "cached": True})

    async def _one(self, req: GenRequest, choice: int, on_delta: DeltaCallback | None
                   ) -> GenResult:
        single = replace(req, n=1, sample_index=req.sample_index + choice,
                         seed=None if req.seed is None else req.seed + choice)

        def shifted(_: int, text: str) -> None:
            if on_delta:
                on_delta(choice, text)

        (result,) = await self.inner.generate(single, shifted)
        return replace(result, index=choice)
