"""User configuration: ``./workbench.toml`` or ``~/.config/inference-workbench/config.toml``.

Example::

    [models.gpt4o-mini]          # a short name usable as --model gpt4o-mini
    model = "openai/gpt-4o-mini" # any litellm model string
    concurrency = 16

    [models.my-vllm]
    model = "hosted_vllm/Qwen/Qwen2.5-7B-Instruct"
    api_base = "http://10.0.0.5:8000/v1"
    api_key_env = "VLLM_API_KEY"  # the *name* of the variable; keys never go in files
    params = 7.6e9                # for FLOPs estimates

    [local]
    gguf = "/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"

    [run]                        # clocks for every model (a [models.X] entry may set its own)
    stall_timeout = 90           # seconds of silence mid-stream before a path is given up
    deadline = 900               # seconds per generation, all retries included
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from workbench.backends.base import WorkbenchError


def config_paths() -> list[Path]:
    env = os.environ.get("WORKBENCH_CONFIG")
    if env:
        return [Path(env)]
    return [Path.cwd() / "workbench.toml",
            Path.home() / ".config" / "inference-workbench" / "config.toml"]


def load_config() -> dict[str, Any]:
    """The first config file found (or an empty config). Bad TOML is a clear error."""
    for path in config_paths():
        if path.is_file():
            try:
                with path.open("rb") as fh:
                    data = tomllib.load(fh)
            except tomllib.TOMLDecodeError as exc:
                raise WorkbenchError(f"Config file {path} is not valid TOML: {exc}") from None
            data["_path"] = str(path)
            if any("api_key" in m for m in data.get("models", {}).values()):
                raise WorkbenchError(
                    f"{path}: put API keys in environment variables and name them with "
                    "api_key_env; keys are never read from config files.")
            return data
    return {}


def default_db() -> str:
    return os.environ.get("WORKBENCH_DB", "traces.duckdb")


CLOCKS: dict[str, str] = {"stall_timeout": "stall_timeout_s", "deadline": "deadline_s"}
"""Clock keys allowed in ``[run]`` and ``[models.X]`` -> the RetryPolicy field they set."""


def clocks_for(model: str, overrides: dict[str, float] | None = None,
               cfg: dict[str, Any] | None = None) -> dict[str, float]:
    """RetryPolicy fields for ``model``: ``[run]``, then ``[models.<model>]``, then
    ``overrides`` (command-line flags) win; keys absent everywhere keep the model's default."""
    data = load_config() if cfg is None else cfg
    where = data.get("_path", "workbench.toml")
    out: dict[str, float] = {}
    for table, entry in (("[run]", data.get("run", {})),
                         (f"[models.{model}]", data.get("models", {}).get(model, {}))):
        for key, field in CLOCKS.items():
            if key in entry:
                out[field] = _seconds(entry[key], f"{where} {table} {key}")
    for field, value in (overrides or {}).items():
        out[field] = _seconds(value, f"--{field[:-2].replace('_', '-')}")
    return out


def _seconds(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise WorkbenchError(f"{what} must be a positive number of seconds (got {value!r}).")
    return float(value)
