"""Which GGUF ``local`` means, and how the embedded server is sized.

Defaults fit the bundled 0.5B model on a small CPU machine. A user can point ``local``
at any GGUF and resize the server without code: settings come from the layers of
:mod:`workbench.config` (the one reader of ``workbench.toml``: defaults < user file <
project file < environment). Its schema fixes the keys; this module checks the ``[local]``
values and resolves relative paths against the file that set them.

    [local]
    gguf = "~/models/qwen2.5-1.5b-instruct-q4_k_m.gguf"   # relative paths: to the file
    n_parallel = 8        # server slots = sequences decoded together
    n_ctx = 16384         # total KV cache, shared by all slots (kv_unified)
    threads = 2
    cache_ram_mib = 256   # bound on llama.cpp's prompt cache (RSS grows otherwise)
    params_count = 494000000   # only if the GGUF header is wrong for FLOPs estimates
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from workbench import config as workbench_config
from workbench.config import ENV_GGUF, PROJECT_FILE, user_config_path
from workbench.errors import WorkbenchError
from workbench.local.gguf import read_gguf_info
from workbench.local.weights import DEFAULT_WEIGHTS, ensure_weights

__all__ = ["CTX_PER_SLOT", "DEFAULT_PARAMS_COUNT", "ENV_GGUF", "PROJECT_FILE", "LocalConfig",
           "load_config", "user_config_path"]
CTX_PER_SLOT = 2048
"""Tokens of KV cache budgeted per slot: a ~1.5k-token CoT plus its prompt."""
DEFAULT_PARAMS_COUNT = 494_032_768
"""Qwen2.5-0.5B without its embedding lookup; used only if a header cannot be read."""

_INT_KEYS = ("n_parallel", "n_ctx", "threads", "cache_ram_mib", "params_count")


@dataclass(frozen=True)
class LocalConfig:
    """Resolved settings for the local model. ``None`` fields mean "derive a default"."""

    gguf: Path | None = None
    n_parallel: int = 8
    n_ctx: int | None = None
    threads: int | None = None
    cache_ram_mib: int = 256
    params_count: int | None = None
    sources: tuple[str, ...] = ("defaults",)

    @property
    def effective_n_ctx(self) -> int:
        """Total context: every slot gets room for a long chain of thought by default."""
        return self.n_ctx if self.n_ctx is not None else self.n_parallel * CTX_PER_SLOT

    @property
    def effective_threads(self) -> int:
        """Threads for decoding: the CPUs this process may use, capped where more stop helping."""
        if self.threads is not None:
            return self.threads
        try:
            available = len(os.sched_getaffinity(0))
        except AttributeError:  # not on Linux
            available = os.cpu_count() or 2
        return max(1, min(available, 16))

    def resolve_gguf(self) -> Path:
        """The GGUF to load: the configured file, or the bundled one (assembled on demand)."""
        if self.gguf is None:
            return ensure_weights(DEFAULT_WEIGHTS)
        if not self.gguf.is_file():
            raise WorkbenchError(
                f"The local model file {self.gguf} does not exist (set by "
                f"{', '.join(self.sources)}). Fix the path, or unset {ENV_GGUF} / remove "
                "[local] gguf to use the bundled Qwen2.5-Coder-0.5B.")
        return self.gguf

    def resolve_params_count(self, gguf: Path) -> int:
        """Parameters for FLOPs estimates: configured, else counted from the GGUF header."""
        if self.params_count is not None:
            return self.params_count
        return read_gguf_info(gguf).params_count

    def as_dict(self) -> dict[str, Any]:
        """A JSON-friendly view (for ``workbench local status`` and run metadata)."""
        return {"gguf": str(self.gguf) if self.gguf else None, "n_parallel": self.n_parallel,
                "n_ctx": self.effective_n_ctx, "threads": self.effective_threads,
                "cache_ram_mib": self.cache_ram_mib, "params_count": self.params_count,
                "sources": list(self.sources)}


def load_config(cwd: Path | None = None, env: Mapping[str, str] | None = None) -> LocalConfig:
    """``[local]`` from every layer of the workbench config, lowest precedence first."""
    config = LocalConfig()
    for layer in workbench_config.load_config(cwd, env).layers:
        table = layer.data.get("local")
        if table:
            config = _apply(config, table, layer.base, layer.source)
    return config


def _apply(config: LocalConfig, table: Mapping[str, Any], base: Path, source: str
           ) -> LocalConfig:
    """Check one source's ``[local]`` values (its keys were checked on reading) and merge."""
    changes: dict[str, Any] = {}
    for key, value in table.items():
        if key == "gguf":
            if not isinstance(value, str) or not value:
                raise WorkbenchError(f"[local] gguf in {source} must be a file path string.")
            path = Path(value).expanduser()
            changes["gguf"] = path if path.is_absolute() else (base / path).resolve()
        elif key in _INT_KEYS:
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise WorkbenchError(
                    f"[local] {key} in {source} must be a positive integer, got {value!r}.")
            changes[key] = value
    if not changes:
        return config
    return replace(config, sources=(*config.sources, source), **changes)
