"""One ``thinking_budget`` knob mapped onto each provider's own reasoning parameter.

Split out of :mod:`workbench.backends.litellm_adapter`; nothing here imports litellm (the
caller passes litellm's ``supports_reasoning`` in, only when a budget was asked for).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from workbench.backends.base import GenRequest

EFFORT_LEVELS = ((1024, "low"), (8192, "medium"))
"""Budget -> OpenAI reasoning_effort: <= 1024 "low", <= 8192 "medium", above "high"."""


def _effort(budget: int, model: str) -> str:
    if budget <= 0:
        return "minimal" if "gpt-5" in model else "low"
    return next((name for limit, name in EFFORT_LEVELS if budget <= limit), "high")


def thinking_params(provider: str, model: str, req: GenRequest,
                     supports_reasoning: Callable[..., bool], extra: dict[str, Any]
                     ) -> dict[str, Any]:
    """Map the one ``thinking_budget`` knob onto each provider's own parameter.

    Anthropic: ``thinking.budget_tokens`` (>= 1024; ``max_tokens`` is raised by the budget
    because Anthropic counts thinking inside it, and temperature is left to the default,
    as Anthropic requires with thinking). Gemini 2.x: ``thinking.budget_tokens`` (litellm
    maps it to ``thinkingBudget``; 0 disables). Gemini 3+ and OpenAI o-series / gpt-5:
    ``reasoning_effort`` by :data:`EFFORT_LEVELS`. Other models ignore the budget
    (``extra["thinking_budget_ignored"]``).
    """
    budget = req.thinking_budget
    if budget is None:
        return {}
    gemini = re.search(r"gemini-(\d+)", model)
    if "claude" in model and provider in ("anthropic", "bedrock", "vertex_ai"):
        if budget <= 0:
            return {}
        b = max(1024, budget)
        extra["thinking"] = {"budget_tokens": b}
        extra["temperature_forced"] = 1.0
        return {"thinking": {"type": "enabled", "budget_tokens": b},
                "max_tokens": req.max_tokens + b, "temperature": 1.0}
    if gemini and provider in ("gemini", "vertex_ai") and int(gemini.group(1)) < 3:
        extra["thinking"] = {"budget_tokens": max(0, budget)}
        return {"thinking": {"type": "enabled", "budget_tokens": max(0, budget)}}
    try:
        reasoning = bool(gemini) or supports_reasoning(model=model)
    except Exception:
        reasoning = False
    if reasoning:
        extra["thinking"] = {"reasoning_effort": _effort(budget, model)}
        return {"reasoning_effort": _effort(budget, model)}
    extra["thinking_budget_ignored"] = True
    return {}
