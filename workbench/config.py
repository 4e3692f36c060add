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
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from workbench.errors import WorkbenchError


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
