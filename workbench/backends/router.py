"""Model pools: one workbench model name served by several deployments (scale-out).

A pool is declared in ``workbench.toml``::

    [models.qwen-pool]
    router = true
    deployments = [
      {model = "openai/qwen", api_base = "http://10.0.0.5:8000/v1", concurrency = 8},
      {model = "openai/qwen", api_base = "http://10.0.0.6:8000/v1", concurrency = 8,
       rpm = 600, tpm = 200000},
    ]
    allowed_fails = 1     # failures (per minute) before a deployment is cooled down
    cooldown_s = 30       # how long a failing deployment gets no traffic
    # routing: default "least-busy"; "simple-shuffle" (weighted by concurrency) when the
    # deployments' concurrency differs; "usage-based-routing-v2" when any sets rpm/tpm
    affinity = "prefix"   # optional: pin each item's requests to one deployment (below)

The calls go through litellm's ``Router`` (built in :mod:`litellm_adapter`, the only module
that imports litellm): it picks a deployment, honours each deployment's
``max_parallel_requests`` (our ``concurrency``) and rpm/tpm, and cools down a deployment
that fails. Our own :class:`~workbench.backends.retry.RetryPolicy` stays the outer loop:
litellm's router retries are off, and the next attempt after a failure is routed again,
so a dead deployment costs one retried attempt, then no traffic until its cooldown ends.

Measured on litellm 1.110 (why the adapter does what it does):

* a deployment whose slots are all taken does not queue: the router raises a
  ``RateLimitError`` at once, before any HTTP request. The adapter caps the pool at the sum
  of its deployments' concurrency and treats that error as back-pressure (wait, try again;
  not a failed attempt), which matters when a dead deployment leaves fewer live slots;
* rpm/tpm limits are enforced only by the ``usage-based-routing-v2`` strategy, so it is the
  default when any deployment sets them; otherwise see :func:`default_routing`;
* a stream cut mid-way when a deployment dies is not retried (the text already streamed
  to the user); it is recorded with its partial text, like any mid-stream fault.

**Prefix-cache affinity** (``affinity = "prefix"``). vLLM and SGLang reuse the KV cache of
a prompt prefix, but only on the replica that computed it, and litellm's strategies are not
prefix-aware: the 16 samples of one item land on all replicas and each recomputes the long
prompt. With affinity the adapter routes itself (no litellm Router): the key is a hash of
the messages up to the first user turn (system + few-shot + question), which every sample,
refinement round and search step of an item shares, and each key ranks the deployments by
rendezvous (highest-random-weight) hashing, so adding or losing one deployment moves only
the keys it owned. A request goes to the first deployment in its order that is not cooling
down and whose load (running + queued) is under twice its slots (bounded load: an item
spills to its next replica rather than queue without end), else queues on the first live
one. A failed attempt counts
against its deployment; past ``allowed_fails`` failures in a minute it cools down for
``cooldown_s`` and its keys move to their next replica. Each path records the deployment
that served it (``paths.served_by``).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from workbench.errors import WorkbenchError

ROUTINGS = ("least-busy", "usage-based-routing-v2", "simple-shuffle", "latency-based-routing")
_DEPLOYMENT_KEYS = {"model", "api_base", "api_key_env", "concurrency", "rpm", "tpm", "weight"}
_POOL_KEYS = {"router", "deployments", "allowed_fails", "cooldown_s", "routing", "params",
              "native_n", "concurrency", "model", "affinity", "batch", "price_per_mtok",
              "stall_timeout", "deadline"}
AFFINITIES = ("prefix",)
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1", "0.0.0.0"})
DEFAULT_CONCURRENCY = 8


@dataclass(frozen=True)
class Deployment:
    """One server (or API account) behind a pool."""

    model: str  # litellm model string, e.g. "openai/qwen" or "hosted_vllm/Qwen/Qwen2.5-7B"
    api_base: str | None = None
    api_key_env: str | None = None  # the *name* of the variable holding the key
    concurrency: int = DEFAULT_CONCURRENCY  # requests in flight (litellm max_parallel_requests)
    rpm: int | None = None  # requests per minute
    tpm: int | None = None  # tokens per minute
    weight: int | None = None  # share of traffic with "simple-shuffle"

    @property
    def is_local(self) -> bool:
        return bool(self.api_base) and urlparse(self.api_base).hostname in _LOOPBACK

    @property
    def label(self) -> str:
        """How a path names the deployment that served it (no key, no credentials)."""
        if not self.api_base:
            return self.model
        url = urlparse(self.api_base)
        return f"{self.model}@{url.hostname}:{url.port}" if url.port else (
            f"{self.model}@{url.hostname}")


@dataclass(frozen=True)
class RouterSpec:
    """A pool of deployments answering to one model name, and how to balance it."""

    name: str
    deployments: tuple[Deployment, ...]
    allowed_fails: int = 1
    cooldown_s: float = 30.0
    routing: str = "least-busy"
    affinity: str | None = None  # "prefix": the adapter pins each item to one deployment

    @property
    def capacity(self) -> int:
        """Requests the whole pool may have in flight (sum of deployment concurrency)."""
        return sum(d.concurrency for d in self.deployments)

    @property
    def first_model(self) -> str:
        """The model string of the first deployment (the pool's provider family)."""
        return self.deployments[0].model


def _positive_int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise WorkbenchError(f"{what} must be a positive integer (got {value!r}).")
    return value


def _deployment(name: str, i: int, raw: Any) -> Deployment:
    where = f"[models.{name}] deployment {i + 1}"
    if not isinstance(raw, Mapping):
        raise WorkbenchError(f"{where} must be a table like "
                             '{model = "openai/qwen", api_base = "http://host:8000/v1"}.')
    if "api_key" in raw:
        raise WorkbenchError(f"{where}: put API keys in environment variables and name them "
                             "with api_key_env; keys are never read from config files.")
    unknown = set(raw) - _DEPLOYMENT_KEYS
    if unknown:
        raise WorkbenchError(f"{where}: unknown key(s) {sorted(unknown)}; known: "
                             f"{sorted(_DEPLOYMENT_KEYS)}.")
    if not isinstance(raw.get("model"), str) or not raw["model"]:
        raise WorkbenchError(f'{where} needs model = "<provider>/<name>".')
    limits = {k: _positive_int(raw[k], f"{where} {k}") for k in ("rpm", "tpm", "weight")
              if raw.get(k) is not None}
    return Deployment(model=raw["model"], api_base=raw.get("api_base"),
                      api_key_env=raw.get("api_key_env"),
                      concurrency=_positive_int(raw.get("concurrency", DEFAULT_CONCURRENCY),
                                                f"{where} concurrency"), **limits)


def router_spec(name: str, entry: Mapping[str, Any]) -> RouterSpec:
    """Validate a ``[models.<name>]`` table with ``router = true``; clear errors if wrong."""
    unknown = set(entry) - _POOL_KEYS
    if unknown:
        raise WorkbenchError(f"[models.{name}]: unknown key(s) {sorted(unknown)} for a router "
                             f"pool; known: {sorted(_POOL_KEYS)}.")
    raw = entry.get("deployments")
    if not isinstance(raw, Sequence) or isinstance(raw, str) or not raw:
        raise WorkbenchError(f"[models.{name}] has router = true but no deployments; add "
                             'deployments = [{model = "openai/qwen", api_base = "..."}, ...].')
    deployments = tuple(_deployment(name, i, d) for i, d in enumerate(raw))
    routing = str(entry.get("routing") or default_routing(deployments))
    if routing not in ROUTINGS:
        raise WorkbenchError(f"[models.{name}] routing {routing!r} is not one of {ROUTINGS}.")
    fails = entry.get("allowed_fails", 1)
    if isinstance(fails, bool) or not isinstance(fails, int) or fails < 0:
        raise WorkbenchError(f"[models.{name}] allowed_fails must be 0 or more (got {fails!r}).")
    cooldown = entry.get("cooldown_s", 30.0)
    if isinstance(cooldown, bool) or not isinstance(cooldown, int | float) or cooldown < 0:
        raise WorkbenchError(f"[models.{name}] cooldown_s must be 0 or more seconds "
                             f"(got {cooldown!r}).")
    affinity = entry.get("affinity")
    if affinity is not None and affinity not in AFFINITIES:
        raise WorkbenchError(f"[models.{name}] affinity {affinity!r} is not one of "
                             f"{AFFINITIES} (leave it out for litellm's routing).")
    return RouterSpec(name=name, deployments=deployments, allowed_fails=fails,
                      cooldown_s=float(cooldown), routing=routing, affinity=affinity)


def affinity_key(messages: Sequence[Mapping[str, Any]]) -> str:
    """The prefix an item's requests share: messages up to and including the first user
    turn (later turns, e.g. a critique or a partial solution, extend that prefix)."""
    cut = next((i for i, m in enumerate(messages) if m.get("role") == "user"), len(messages))
    blob = json.dumps([dict(m) for m in messages[:cut + 1]], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def rendezvous_order(key: str, deployments: Sequence[Deployment]) -> list[int]:
    """Deployment indices, best first, by highest-random-weight hashing of ``key``."""
    def weight(i: int) -> tuple[bytes, int]:  # by label, so removing one moves only its keys
        return (hashlib.sha256(f"{key}|{deployments[i].label}".encode()).digest(), -i)
    return sorted(range(len(deployments)), key=weight, reverse=True)


def default_routing(deployments: Sequence[Deployment]) -> str:
    """rpm/tpm limits: ``usage-based-routing-v2`` (the only strategy that enforces them);
    equal deployments: ``least-busy``; unequal concurrency: ``simple-shuffle`` weighted by
    concurrency (``least-busy`` counts requests, not free slots, so it would keep filling
    the smaller deployment and leave the larger one's extra slots idle)."""
    if any(d.rpm or d.tpm for d in deployments):
        return "usage-based-routing-v2"
    if len({d.concurrency for d in deployments}) > 1:
        return "simple-shuffle"
    return "least-busy"


def deployment_key(d: Deployment) -> str | None:
    """The API key a deployment sends: its variable's value, "local" on loopback, else
    ``None`` (litellm then reads the provider's usual variable, e.g. OPENAI_API_KEY)."""
    if d.api_key_env and os.environ.get(d.api_key_env):
        return os.environ[d.api_key_env]
    return "local" if d.is_local else None


def secrets(spec: RouterSpec) -> tuple[str, ...]:
    """Every real key of the pool, for scrubbing error texts."""
    keys = {deployment_key(d) for d in spec.deployments}
    return tuple(k for k in keys if k and k != "local")


def model_list(spec: RouterSpec) -> list[dict[str, Any]]:
    """litellm ``Router(model_list=...)`` entries: one per deployment, all answering to
    ``spec.name``; retries inside litellm are off (our policy is the outer loop)."""
    out = []
    for d in spec.deployments:
        params: dict[str, Any] = {"model": d.model, "max_parallel_requests": d.concurrency,
                                  "max_retries": 0}
        if d.api_base:
            params["api_base"] = d.api_base
        key = deployment_key(d)
        if key is not None:
            params["api_key"] = key
        for field in ("rpm", "tpm", "weight"):
            value = getattr(d, field)
            if value is not None:
                params[field] = value
        if spec.routing == "simple-shuffle" and d.weight is None:
            params["weight"] = d.concurrency  # traffic in proportion to slots
        out.append({"model_name": spec.name, "litellm_params": params})
    return out


def router_kwargs(spec: RouterSpec) -> dict[str, Any]:
    """The ``litellm.Router(...)`` arguments for a pool."""
    return {"model_list": model_list(spec), "routing_strategy": spec.routing,
            "num_retries": 0, "allowed_fails": spec.allowed_fails,
            "cooldown_time": spec.cooldown_s, "set_verbose": False}


def is_backpressure(exc: BaseException) -> bool:
    """litellm's router refused locally because every live slot is taken (no HTTP request
    was made): wait for a slot rather than count a failed attempt."""
    names = " ".join(c.__name__.lower() for c in type(exc).__mro__)
    return "ratelimit" in names and "max_parallel_requests" in str(exc)
