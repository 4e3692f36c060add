"""How to reach one model: :class:`ModelConfig`, read by the adapter and the model registry.

Split out of :mod:`workbench.backends.litellm_adapter` (which re-exports it) so the
adapter stays about calls; nothing here imports litellm.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from workbench.backends import router as pool
from workbench.backends.openai_http import uses_http
from workbench.backends.pricing import Price
from workbench.backends.retry import RetryPolicy

_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1", "0.0.0.0"})
SELF_HOSTED = frozenset({"openai", "hosted_vllm", "ollama", "ollama_chat", "lm_studio",
                         "llamafile"})
"""Provider prefixes of servers one runs oneself (llama.cpp, vLLM, SGLang, Ollama, ...)."""


@dataclass(frozen=True)
class ModelConfig:
    """How to reach one model. ``api_key`` is for placeholder keys such as "local"; real
    keys belong in the environment variable named by ``api_key_env``."""

    litellm_model: str
    api_base: str | None = None
    api_key_env: str | None = None
    api_key: str | None = field(default=None, repr=False)
    native_n: bool | None = None  # None: decide from the provider
    max_native_n: int | None = None  # larger n is split into several native requests
    concurrency: int | None = None  # None: 8 for a loopback server, 16 for a remote API
    params_count: float | None = None  # parameters, for FLOP estimates elsewhere
    price: Price | None = None  # overrides litellm's table; local servers default to 0
    retry: RetryPolicy | None = None  # None: the backend's policy
    params: Mapping[str, Any] = field(default_factory=dict)  # extra litellm kwargs
    router: pool.RouterSpec | None = None  # a pool of deployments (litellm_model: the first)
    transport: str = "auto"  # "auto": our lean HTTP client where it can serve; "litellm"
    batch: bool = False  # sweeps send this model's requests through the provider's batch API
    reward_api: str | None = None  # a reward model: "pooling" | "classify" | "score" (vLLM)
    step_tag: str | None = None  # pooling: token ending each step (Qwen PRM: "<extra_0>")
    continue_final: str | None = None  # "prefill" | "vllm" | "none"; None: guess by route

    def __post_init__(self) -> None:
        if self.continue_final not in (None, "prefill", "vllm", "none"):
            raise ValueError(f"ModelConfig.continue_final must be 'prefill', 'vllm' or "
                             f"'none', not {self.continue_final!r}")
        if self.transport not in ("auto", "http", "litellm"):
            raise ValueError(f"ModelConfig.transport must be 'auto', 'http' or 'litellm', "
                             f"not {self.transport!r}")
        if self.reward_api is not None and self.reward_api not in ("pooling", "classify",
                                                                   "score"):
            raise ValueError(f"reward_api must be 'pooling', 'classify' or 'score', not "
                             f"{self.reward_api!r}")
        if self.reward_api is not None and not self.api_base:
            raise ValueError("a reward model (reward_api) needs api_base, the server root")
        if self.transport == "http" and not uses_http(self.litellm_model, self.api_base):
            raise ValueError("transport='http' needs an 'openai/' or 'hosted_vllm/' model "
                             "with api_base (an OpenAI-compatible server)")

    @property
    def uses_http(self) -> bool:
        """Served by :mod:`workbench.backends.openai_http` rather than litellm."""
        return (self.router is None and self.transport != "litellm"
                and uses_http(self.litellm_model, self.api_base))

    @property
    def free_by_default(self) -> bool:
        """A self-hosted server on this machine: priced at 0 unless a price is set. A named
        provider (``anthropic/...``, ``gemini/...``) on loopback is a proxy or a test double
        of a paid API, so it keeps the provider's price."""
        models = ([d.model for d in self.router.deployments] if self.router is not None
                  else [self.litellm_model])
        return self.is_local and all(m.split("/", 1)[0] in SELF_HOSTED for m in models)

    @property
    def is_local(self) -> bool:
        if self.router is not None:
            return all(d.is_local for d in self.router.deployments)
        return bool(self.api_base) and urlparse(self.api_base).hostname in _LOOPBACK
