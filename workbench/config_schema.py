"""What ``workbench.toml`` may contain: one pydantic model per table, extra keys forbidden.

Read by :func:`workbench.config.read_file` for every layer (imported lazily there: pydantic
and these models cost about half a second, which the CLI should not pay to print --help).
A new setting is a new field here; a key that is not declared is an error naming its file.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class DeploymentEntry(_Table):
    """One deployment of a router pool (semantics checked by ``backends.router``)."""

    model: str | None = None
    api_base: str | None = None
    api_key_env: str | None = None
    concurrency: int | None = None
    rpm: int | None = None
    tpm: int | None = None
    weight: int | None = None


POOL_ONLY = ("deployments", "allowed_fails", "cooldown_s", "routing", "affinity")
SINGLE_ONLY = ("api_base", "api_key_env", "transport")


class ModelEntry(_Table):
    """``[models.<name>]``: a short name for one litellm model, or (``router = true``) a
    pool of deployments. ``stall_timeout`` / ``deadline`` override ``[run]`` for this model."""

    model: str | None = None
    api_base: str | None = None
    api_key_env: str | None = None
    native_n: bool | None = None
    batch: bool = False  # send through the provider's batch API (half price, hours)
    # USD per million tokens [input, output]: beats litellm's table (a proxy or tunnel to a
    # paid API on loopback would otherwise be priced as a free self-hosted server)
    price_per_mtok: list[float] | None = Field(default=None, min_length=2, max_length=2)
    concurrency: int | None = Field(default=None, gt=0)
    params: float | None = Field(default=None, gt=0)
    transport: Literal["auto", "http", "litellm"] = "auto"
    continue_final: Literal["prefill", "vllm", "none"] | None = None  # think-longer's prefill
    router: bool = False
    deployments: list[DeploymentEntry] | None = None
    allowed_fails: int | None = None
    cooldown_s: float | None = None
    routing: str | None = None
    affinity: Literal["prefix"] | None = None
    stall_timeout: float | None = Field(default=None, gt=0)  # seconds; beats [run]
    deadline: float | None = Field(default=None, gt=0)
    reward_api: Literal["pooling", "classify", "score"] | None = None  # a reward model (PRM)
    step_tag: str | None = None  # reward_api = "pooling": the token ending each step

    @model_validator(mode="after")
    def _one_kind(self) -> ModelEntry:
        given = self.model_fields_set
        wrong = [k for k in (SINGLE_ONLY if self.router else POOL_ONLY) if k in given]
        if wrong:
            kind = "a router pool (router = true)" if self.router else "a single model"
            raise ValueError(f"key(s) {', '.join(wrong)} do not apply to {kind}")
        if self.price_per_mtok is not None and min(self.price_per_mtok) < 0:
            raise ValueError("price_per_mtok = [input, output] must not be negative")
        if not self.router and not self.model:
            raise ValueError('needs model = "<provider>/<name>" (any litellm model string)')
        return self


class LocalTable(BaseModel):
    """``[local]``: which GGUF ``local`` means and how its server is sized. Keys are fixed
    here; values are checked by :mod:`workbench.local.config` (paths are file-relative)."""

    model_config = ConfigDict(extra="forbid")

    gguf: Any = None
    n_parallel: Any = None
    n_ctx: Any = None
    threads: Any = None
    cache_ram_mib: Any = None
    params_count: Any = None


class RunTable(_Table):
    """``[run]``: defaults for every run: the per-generation clocks (seconds of silence
    mid-stream before a path is given up; seconds per generation, retries included)."""

    stall_timeout: float | None = Field(default=None, gt=0)
    deadline: float | None = Field(default=None, gt=0)


class FileSchema(_Table):
    """What one config file may contain."""

    models: dict[str, ModelEntry] = Field(default_factory=dict)
    local: LocalTable | None = None
    run: RunTable | None = None
