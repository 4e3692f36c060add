"""A :class:`~workbench.backends.base.Backend` that sends requests through a provider's
batch API (about half price, results within the provider's 24 h window).

Why a backend: techniques call ``ctx.generate`` one request at a time and await it. This
backend *collects* the requests of every item in flight, and after ``idle_s`` without a new
request (or at ``max_requests``) submits them as one batch job per model; each caller
waits on a future that resolves when the batch ends. Techniques stay unchanged: a
multi-round technique (refine) simply produces the next batch from its next round.

* One JSONL line per choice (``n`` is fanned out, ``seed + i`` per choice, like streamed
  fan-out); its ``custom_id`` is the choice's request key (:func:`cache.request_key`), so
  identical requests in flight share one line and one bill.
* The batch and its lines are committed to the trace file *before* waiting
  (:mod:`workbench.store.batches`). A restarted sweep issues the same requests, finds their
  keys in a stored batch and re-attaches to it instead of submitting again. A re-attached
  request that the old batch did not answer (expired, cancelled, failed line) is submitted
  anew, once per process, like a streamed error is retried on resume.
* Results become ordinary :class:`GenResult` s (same rows as streamed paths) with
  ``served_by = "batch"``, priced at the batch rate (:func:`pricing.batch_price_of`).
* Lines that fail, and requests a batch never ran (expired, cancelled, failed batch),
  come back as errors with clear text; the rest of the batch is ingested. Such an error is
  recorded like a streamed one that exhausted its retries: a re-run of the sweep keeps it
  (only requests whose batch was never read back, because the process died, are sent
  again).
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from workbench.backends.base import (
    REQUEST_ORIGIN,
    DeltaCallback,
    GenRequest,
    GenResult,
    LogprobCallback,
)
from workbench.backends.batch_client import BATCH_PROVIDERS, TERMINAL, BatchClient, BatchState
from workbench.backends.cache import request_key
from workbench.backends.pricing import Price, batch_price_of, cost_usd
from workbench.errors import WorkbenchError

Progress = Callable[[str, BatchState], None]


def stderr_progress(batch_id: str, s: BatchState) -> None:
    """Default progress line: ``batch <id>: in_progress 120/400 done, 3 failed``."""
    sys.stderr.write(f"batch {batch_id}: {s.status} {s.completed}/{s.total or '?'} done, "
                     f"{s.failed} failed\n")


@dataclass(frozen=True)
class BatchSettings:
    """How eagerly to submit and how often to poll (short in tests, minutes in real use)."""

    idle_s: float = 2.0  # submit after this long without a new request
    poll_s: float = 30.0  # seconds between status polls
    max_requests: int = 50_000  # OpenAI's limit of lines per batch
    poll_failures: int = 20  # consecutive failed polls before giving up on a batch


@dataclass
class _Line:
    key: str
    model: str
    req: GenRequest  # the single-choice request of this line
    origin: tuple[str, str] | None
    future: asyncio.Future[GenResult]
    resumed: bool = False


@dataclass
class _Watch:
    rec: Any  # workbench.store.batches.BatchRecord
    client: BatchClient
    waiting: dict[str, _Line] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] | None = None
    state: BatchState | None = None
    task: asyncio.Task[None] | None = None
    t0: float = field(default_factory=time.time)


class BatchBackend:
    """Batch-API requests for the models ``batched(name)`` selects; the rest go to
    ``inner`` (a :class:`LiteLLMBackend`) as streamed calls."""

    def __init__(self, inner: Any, store: Any, batched: Callable[[str], bool],
                 settings: BatchSettings | None = None, progress: Progress | None = None
                 ) -> None:
        self.inner = inner
        self.store = store
        self.batched = batched
        self.settings = settings or BatchSettings()
        self.progress = progress or stderr_progress
        self.item_concurrency = 100_000  # every item in flight: that is what fills a batch
        self.submitted = 0
        self._lines: dict[str, _Line] = {}
        self._pending: dict[str, list[_Line]] = {}
        self._last_add: dict[str, float] = {}
        self._flushers: dict[str, asyncio.Task[None]] = {}
        self._watches: dict[str, _Watch] = {}
        self._stored: dict[str, Any] | None = None
        self._retried: set[str] = set()

    # ---- the Backend protocol ----------------------------------------------------------
    async def generate(self, req: GenRequest, on_delta: DeltaCallback | None = None, *,
                       on_logprobs: LogprobCallback | None = None) -> list[GenResult]:
        if not self.batched(req.model):  # a batch streams nothing: no logprobs mid-stream
            return list(await self.inner.generate(req, on_delta, on_logprobs=on_logprobs))
        self.check_model(req.model)
        futures = [self._future_for(req, i) for i in range(req.n)]
        done = await asyncio.gather(*(asyncio.shield(f) for f in futures))
        out = [replace(r, index=i, extra=dict(r.extra)) for i, r in enumerate(done)]
        if on_delta is not None:
            for r in out:
                if r.text:
                    on_delta(r.index, r.text)
        return out

    def check_model(self, model: str) -> None:
        """A clear error for a model that has no batch API through litellm."""
        cfg = self.inner.config_for(model)
        if cfg.router is not None:
            raise WorkbenchError(f"Model {model!r} is a pool of deployments; batch APIs "
                                 "need one provider account: run it without --batch.")
        provider = self.inner.provider_of(cfg)
        if provider not in BATCH_PROVIDERS:
            raise WorkbenchError(
                f"Model {model!r} (provider {provider!r}) has no batch API through litellm; "
                f"batch providers: {sorted(BATCH_PROVIDERS)}. Run it without --batch "
                "(or set batch = false for it in workbench.toml).")

    # ---- collecting --------------------------------------------------------------------
    def _future_for(self, req: GenRequest, choice: int) -> asyncio.Future[GenResult]:
        key = request_key(req, choice)
        line = self._lines.get(key)
        if line is not None and not line.future.done():
            return line.future  # the same request is already on its way: share it
        single = replace(req, n=1, sample_index=req.sample_index + choice,
                         seed=None if req.seed is None else req.seed + choice)
        line = _Line(key=key, model=req.model, req=single, origin=REQUEST_ORIGIN.get(),
                     future=asyncio.get_running_loop().create_future())
        self._lines[key] = line
        rec = self._stored_batches().get(key)
        if rec is not None and key not in self._retried:
            self._attach(rec, line)
        else:
            self._enqueue(line)
        return line.future

    def _stored_batches(self) -> dict[str, Any]:
        if self._stored is None:
            from workbench.store.batches import inflight_keys

            self._stored = inflight_keys(self.store)
        return self._stored

    def _enqueue(self, line: _Line) -> None:
        queue = self._pending.setdefault(line.model, [])
        queue.append(line)
        self._last_add[line.model] = time.monotonic()
        if len(queue) >= self.settings.max_requests:
            self._start_flush(line.model)
        elif line.model not in self._flushers:
            self._flushers[line.model] = asyncio.create_task(self._flush_when_idle(line.model))

    async def _flush_when_idle(self, model: str) -> None:
        while True:
            wait = self._last_add[model] + self.settings.idle_s - time.monotonic()
            if wait <= 0:
                break
            await asyncio.sleep(wait)
        self._flushers.pop(model, None)
        await self._submit(model)

    def _start_flush(self, model: str) -> None:
        task = self._flushers.pop(model, None)
        if task is not None:
            task.cancel()
        asyncio.create_task(self._submit(model))

    # ---- submitting --------------------------------------------------------------------
    def _client(self, model: str) -> BatchClient:
        cfg = self.inner.config_for(model)
        return BatchClient(provider=self.inner.provider_of(cfg), api_base=cfg.api_base,
                           api_key=self.inner._api_key(cfg))

    def _body(self, line: _Line) -> dict[str, Any]:
        cfg = self.inner.config_for(line.model)
        req = line.req
        name = cfg.litellm_model
        provider = self.inner.provider_of(cfg)
        if name.startswith(provider + "/"):
            name = name[len(provider) + 1:]
        body: dict[str, Any] = {"model": name, "messages": [dict(m) for m in req.messages],
                                "max_tokens": req.max_tokens, "temperature": req.temperature}
        if req.seed is not None:
            body["seed"] = req.seed
        if req.stop:
            body["stop"] = list(req.stop)
        if req.top_p is not None:
            body["top_p"] = req.top_p
        if req.logprobs:
            body.update(logprobs=True, top_logprobs=req.top_logprobs or 1)
        body.update(cfg.params)
        return {"custom_id": line.key, "method": "POST", "url": "/v1/chat/completions",
                "body": body}

    async def _submit(self, model: str) -> None:
        lines = self._pending.pop(model, [])
        if not lines:
            return
        from workbench.store.batches import BatchRecord, record_batch

        client = self._client(model)
        cfg = self.inner.config_for(model)
        try:
            batch_id, file_id = await client.submit([self._body(x) for x in lines])
        except Exception as exc:  # provider fault: every request of the batch errors
            text = self._scrub(f"batch submission failed: {type(exc).__name__}: {exc}", model)
            for x in lines:
                self._resolve(x, _error(text))
            return
        self.submitted += 1
        rec = BatchRecord(batch_id=batch_id, provider=client.provider, model=model,
                          litellm_model=cfg.litellm_model, api_base=cfg.api_base,
                          input_file_id=file_id, n_requests=len(lines))
        record_batch(self.store, rec, [(x.key, *(x.origin or (None, None)),
                                        x.req.sample_index) for x in lines])
        watch = self._watches[batch_id] = _Watch(rec=rec, client=client,
                                                 waiting={x.key: x for x in lines})
        watch.task = asyncio.create_task(self._watch(watch))

    def _attach(self, rec: Any, line: _Line) -> None:
        """Wait on a batch a previous process submitted (resume)."""
        line.resumed = True
        watch = self._watches.get(rec.batch_id)
        if watch is None:
            watch = self._watches[rec.batch_id] = _Watch(rec=rec, client=self._client(
                line.model))
            watch.task = asyncio.create_task(self._watch(watch))
        watch.waiting[line.key] = line
        if watch.outputs is not None:  # already finished: answer at once
            self._settle(watch)

    # ---- waiting -------------------------------------------------------------------------
    async def _watch(self, watch: _Watch) -> None:
        from workbench.store.batches import record_status

        bid, fails, last = watch.rec.batch_id, 0, None
        while True:
            try:
                state = await watch.client.poll(bid)
                fails = 0
            except Exception as exc:
                fails += 1
                if fails >= self.settings.poll_failures:
                    text = self._scrub(f"batch {bid}: polling failed {fails} times: "
                                       f"{type(exc).__name__}: {exc}", watch.rec.model)
                    watch.state = BatchState("unreachable", 0, 0, 0, None, None, text)
                    watch.outputs = {}
                    self._settle(watch)
                    return
                await asyncio.sleep(self.settings.poll_s)
                continue
            snapshot = (state.status, state.completed, state.failed)
            if snapshot != last:
                last = snapshot
                self.progress(bid, state)
                record_status(self.store, bid, state.status, state.completed, state.failed,
                              state.output_file_id, state.error_file_id)
            if state.status in TERMINAL:
                break
            await asyncio.sleep(self.settings.poll_s)
        watch.state = state
        outputs: dict[str, dict[str, Any]] = {}
        try:
            for fid in (state.error_file_id, state.output_file_id):
                for rec in await watch.client.lines(fid):
                    outputs[str(rec.get("custom_id"))] = rec
        except Exception as exc:
            watch.state = replace(state, errors=self._scrub(
                f"results could not be downloaded: {type(exc).__name__}: {exc}",
                watch.rec.model))
        watch.outputs = outputs
        self._settle(watch)

    def _settle(self, watch: _Watch) -> None:
        """Resolve every waiting line from the batch's outputs (or re-submit / error)."""
        assert watch.outputs is not None and watch.state is not None
        waiting, watch.waiting = watch.waiting, {}
        for key, line in waiting.items():
            rec = watch.outputs.get(key)
            result = self._result(rec, line, watch) if rec is not None else None
            if result is not None and result.ok:
                self._resolve(line, result)
            elif line.resumed:  # the old batch did not answer it: submit it anew, once
                self._retried.add(key)
                fresh = replace(line, resumed=False)
                self._lines[key] = fresh
                fresh.future = line.future
                self._enqueue(fresh)
            else:
                self._resolve(line, result or _error(_missing_text(watch)))

    def _result(self, rec: dict[str, Any], line: _Line, watch: _Watch) -> GenResult:
        bid = watch.rec.batch_id
        resp = rec.get("response") or {}
        body = resp.get("body") or {}
        if rec.get("error") or resp.get("status_code") != 200 or not body.get("choices"):
            err = rec.get("error") or body.get("error") or {}
            msg = err.get("message") if isinstance(err, dict) else str(err)
            return _error(self._scrub(f"batch {bid}: request failed (HTTP "
                                      f"{resp.get('status_code')}): {msg}", line.model))
        choice = body["choices"][0]
        message = choice.get("message") or {}
        usage = body.get("usage") or {}
        reasoning = int(((usage.get("completion_tokens_details") or {})
                         .get("reasoning_tokens")) or 0)
        t_in = int(usage.get("prompt_tokens") or 0)
        t_out = max(0, int(usage.get("completion_tokens") or 0) - reasoning)
        lps = [t.get("logprob") for t in ((choice.get("logprobs") or {}).get("content") or [])
               if isinstance(t.get("logprob"), int | float)]
        cfg = self.inner.config_for(line.model)
        # as a streamed path is priced: a self-hosted server on loopback is free unless the
        # config sets a price (then half of it), else litellm's batch rate
        price = (Price(0.0, 0.0) if cfg.price is None and cfg.free_by_default
                 else batch_price_of(cfg.litellm_model, cfg.price))
        extra: dict[str, Any] = {"served_by": "batch", "batch_id": bid}
        if price is None:
            extra["cost_unknown"] = True
        return GenResult(index=0, text=str(message.get("content") or ""),
                         finish_reason=choice.get("finish_reason"), tokens_in=t_in,
                         tokens_out=t_out, tokens_reasoning=reasoning,
                         cost_usd=cost_usd(cfg.litellm_model, t_in, t_out + reasoning,
                                           price) if price else 0.0,
                         logprob_mean=sum(lps) / len(lps) if lps else None,
                         latency_ms=(time.time() - watch.t0) * 1000.0,
                         reasoning_text=str(message.get("reasoning_content") or ""),
                         extra=extra)

    def _resolve(self, line: _Line, result: GenResult) -> None:
        if not line.future.done():
            line.future.set_result(result)

    def _scrub(self, text: str, model: str) -> str:
        from workbench.backends.retry import scrub

        return scrub(text, self.inner._secrets(self.inner.config_for(model)))[:800]

    async def aclose(self) -> None:
        """Stop polling (the batches keep running at the provider; a re-run re-attaches)."""
        tasks = [w.task for w in self._watches.values() if w.task is not None]
        tasks += list(self._flushers.values())
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _error(text: str) -> GenResult:
    return GenResult(index=0, text="", finish_reason="error", error=text,
                     extra={"served_by": "batch"})


def _missing_text(watch: _Watch) -> str:
    s = watch.state
    bid = watch.rec.batch_id
    status = s.status if s else "unknown"
    why = {"expired": "expired (the provider's 24 h window ended) before this request ran",
           "cancelled": "was cancelled before this request ran",
           "failed": f"failed: {s.errors if s else ''}",
           "completed": "completed without a result for this request",
           }.get(status, f"ended as {status!r}: {s.errors if s else ''}")
    if s is not None and s.errors and status in ("completed", "expired", "cancelled"):
        why += f" ({s.errors})"
    return (f"batch {bid} {why}; not billed. Stored as this error: re-running the sweep "
            "keeps it, a new `workbench run` sends the item again")


def batch_settings_from_env() -> BatchSettings:
    """``WORKBENCH_BATCH_POLL_S`` / ``WORKBENCH_BATCH_IDLE_S`` override the defaults (tests
    poll a fake every 50 ms; a real 24 h batch needs no more than a poll a minute)."""
    import os

    def num(name: str, default: float) -> float:
        raw = os.environ.get(name)
        try:
            value = float(raw) if raw else default
        except ValueError:
            raise WorkbenchError(f"${name} must be a number of seconds (got {raw!r}).") from None
        if value <= 0:
            raise WorkbenchError(f"${name} must be positive (got {raw!r}).")
        return value

    base = BatchSettings()
    return replace(base, poll_s=num("WORKBENCH_BATCH_POLL_S", base.poll_s),
                   idle_s=num("WORKBENCH_BATCH_IDLE_S", base.idle_s))


def with_batches(inner: Any, store: Any, models: Any, *, all_models: bool = False,
                 settings: BatchSettings | None = None, progress: Progress | None = None
                 ) -> Any:
    """``inner`` wrapped in a :class:`BatchBackend` when ``--batch`` was given or one of
    ``models`` has ``batch = true`` in workbench.toml; else ``inner`` itself. Every
    batched model is checked up front (a clear error before any request)."""
    def batched(name: str) -> bool:
        return all_models or bool(getattr(inner.config_for(name), "batch", False))

    chosen = [m for m in models if batched(m)]
    if not chosen:
        return inner
    backend = BatchBackend(inner, store, batched, settings, progress)
    for m in chosen:
        backend.check_model(m)
    return backend
