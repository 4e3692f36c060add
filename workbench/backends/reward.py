"""Reward-model endpoints: score a partial solution through vLLM's pooling API.

Why here and not in a technique: a process reward model (PRM) is another model server, so
reaching it is a backend concern like a chat completion: techniques call ``ctx.score``,
which meters the call (its prompt tokens and latency are compute, stored as a path row
with role ``score``) and this module does the HTTP. It uses the project's HTTP client
(aiohttp, the same per-loop connection pool as :mod:`workbench.backends.openai_http`);
litellm has no reward-model route.

Three request shapes, one per vLLM endpoint (``reward_api`` in a model's
``workbench.toml`` entry):

* ``pooling`` (``POST {base}/pooling``): chat messages whose assistant turn is the steps
  joined and ended by ``step_tag`` (Qwen2.5-Math-PRM's ``<extra_0>``); vLLM's STEP pooler
  returns one ``[p_bad, p_good]`` pair per tag, so every step gets its own score
  (``p_good``). A reply with a different number of scores than steps is malformed.
* ``classify`` (``POST {base}/classify``): the question and solution as one text; the last
  class probability scores the whole prefix (an outcome model used on prefixes).
* ``score`` (``POST {base}/score``): ``text_1`` = question, ``text_2`` = solution; any
  OpenAI-compatible server returning ``data[0].score`` works.

Faults never raise: an HTTP error, a timeout, a refused connection or a body that is not
what the API promises comes back as ``ScoreResult(error=...)``, and the search records the
step as unscored and goes on. ``api_base`` is the server root (``http://host:8000``; a
trailing ``/v1`` is dropped, vLLM serves these routes at the root).
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import time
from collections.abc import Mapping
from typing import Any

import aiohttp

from workbench.backends.base import (
    DeltaCallback,
    GenRequest,
    GenResult,
    LogprobCallback,
    ScoreRequest,
    ScoreResult,
)
from workbench.backends.model_config import ModelConfig
from workbench.backends.openai_http import _session

REWARD_APIS = ("pooling", "classify", "score")
DEFAULT_STEP_TAG = "<extra_0>"
PRM_SYSTEM = "Please reason step by step, and put your final answer within \\boxed{}."
"""The system turn Qwen2.5-Math-PRM was trained with (its model card)."""
DEFAULT_TIMEOUT_S = 60.0
_BODY_LIMIT = 4 * 1024 * 1024


class MalformedReward(ValueError):
    """The server answered 2xx with a body that holds no usable score."""


def endpoint(api_base: str, api: str) -> str:
    """``{root}/{api}``: vLLM serves the pooling routes at the root, not under /v1."""
    root = api_base.rstrip("/")
    root = root[:-3] if root.endswith("/v1") else root
    return f"{root}/{api}"


def request_body(api: str, model: str, req: ScoreRequest, step_tag: str) -> dict[str, Any]:
    """The JSON body for ``api`` (see the module docstring)."""
    if api == "pooling":
        answer = "".join(s + step_tag for s in req.steps)
        return {"model": model, "messages": [
            {"role": "system", "content": PRM_SYSTEM},
            {"role": "user", "content": req.question},
            {"role": "assistant", "content": answer}]}
    solution = "\n\n".join(req.steps)
    if api == "classify":
        return {"model": model, "input": f"{req.question}\n\n{solution}"}
    if api == "score":
        return {"model": model, "text_1": req.question, "text_2": solution}
    raise ValueError(f"reward_api must be one of {REWARD_APIS}, not {api!r}")


def _prob(value: Any) -> float:
    if isinstance(value, list) and value:  # [p_bad, p_good]: the positive class
        value = value[-1]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(
            float(value)):
        raise MalformedReward(f"score is not a finite number: {str(value)[:80]}")
    return float(value)


def parse_scores(api: str, body: Any, n_steps: int) -> tuple[float, ...]:
    """Scores out of a 2xx body; :class:`MalformedReward` when there are none."""
    try:
        first = body["data"][0]
    except (KeyError, IndexError, TypeError):
        raise MalformedReward("no data[0] in the reply") from None
    if not isinstance(first, dict):
        raise MalformedReward("data[0] is not an object")
    if api == "pooling":
        rows = first.get("data")
        if not isinstance(rows, list) or not rows:
            raise MalformedReward("data[0].data holds no step scores")
        scores = tuple(_prob(r) for r in rows)
        if len(scores) != n_steps:
            raise MalformedReward(f"{len(scores)} step scores for {n_steps} steps "
                                  "(is step_tag the model's step token?)")
        return scores
    if api == "classify":
        return (_prob(first.get("probs")),)
    return (_prob(first.get("score")),)


def _tokens(body: Any, req: ScoreRequest) -> tuple[int, bool]:
    """Prompt tokens from ``usage``; estimated (chars / 4) when the server omits them."""
    usage = body.get("usage") if isinstance(body, dict) else None
    found = usage.get("prompt_tokens") if isinstance(usage, dict) else None
    if isinstance(found, int) and not isinstance(found, bool) and found >= 0:
        return found, False
    chars = len(req.question) + sum(len(s) for s in req.steps)
    return max(1, chars // 4), True


class RewardClient:
    """Scores steps on the reward models named in ``configs`` (name -> ModelConfig with
    ``reward_api`` set)."""

    def __init__(self, configs: Mapping[str, ModelConfig]) -> None:
        self.configs = dict(configs)

    def knows(self, model: str) -> bool:
        return model in self.configs

    async def score(self, req: ScoreRequest) -> ScoreResult:
        cfg = self.configs.get(req.model)
        if cfg is None or not cfg.reward_api or not cfg.api_base:
            return ScoreResult(error=f"{req.model!r} is not a configured reward model "
                               "(workbench.toml [models.NAME] with reward_api and api_base)")
        t0 = time.perf_counter()
        try:
            async with asyncio.timeout(_timeout(cfg)):
                status, body = await self._post(cfg, req)
        except TimeoutError:
            return _failed(f"reward model timed out after {_timeout(cfg):g} s", t0)
        except aiohttp.ClientError as exc:
            return _failed(f"cannot reach the reward model: {type(exc).__name__}", t0)
        if status >= 400:
            return _failed(f"HTTP {status}: {body[:200]}", t0)
        return _parsed(cfg, req, body, t0)

    async def _post(self, cfg: ModelConfig, req: ScoreRequest) -> tuple[int, str]:
        assert cfg.reward_api is not None and cfg.api_base is not None
        headers = {"Content-Type": "application/json"}
        key = cfg.api_key or (os.environ.get(cfg.api_key_env) if cfg.api_key_env else None)
        if key:
            headers["Authorization"] = f"Bearer {key}"
        body = request_body(cfg.reward_api, cfg.litellm_model, req,
                            cfg.step_tag or DEFAULT_STEP_TAG)
        session = await _session()
        async with session.post(endpoint(cfg.api_base, cfg.reward_api),
                                data=json.dumps(body).encode(), headers=headers) as resp:
            raw = await resp.content.read(_BODY_LIMIT)
            return resp.status, raw.decode("utf-8", "replace")


def _timeout(cfg: ModelConfig) -> float:
    return cfg.retry.deadline_s if cfg.retry is not None and cfg.retry.deadline_s else (
        DEFAULT_TIMEOUT_S)


def _failed(error: str, t0: float) -> ScoreResult:
    return ScoreResult(error=error, latency_ms=(time.perf_counter() - t0) * 1000)


def _parsed(cfg: ModelConfig, req: ScoreRequest, text: str, t0: float) -> ScoreResult:
    latency = (time.perf_counter() - t0) * 1000
    try:
        body = json.loads(text)
        scores = parse_scores(cfg.reward_api or "", body, len(req.steps))
    except (ValueError, MalformedReward) as exc:  # json.JSONDecodeError is a ValueError
        return ScoreResult(error=f"malformed reward reply: {str(exc)[:200]}",
                           latency_ms=latency)
    tokens, estimated = _tokens(body, req)
    return ScoreResult(scores=scores, tokens_in=tokens, latency_ms=latency,
                       extra={"tokens_estimated": True} if estimated else {})


class WithReward:
    """A generation backend plus a reward client: ``generate`` goes to ``backend``,
    ``score`` to ``reward``; every other attribute (batch settings, checks) is the
    backend's."""

    def __init__(self, backend: Any, reward: RewardClient) -> None:
        self.backend = backend
        self.reward = reward

    async def generate(self, req: GenRequest, on_delta: DeltaCallback | None = None, *,
                       on_logprobs: LogprobCallback | None = None) -> list[GenResult]:
        if on_logprobs is None:  # backends without a logprob stream keep working
            return await self.backend.generate(req, on_delta)  # type: ignore[no-any-return]
        return await self.backend.generate(  # type: ignore[no-any-return]
            req, on_delta, on_logprobs=on_logprobs)

    async def score(self, req: ScoreRequest) -> ScoreResult:
        return await self.reward.score(req)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.backend, name)
