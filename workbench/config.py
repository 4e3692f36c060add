"""The one reader of ``workbench.toml``: layered files, every table validated.

Layers, lowest to highest precedence (each one may be absent)::

    built-in defaults
    < the user file      $XDG_CONFIG_HOME/inference-workbench/config.toml
                         (default ~/.config/inference-workbench/config.toml)
    < the project file   ./workbench.toml
    < the environment    WORKBENCH_CONFIG=FILE (one more file, on top), then WORKBENCH_*
                         variables (WORKBENCH_LOCAL_GGUF sets [local] gguf)

Merging: ``[models.<name>]`` entries are whole units (a higher layer's entry for a name
replaces a lower one's; other names from every layer are kept); ``[local]`` and ``[run]``
merge key by key (a relative ``gguf`` path is relative to the file that set it).

Validation: every file is checked against
:class:`workbench.config_schema.FileSchema` (pydantic, extra keys forbidden) when it is read, so a typo anywhere (``[models.x] modle = ...``, a router pool's
deployment, ``[local] n_paralel``) is an error naming the file, the table and the key,
with the closest known key. API keys are never read from files (name the variable with
``api_key_env``).

Example::

    [models.gpt4o-mini]          # a short name usable as --model gpt4o-mini
    model = "openai/gpt-4o-mini" # any litellm model string
    concurrency = 16

    [models.my-vllm]
    model = "hosted_vllm/Qwen/Qwen2.5-7B-Instruct"
    api_base = "http://10.0.0.5:8000/v1"
    api_key_env = "VLLM_API_KEY"  # the *name* of the variable; keys never go in files
    params = 7.6e9                # for FLOPs estimates
    # price_per_mtok = [0.15, 0.60]  # USD per 1M tokens in/out; beats litellm's table
    #                                # (a self-hosted server on loopback is otherwise free)

    [local]
    gguf = "/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"

    [run]                        # clocks for every model (a [models.X] entry may set its own)
    stall_timeout = 90           # seconds of silence mid-stream before a path is given up
    deadline = 900               # seconds per generation, all retries included
"""

from __future__ import annotations

import difflib
import os
import tomllib
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union, get_args, get_origin

from workbench.errors import ConfigError

if TYPE_CHECKING:
    from pydantic import ValidationError

APP_DIR = "inference-workbench"
PROJECT_FILE = "workbench.toml"
ENV_FILE = "WORKBENCH_CONFIG"
ENV_GGUF = "WORKBENCH_LOCAL_GGUF"


@dataclass(frozen=True)
class Layer:
    """One source of settings: a file (``source`` is its path) or the environment."""

    source: str
    base: Path
    data: Mapping[str, Any]


@dataclass(frozen=True)
class Config:
    """The merged configuration. ``models`` keeps each entry as written (validated);
    ``layers`` keeps every source, for readers that need per-source detail (``[local]``
    resolves relative paths against the file that set them)."""

    models: dict[str, dict[str, Any]] = field(default_factory=dict)
    local: dict[str, Any] = field(default_factory=dict)
    run: dict[str, Any] = field(default_factory=dict)
    layers: tuple[Layer, ...] = ()

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(layer.source for layer in self.layers)


def user_config_path(env: Mapping[str, str] | None = None) -> Path:
    """The per-user config file (XDG location)."""
    env = os.environ if env is None else env
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base).expanduser() / APP_DIR / "config.toml"


def config_paths(cwd: Path | None = None, env: Mapping[str, str] | None = None
                 ) -> list[Path]:
    """The files read, lowest precedence first (absent ones are skipped)."""
    env = os.environ if env is None else env
    paths = [user_config_path(env), (cwd or Path.cwd()) / PROJECT_FILE]
    if env.get(ENV_FILE):
        named = Path(env[ENV_FILE]).expanduser()
        if not named.is_file():
            raise ConfigError(f"{ENV_FILE}={env[ENV_FILE]} names no file.")
        paths.append(named)
    return list(dict.fromkeys(p.resolve() for p in paths))


def load_config(cwd: Path | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Read, validate and merge every layer (see the module docstring)."""
    env = os.environ if env is None else env
    layers = [Layer(str(p), p.parent, read_file(p)) for p in config_paths(cwd, env)
              if p.is_file()]
    if env.get(ENV_GGUF):
        layers.append(Layer(ENV_GGUF, cwd or Path.cwd(), {"local": {"gguf": env[ENV_GGUF]}}))
    merged = Config(layers=tuple(layers))
    for layer in layers:
        merged.models.update(layer.data.get("models", {}))
        merged.local.update(layer.data.get("local") or {})
        merged.run.update(layer.data.get("run") or {})
    return merged


def read_file(path: Path) -> dict[str, Any]:
    """One file, parsed and validated; the tables as written (unset keys left out)."""
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"Could not read {path} ({exc}). Fix the TOML syntax.") from None
    _refuse_keys(path, data)
    from pydantic import ValidationError  # lazy: pydantic and the schema cost ~0.5 s

    from workbench.config_schema import FileSchema

    try:
        FileSchema.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_explain(path, exc)) from None
    return data


def _refuse_keys(path: Path, data: Mapping[str, Any]) -> None:
    models = data.get("models")
    entries = models.values() if isinstance(models, Mapping) else ()
    for entry in entries:
        pool = entry.get("deployments") if isinstance(entry, Mapping) else None
        tables = [entry, *(pool if isinstance(pool, list) else [])]
        if any(isinstance(t, Mapping) and "api_key" in t for t in tables):
            raise ConfigError(f"{path}: put API keys in environment variables and name them "
                              "with api_key_env; keys are never read from config files.")


def _explain(path: Path, exc: ValidationError) -> str:
    """pydantic's errors as "FILE: [table] key: what is wrong" lines (first three)."""
    lines = [_one_error(path, err) for err in exc.errors()[:3]]
    more = len(exc.errors()) - len(lines)
    return "\n".join(lines) + (f"\n(and {more} more)" if more > 0 else "")


def _one_error(path: Path, err: Mapping[str, Any]) -> str:
    loc = tuple(err["loc"])
    where = _table_name(loc[:-1]) if loc else "the top level"
    key = str(loc[-1]) if loc else ""
    if err["type"] == "extra_forbidden":
        known = _known_keys(loc[:-1])
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        return (f"Unknown key {key!r} in {where} of {path}.{hint} "
                f"Known keys: {', '.join(known)}.")
    if err["type"] in ("model_type", "dict_type", "model_attributes_type"):
        table = _table_name(loc).strip("[]")
        return f"In {path}, `{table}` must be a table: write `[{table}]`."
    if err["type"] == "value_error":
        return f"{path}: {_table_name(loc)} {err['msg'].removeprefix('Value error, ')}."
    return f"{path}: {where} {key}: {err['msg']} (got {err.get('input')!r})."


def _table_name(loc: tuple[Any, ...]) -> str:
    names: list[str] = []
    suffix = ""
    for part in loc:
        if isinstance(part, int) and names:  # an array of tables: "deployments", 0
            suffix = f" {names.pop().removesuffix('s')} {part + 1}"
        else:
            names.append(str(part))
    return f"[{'.'.join(names)}]{suffix}" if names else "the top level"


def _known_keys(loc: tuple[Any, ...]) -> list[str]:
    """The fields of the schema table at ``loc`` (for "did you mean")."""
    from pydantic import BaseModel

    from workbench.config_schema import FileSchema

    model: Any = FileSchema
    pending: Any = None
    for part in loc:
        if pending is not None:  # a dict key or list index: step into the value type
            model, pending = pending, None
            continue
        annotation = _unwrap(model.model_fields[str(part)].annotation)
        origin = get_origin(annotation)
        if origin in (dict, list):
            pending = _unwrap(get_args(annotation)[-1])
        else:
            model = annotation
    if isinstance(model, type) and issubclass(model, BaseModel):
        return list(model.model_fields)
    return []


def _unwrap(annotation: Any) -> Any:
    """``X | None`` -> ``X``."""
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else annotation
    return annotation


def default_db() -> str:
    return os.environ.get("WORKBENCH_DB", "traces.duckdb")


CLOCKS: dict[str, str] = {"stall_timeout": "stall_timeout_s", "deadline": "deadline_s"}
"""Clock keys allowed in ``[run]`` and ``[models.X]`` -> the RetryPolicy field they set."""


def clocks_for(model: str, overrides: dict[str, float] | None = None,
               cfg: Config | None = None) -> dict[str, float]:
    """RetryPolicy fields for ``model``: ``[run]``, then ``[models.<model>]``, then
    ``overrides`` (command-line flags) win; keys absent everywhere keep the model's default.
    File values were validated (positive numbers) when the files were read."""
    data = load_config() if cfg is None else cfg
    out: dict[str, float] = {}
    for entry in (data.run, data.models.get(model, {})):
        for key, name in CLOCKS.items():
            if entry.get(key) is not None:
                out[name] = float(entry[key])
    for name, value in (overrides or {}).items():
        out[name] = _seconds(value, f"--{name[:-2].replace('_', '-')}")
    return out


def _seconds(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ConfigError(f"{what} must be a positive number of seconds (got {value!r}).")
    return float(value)
