"""Model names → how to reach them.

``local`` is the embedded llama.cpp server, reached through litellm exactly like any
OpenAI-compatible endpoint. Short names from the config file map to litellm strings; any
other name is passed to litellm as is (``openai/gpt-4o-mini``, ``anthropic/claude-...``).
Keys are never stored: only the *name* of the environment variable that holds one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workbench.backends.litellm_adapter import ModelConfig
from workbench.backends.pricing import Price
from workbench.backends.retry import RetryPolicy
from workbench.config import Config, load_config
from workbench.errors import WorkbenchError

LOCAL = "local"
LOCAL_RETRY = RetryPolicy(deadline_s=3600.0, attempt_timeout_s=1800.0,
                          first_token_timeout_s=1200.0, stall_timeout_s=300.0)
"""The local server queues requests beyond its slots and a loaded 2-core machine can
stream at a few tokens/s, so its clocks are far longer than a remote API's."""


def local_config() -> ModelConfig:
    """Start (or reuse) the embedded server and describe it."""
    from workbench.local.server import ensure_local_server

    ep = ensure_local_server()
    return ModelConfig(litellm_model=f"openai/{ep.model_name}", api_base=ep.api_base,
                       api_key="local", native_n=True, max_native_n=ep.n_parallel,
                       concurrency=ep.n_parallel,
                       params_count=float(ep.params_count), retry=LOCAL_RETRY,
                       continue_final="prefill")  # llama.cpp continues a trailing assistant


def _models(cfg: Config | Mapping[str, Any] | None) -> Mapping[str, Any]:
    """``[models]`` of the loaded config (or of a plain mapping, as tests pass)."""
    if cfg is None:
        cfg = load_config()
    return cfg.models if isinstance(cfg, Config) else cfg.get("models", {})


def configured(name: str, cfg: Config | Mapping[str, Any] | None = None
               ) -> ModelConfig | None:
    """``[models.<name>]`` as a ModelConfig, or None when the name is not configured."""
    entry = _models(cfg).get(name)
    if entry is None:
        return None
    per_m = entry.get("price_per_mtok")
    price = Price.per_million(float(per_m[0]), float(per_m[1])) if per_m else None
    if entry.get("router"):  # a pool of deployments behind litellm's Router
        from workbench.backends.router import router_spec

        spec = router_spec(name, entry)
        return ModelConfig(litellm_model=spec.first_model, router=spec,
                           native_n=entry.get("native_n"), concurrency=entry.get("concurrency"),
                           params_count=entry.get("params"), price=price)
    try:
        return ModelConfig(litellm_model=str(entry["model"]), api_base=entry.get("api_base"),
                           api_key_env=entry.get("api_key_env"),
                           native_n=entry.get("native_n"), concurrency=entry.get("concurrency"),
                           params_count=entry.get("params"),
                           transport=str(entry.get("transport", "auto")),
                           batch=bool(entry.get("batch", False)), price=price,
                           reward_api=entry.get("reward_api"), step_tag=entry.get("step_tag"),
                           continue_final=entry.get("continue_final"))
    except ValueError as exc:
        raise WorkbenchError(f"workbench.toml [models.{name}]: {exc}") from None


def resolve(name: str) -> ModelConfig:
    """The config for ``name`` (starting the local server if it is ``local``)."""
    if name == LOCAL:
        return local_config()
    return configured(name) or ModelConfig(litellm_model=name)


def list_models() -> list[dict[str, Any]]:
    """The embedded default plus every configured model (for ``workbench models``)."""
    from workbench.local.config import load_config as load_local

    local = load_local()
    rows = [{"name": LOCAL, "model": str(local.gguf or "Qwen2.5-Coder-0.5B-Instruct Q4_K_M"),
             "where": "embedded llama.cpp server on 127.0.0.1", "key": "none needed"}]
    for name, entry in _models(None).items():
        env = entry.get("api_key_env")
        pool = entry.get("deployments") if entry.get("router") else None
        rows.append({"name": name, "model": entry.get("model") or (
                         pool[0].get("model", "?") if pool else "?"),
                     "where": f"router over {len(pool)} deployments" if pool
                     else entry.get("api_base") or "provider default",
                     "key": f"${env}" if env else "provider default variable"})
    return rows
