"""Continuing an assistant message (prefill): how each engine is asked, and which cannot.

think-longer sends its chain so far as a trailing assistant message ending in the cue
("Wait") and needs the model to go on from there, not to start a new turn. Engines differ:

* **prefill** — the trailing assistant message is continued as sent. Measured for the
  embedded llama.cpp server (xllamacpp 2026.10): the streamed deltas carry only the
  continuation (a non-streamed body repeats the prefill; we always stream). Anthropic's
  API documents the same ("prefill").
* **vllm** — vLLM continues only when asked: ``continue_final_message: true`` and
  ``add_generation_prompt: false`` in the body.
* **none** — OpenAI's API (and any server not known to prefill) starts a new assistant
  turn after the message. That would silently answer a different prompt, so such a request
  is refused with a :class:`WorkbenchError` naming the config key that overrides the guess
  (``continue_final`` in ``[models.<name>]``). No fallback is attempted.

Split out of :mod:`workbench.backends.litellm_adapter`; nothing here imports litellm.
"""

from __future__ import annotations

from typing import Any

from workbench.backends.model_config import ModelConfig
from workbench.errors import WorkbenchError


def how(cfg: ModelConfig, provider: str) -> str:
    """"prefill", "vllm" or "none" for this model (its config first, then the route)."""
    if cfg.continue_final is not None:
        return cfg.continue_final
    if provider == "hosted_vllm":
        return "vllm"
    return "prefill" if provider == "anthropic" else "none"


def continuation_params(model: str, cfg: ModelConfig, provider: str) -> dict[str, Any]:
    """Extra request keywords that make the engine continue the final message; raises
    :class:`WorkbenchError` where it cannot."""
    kind = how(cfg, provider)
    if kind == "none":
        raise WorkbenchError(
            f"Model {model!r} cannot continue an assistant message (its engine starts a new "
            "turn instead), which think-longer needs. Use the embedded model, vLLM "
            "(hosted_vllm/...), Anthropic or a llama.cpp server, or set continue_final = "
            f'"prefill" (or "vllm") in [models.{model}] if its server can continue one.')
    if kind == "vllm":
        return {"extra_body": {"continue_final_message": True, "add_generation_prompt": False}}
    return {}
