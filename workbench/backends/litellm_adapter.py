"""The one module that talks to litellm: any litellm model (or the embedded local server)
as a :class:`~workbench.backends.base.Backend`.

Why it looks like this (each choice measured on litellm 1.110, see field notes):

* ``import litellm`` costs ~3.5 s, so it happens lazily on first use, after
  ``LITELLM_LOCAL_MODEL_COST_MAP`` is set (otherwise it fetches prices from the network).
  We also switch off litellm's Hugging Face tokenizer download and its token counter
  (offline they retry a hub for ~20 s; we never use litellm's cost anyway).
* Every retry is ours (:mod:`workbench.backends.retry`): litellm and the openai client get
  ``max_retries=0``/``num_retries=0``. A fault *before any text streamed* is retried; a
  fault *after* text streamed is not (a retry would stream the text again and duplicate
  it): the choice comes back with its partial text, ``error`` set, finish_reason "error".
* ``n > 1`` goes natively (one request) on OpenAI-compatible routes and fans out to ``n``
  single requests elsewhere, or when the provider rejects ``n``. Fan-out uses
  ``seed + i`` for choice ``i`` so seeded samples differ. A provider returning fewer than
  ``n`` choices yields error results for the missing ones, never a shorter list. (litellm
  drops choices that stream no text when ``n > 1``, so an empty choice is reported as
  missing too; with ``n == 1`` an empty answer is an ordinary ok result.)
* Per-choice usage that sums to what the call is billed, and per-choice finish reasons
  with native ``n``: see :mod:`workbench.backends.usage` (the stream bookkeeping lives
  there). With fan-out each choice carries its own full prompt (it was sent ``n`` times).
* litellm aborts a stream whose last 100 chunks are identical ("the model is repeating the
  same chunk"). That is a legitimate, if degenerate, output of small models; our
  ``max_tokens`` and clocks already bound it, so the check is switched off and such a path
  ends as "length" (truncated) instead of a provider error.
* An ``openai/`` or ``hosted_vllm/`` model with an ``api_base`` (the embedded server, vLLM,
  SGLang, llama.cpp) is streamed by :mod:`workbench.backends.openai_http` instead of
  litellm: the same keywords and policy, a fraction of the CPU per chunk (litellm costs
  ~17 ms per streamed call). ``ModelConfig.transport = "litellm"`` opts back in.
* A model name configured with ``router = true`` is a pool of deployments served through
  litellm's Router: see :mod:`workbench.backends.router`.
* API keys come from the environment or the config, are never logged, and are scrubbed
  from every error text. User mistakes (unknown model, missing key, bad key, unsupported
  parameter) raise :class:`WorkbenchError` at the first call; provider faults never raise.
"""

from __future__ import annotations

import asyncio
import os
import re
import weakref
from collections.abc import Callable, Mapping
from typing import Any

from workbench.backends import router as pool
from workbench.backends.affinity import AffinityPool, affinity_pool
from workbench.backends.base import DeltaCallback, GenRequest, GenResult, LogprobCallback
from workbench.backends.continuation import continuation_params
from workbench.backends.fatal import FatalModelError, is_fatal
from workbench.backends.model_config import ModelConfig
from workbench.backends.openai_http import HTTPTransport, SSEStream
from workbench.backends.pricing import Price
from workbench.backends.retry import (
    Clock,
    RetryPolicy,
    StreamTimeout,
    scrub,
    user_error_advice,
)
from workbench.backends.stream_io import close_stream, one_by_one
from workbench.backends.thinking import thinking_params
from workbench.backends.usage import StreamState, results
from workbench.errors import WorkbenchError

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

NATIVE_N_PROVIDERS = frozenset({"openai", "hosted_vllm", "azure", "custom_openai",
                                "openai_like"})
_litellm: Any = None


def _lib() -> Any:
    """Import and configure litellm once (3.5 s; only when a model is first used)."""
    global _litellm
    if _litellm is None:
        import litellm

        litellm.suppress_debug_info = True  # no "Give Feedback" banners on stdout
        litellm.disable_hf_tokenizer_download = True  # offline: no hub lookups
        litellm.disable_token_counter = True  # we count tokens ourselves
        # see the module docstring (Final in litellm, but read at run time)
        setattr(litellm, "REPEATED_STREAMING_CHUNK_LIMIT", 10**9)  # noqa: B010
        _litellm = litellm
    return _litellm


Resolver = Callable[[str], ModelConfig | None]


class _NoNativeN(Exception):
    """The provider rejected ``n``: fan out instead."""


class LiteLLMBackend:
    """A :class:`~workbench.backends.base.Backend` over litellm. ``models`` maps workbench
    model names to configs (or resolves them); unknown names are passed to litellm as-is."""

    def __init__(self, models: Mapping[str, ModelConfig] | Resolver | None = None,
                 retry: RetryPolicy | None = None) -> None:
        self._models = models or {}
        self.retry = retry or RetryPolicy()
        self._checked: set[str] = set()
        self._no_native: set[str] = set()
        self._seeded: dict[str, bool] = {}
        self._sems: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop,
                                              dict[str, asyncio.Semaphore]] = (
            weakref.WeakKeyDictionary())
        self._routers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop,
                                                 dict[str, Any]] = weakref.WeakKeyDictionary()
        self._http = HTTPTransport()

    # ---- configuration and up-front checks ------------------------------------------
    def config_for(self, model: str) -> ModelConfig:
        found = (self._models(model) if callable(self._models) else self._models.get(model))
        return found if found is not None else ModelConfig(litellm_model=model)

    def _api_key(self, cfg: ModelConfig) -> str | None:
        if cfg.api_key:
            return cfg.api_key
        if cfg.api_key_env and os.environ.get(cfg.api_key_env):
            return os.environ[cfg.api_key_env]
        if cfg.is_local:
            return "local"
        if cfg.uses_http:  # what litellm would read for these providers
            return os.environ.get(f"{self.provider_of(cfg).upper()}_API_KEY") or None
        return None  # litellm reads the provider's env var

    def _secrets(self, cfg: ModelConfig) -> tuple[str, ...]:
        key = self._api_key(cfg)
        mine = (key,) if key and key != "local" else ()
        return mine + (pool.secrets(cfg.router) if cfg.router is not None else ())

    def provider_of(self, cfg: ModelConfig) -> str:
        if cfg.uses_http:  # no need to import litellm (3.5 s) to read a prefix
            return cfg.litellm_model.split("/", 1)[0]
        api_base = cfg.router.deployments[0].api_base if cfg.router else cfg.api_base
        _, provider, _, _ = _lib().get_llm_provider(model=cfg.litellm_model,
                                                    api_base=api_base)
        return str(provider)

    def check_model(self, model: str) -> None:
        """Raise :class:`WorkbenchError` if ``model`` cannot work: litellm does not know
        its provider, or its API key is missing. Makes no network call. A pool checks
        every deployment."""
        cfg = self.config_for(model)
        if cfg.router is None:
            self._check_one(model, cfg)
            return
        for d in cfg.router.deployments:
            self._check_one(model, ModelConfig(litellm_model=d.model, api_base=d.api_base,
                                               api_key_env=d.api_key_env))

    def _check_one(self, model: str, cfg: ModelConfig) -> None:
        try:
            self.provider_of(cfg)
        except Exception as exc:
            raise WorkbenchError(
                f"litellm does not recognise the model {cfg.litellm_model!r} "
                f"({scrub(str(exc), self._secrets(cfg)).splitlines()[0][:200]}). Prefix it "
                "with its provider, e.g. 'openai/gpt-4o-mini', 'anthropic/claude-sonnet-4-5', "
                "'gemini/gemini-2.5-flash', or use 'openai/<name>' with api_base for an "
                "OpenAI-compatible server.") from None
        if self._api_key(cfg) is not None:
            return
        if cfg.api_key_env:
            raise WorkbenchError(
                f"Model {model!r} reads its API key from ${cfg.api_key_env}, which is not "
                f"set. Set it (export {cfg.api_key_env}=...) and restart the kernel/process.")
        if cfg.uses_http:
            if self.provider_of(cfg) == "openai":
                raise WorkbenchError(
                    f"Model {model!r} needs an API key for {cfg.api_base}: set "
                    "OPENAI_API_KEY in the environment (or name another variable with "
                    "api_key_env).")
            return  # vLLM and friends run without a key unless started with one
        missing = _lib().validate_environment(model=cfg.litellm_model,
                                               api_base=cfg.api_base)["missing_keys"]
        if missing:
            raise WorkbenchError(
                f"Model {model!r} needs an API key: set {' or '.join(missing)} in the "
                "environment (or name another variable with ModelConfig.api_key_env).")

    def _check_once(self, model: str) -> None:
        if model not in self._checked:
            self.check_model(model)
            self._checked.add(model)

    def native_n(self, cfg: ModelConfig) -> bool:
        if cfg.litellm_model in self._no_native:
            return False
        if cfg.native_n is not None:
            return cfg.native_n
        return self.provider_of(cfg) in NATIVE_N_PROVIDERS

    def _semaphore(self, model: str, cfg: ModelConfig) -> asyncio.Semaphore:
        """One semaphore per model per event loop (a semaphore binds to its loop)."""
        per_loop = self._sems.setdefault(asyncio.get_running_loop(), {})
        if model not in per_loop:
            default = cfg.router.capacity if cfg.router else (8 if cfg.is_local else 16)
            limit = cfg.concurrency or default
            per_loop[model] = asyncio.Semaphore(limit)
        return per_loop[model]

    # ---- generation --------------------------------------------------------------------
    async def generate(self, req: GenRequest, on_delta: DeltaCallback | None = None, *,
                       on_logprobs: LogprobCallback | None = None) -> list[GenResult]:
        """All ``req.n`` choices, in index order. Raises only :class:`WorkbenchError`."""
        self._check_once(req.model)
        cfg = self.config_for(req.model)
        if req.continue_final:  # refused up front where the engine cannot continue
            continuation_params(req.model, cfg, self.provider_of(cfg))
        if req.n > 1 and self.native_n(cfg):
            step = min(req.n, cfg.max_native_n or req.n)  # llama.cpp: n <= its slots
            try:
                chunks = await asyncio.gather(*(
                    self._call(req, cfg, min(step, req.n - start), start, on_delta,
                               on_logprobs)
                    for start in range(0, req.n, step)))
                return [r for chunk in chunks for r in chunk]
            except _NoNativeN:
                self._no_native.add(cfg.litellm_model)
        parts = await asyncio.gather(*(self._call(req, cfg, 1, i, on_delta, on_logprobs)
                                       for i in range(req.n)))
        return [r for part in parts for r in part]

    def _kwargs(self, req: GenRequest, cfg: ModelConfig, n: int, offset: int,
                policy: RetryPolicy, extra: dict[str, Any]) -> dict[str, Any]:
        kw: dict[str, Any] = {
            "model": cfg.litellm_model, "messages": [dict(m) for m in req.messages],
            "max_tokens": req.max_tokens, "temperature": req.temperature,
            "stream": True, "stream_options": {"include_usage": True},
            "max_retries": 0, "num_retries": 0, "drop_params": False}
        if policy.attempt_timeout_s is not None:  # backstop; our own clocks fire first
            kw["timeout"] = policy.attempt_timeout_s + 5.0
        if n > 1:
            kw["n"] = n
        if req.seed is not None and self._takes_seed(cfg):
            kw["seed"] = req.seed + offset
        if req.stop:
            kw["stop"] = list(req.stop)
        if req.top_p is not None:
            kw["top_p"] = req.top_p
        if req.logprobs:
            kw["logprobs"] = True
            kw["top_logprobs"] = req.top_logprobs or 1  # llama.cpp sends 20 otherwise
        if req.continue_final:
            kw.update(continuation_params(req.model, cfg, self.provider_of(cfg)))
        if cfg.router is not None:
            kw["model"] = cfg.router.name  # the pool; each deployment has its base and key
        elif cfg.api_base:
            kw["api_base"] = cfg.api_base
        key = self._api_key(cfg) if cfg.router is None else None
        if key is not None:
            kw["api_key"] = key
        if req.thinking_budget is not None:
            kw.update(thinking_params(self.provider_of(cfg), cfg.litellm_model, req,
                                      lambda **k: _lib().supports_reasoning(**k), extra))
        kw.update(cfg.params)
        return kw

    def _takes_seed(self, cfg: ModelConfig) -> bool:
        """Whether the provider accepts ``seed``. Anthropic's Messages API has none, and with
        ``drop_params`` off litellm refuses the whole request, so every sample of a run on
        Claude failed; such providers are simply not seeded (their samples still differ)."""
        if cfg.uses_http:
            return True  # OpenAI-compatible servers take a seed (no litellm import needed)
        found = self._seeded.get(cfg.litellm_model)
        if found is None:
            try:
                params = _lib().get_supported_openai_params(
                    model=cfg.litellm_model, custom_llm_provider=self.provider_of(cfg))
            except Exception:  # an unknown provider: send it, as before
                params = None
            found = self._seeded[cfg.litellm_model] = params is None or "seed" in params
        return found

    async def _call(self, req: GenRequest, cfg: ModelConfig, n: int, offset: int,
                    on_delta: DeltaCallback | None,
                    on_logprobs: LogprobCallback | None = None) -> list[GenResult]:
        """One request for ``n`` choices (indices ``offset..``), with our retry policy."""
        policy = cfg.retry or self.retry
        extra: dict[str, Any] = {"native_n": n > 1}
        if cfg.router is None and cfg.api_base:
            extra["served_by"] = pool.Deployment(cfg.litellm_model, cfg.api_base).label
        loop = asyncio.get_running_loop()
        t_call = loop.time()
        clock = Clock(policy)
        attempt, waits, exc = 0, 0, None
        kwargs: dict[str, Any] = {}
        affine = self._affinity(cfg)
        while True:
            attempt += 1
            state = StreamState(n, offset, on_logprobs)
            async with self._semaphore(req.model, cfg):
                if affine is None:
                    if not kwargs:  # built once a slot is free: queued paths cost ~nothing
                        kwargs = self._kwargs(req, cfg, n, offset, policy, extra)
                    clock.start_attempt(loop.time())
                    exc = await self._attempt(self._completion(cfg), kwargs, state, clock,
                                              on_delta)
                else:
                    exc = await self._affine_attempt(affine, req, n, offset, policy, extra,
                                                     state, clock, on_delta)
            if exc is None:
                break
            if _may_wait(exc, clock, loop.time()):  # a pool with no free slot: not a failure
                attempt, waits = attempt - 1, waits + 1
                await asyncio.sleep(BACKPRESSURE_WAIT_S)
                continue
            self._raise_user_errors(exc, cfg, n)
            delay = policy.next_delay(exc, attempt, state.streamed, clock, loop.time())
            if delay is None:
                break
            await asyncio.sleep(delay)
        first = clock.first_start if clock.first_start is not None else t_call
        extra.update(attempts=attempt, queue_ms=(first - t_call) * 1000.0)
        if waits:
            extra["pool_waits"] = waits
        error = None if exc is None else self._error_text(exc, cfg, attempt)
        price = cfg.price if cfg.price is not None else (Price(0.0, 0.0) if cfg.free_by_default
                                                         else None)
        return results(state, req, cfg.litellm_model, price, error, extra,
                       (loop.time() - first) * 1000.0)

    def _affinity(self, cfg: ModelConfig) -> AffinityPool | None:
        """The pool's affinity state on this loop, or ``None`` when litellm routes it."""
        return affinity_pool(self._routers.setdefault(asyncio.get_running_loop(), {}), cfg)

    async def _affine_attempt(self, affine: AffinityPool, req: GenRequest, n: int,
                              offset: int, policy: RetryPolicy, extra: dict[str, Any],
                              state: StreamState, clock: Clock,
                              on_delta: DeltaCallback | None) -> BaseException | None:
        """One attempt on the deployment the item's prefix maps to (see ``router``)."""
        i = affine.pick(req.messages)
        async with affine.slot(i) as target:
            kwargs = self._kwargs(req, target, n, offset, policy, extra)
            extra["served_by"] = affine.label(i)
            clock.start_attempt(asyncio.get_running_loop().time())
            exc = await self._attempt(self._completion(target), kwargs, state, clock,
                                      on_delta)
        if exc is not None:
            affine.failed(i)
        return exc

    def _completion(self, cfg: ModelConfig) -> Callable[..., Any]:
        """Our HTTP transport, ``litellm.acompletion``, or the pool's Router (one per pool
        per event loop: its clients and slot counters belong to the loop that made them)."""
        if cfg.uses_http:
            return self._http.complete
        if cfg.router is None:
            return _lib().acompletion  # type: ignore[no-any-return]
        per_loop = self._routers.setdefault(asyncio.get_running_loop(), {})
        found = per_loop.get(cfg.router.name)
        if found is None:
            found = per_loop[cfg.router.name] = _lib().Router(**pool.router_kwargs(cfg.router))
        return found.acompletion  # type: ignore[no-any-return]

    async def _attempt(self, complete: Callable[..., Any], kwargs: dict[str, Any],
                       state: StreamState, clock: Clock, on_delta: DeltaCallback | None
                       ) -> BaseException | None:
        """Run one HTTP attempt to completion; return its exception instead of raising."""
        loop = asyncio.get_running_loop()
        resp: Any = None
        which: tuple[str, float] = ("", 0.0)
        try:
            async with asyncio.timeout(None) as cm:
                which = clock.arm(cm, loop.time(), state.streamed)
                resp = await complete(**kwargs)
                next_batch = (resp.next_batch if isinstance(resp, SSEStream)  # whole reads
                              else one_by_one(resp))  # litellm: a chunk at a time
                while True:
                    which = clock.arm(cm, loop.time(), state.streamed)
                    batch = await next_batch()
                    if batch is None:
                        return None
                    state.absorb_batch(batch, loop.time() - clock.attempt_start, on_delta)
        except TimeoutError as exc:
            if cm.expired():
                return StreamTimeout(which[0], which[1],
                                     f" ({state.total_deltas()} deltas received)")
            return exc
        except Exception as exc:  # provider faults: classified by the caller
            return exc
        finally:
            if resp is not None:
                await close_stream(resp)

    def _raise_user_errors(self, exc: BaseException, cfg: ModelConfig, n: int) -> None:
        """User mistakes surface as :class:`WorkbenchError` (retrying cannot fix them)."""
        advice = user_error_advice(exc)
        if advice is None:
            return
        msg = scrub(str(exc), self._secrets(cfg)).strip().replace("\n", " ")[:500]
        if advice == "unsupported" and n > 1 and re.search(r"\['n'\]|'n'", msg):
            raise _NoNativeN() from None
        if advice == "unsupported":
            advice = "remove the parameter from the request or the model's params"
        kind = FatalModelError if is_fatal(exc) else WorkbenchError
        raise kind(f"{cfg.litellm_model!r}: {msg} — {advice}.") from None

    def _error_text(self, exc: BaseException, cfg: ModelConfig, attempts: int) -> str:
        msg = scrub(str(exc), self._secrets(cfg)).strip().replace("\n", " ")
        return f"{type(exc).__name__}: {msg[:800]} (after {attempts} attempt(s))"


BACKPRESSURE_WAIT_S = 0.05
"""How long a call waits for a pool slot before asking the router again."""


def _may_wait(exc: BaseException, clock: Clock, now: float) -> bool:
    """A pool refused for lack of a free slot and the deadline leaves time to wait."""
    if not pool.is_backpressure(exc):
        return False
    return clock.deadline_at is None or now + BACKPRESSURE_WAIT_S < clock.deadline_at
