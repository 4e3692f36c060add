"""Sweep specs from TOML (or YAML): a grid expanded into RunSpecs with stable run ids.

Example (``sweeps/demo.toml``)::

    name = "demo"
    models = ["local"]
    tasks = ["arithmetic"]
    seeds = [0]
    limit = 20

    [[techniques]]
    technique = "cot"
    budget = [64, 128, 256, 512]     # lists are expanded as a grid

    [[techniques]]
    technique = "sc"
    budget = 256
    n = 16

A run's id is a hash of the sweep name and its spec, so re-running a sweep finds its own
runs and runs only what is missing.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from workbench.errors import WorkbenchError
from workbench.runner import RunSpec

_SPEC_KEYS = {f for f in RunSpec.__dataclass_fields__} - {"task", "model", "seed", "sweep_id"}


@dataclass(frozen=True)
class SweepSpec:
    name: str
    runs: tuple[RunSpec, ...]
    db: str | None = None
    parallel_runs: int = 2
    source: dict[str, Any] = field(default_factory=dict)
    shard: tuple[int, int] | None = None
    """``(i, n)``: run only the i-th of n deterministic slices of every run's items."""


def parse_shard(text: str) -> tuple[int, int]:
    """``"2/3"`` -> ``(2, 3)``: shards are numbered 1..n (a Slurm array ``--array=1-n``)."""
    head, sep, tail = text.partition("/")
    try:
        i, n = int(head), int(tail)
    except ValueError:
        i = n = 0
    if not sep or n < 1 or not 1 <= i <= n:
        raise WorkbenchError(f"--shard {text!r}: write i/n with 1 <= i <= n, e.g. --shard 2/3.")
    return (i, n)


def shard_items(items: list[int], shard: tuple[int, int] | None) -> list[int]:
    """The items of one shard: every n-th of the sorted item indices, starting at the i-th.

    The slice depends only on the item indices, so every run of a sweep (and every machine)
    puts the same item in the same shard: SC@16 after SC@8 reuses that shard's samples."""
    if shard is None:
        return items
    i, n = shard
    return [item for pos, item in enumerate(sorted(items)) if pos % n == i - 1]


ID_FIELDS_0_1 = frozenset({
    "task", "technique", "model", "verifier", "budget", "n", "rounds", "vote", "temperature",
    "seed", "limit", "offset", "items", "concurrency", "prompts", "task_options", "sweep_id"})
"""RunSpec's fields in release 0.1.0. A field added later joins a run's id only when it is
set to something other than its default, so adding a knob keeps every stored sweep's ids
(and its resume) as they were."""


def run_id_for(spec: RunSpec) -> str:
    """Stable id: same sweep + same spec -> same run (what makes resume possible)."""
    fields_ = asdict(spec)
    defaults = asdict(RunSpec())
    fields_ = {k: v for k, v in fields_.items()
               if k in ID_FIELDS_0_1 or v != defaults.get(k)}
    blob = json.dumps(fields_, sort_keys=True, default=str)
    return "sw-" + hashlib.sha256(blob.encode()).hexdigest()[:14]


def _as_list(v: Any) -> list[Any]:
    return list(v) if isinstance(v, list | tuple) else [v]


def expand(data: dict[str, Any]) -> SweepSpec:
    name = str(data.get("name") or "sweep")
    techniques = data.get("techniques")
    if not techniques:
        raise WorkbenchError("A sweep needs at least one [[techniques]] table.")
    common = {k: v for k, v in data.items() if k in _SPEC_KEYS}
    runs = []
    for model, task, seed, tech in itertools.product(
            _as_list(data.get("models", ["local"])), _as_list(data.get("tasks", ["arithmetic"])),
            _as_list(data.get("seeds", [0])), techniques):
        unknown = set(tech) - _SPEC_KEYS
        if unknown:
            raise WorkbenchError(f"Unknown key(s) {sorted(unknown)} in a [[techniques]] table; "
                                 f"known: {sorted(_SPEC_KEYS)}.")
        keys = sorted(tech)
        for values in itertools.product(*(_as_list(tech[k]) for k in keys)):
            fields_ = {**common, **dict(zip(keys, values, strict=True))}
            if isinstance(fields_.get("prompts"), list):
                raise WorkbenchError("prompts must be a table, not a list.")
            runs.append(RunSpec(model=model, task=task, seed=int(seed), sweep_id=name,
                                **fields_))
    return SweepSpec(name=name, runs=tuple(runs), db=data.get("db"),
                     parallel_runs=int(data.get("parallel_runs", 2)), source=data)


def load_sweep(path: str | Path) -> SweepSpec:
    """Read a sweep file (.toml, or .yaml/.yml if PyYAML is installed)."""
    p = Path(path)
    if not p.is_file():
        raise WorkbenchError(f"Sweep file {p} not found.")
    try:
        if p.suffix in {".yaml", ".yml"}:
            import yaml
            data = yaml.safe_load(p.read_text())
        else:
            data = tomllib.loads(p.read_text())
    except Exception as exc:
        raise WorkbenchError(f"Could not read sweep file {p}: {exc}") from None
    if not isinstance(data, dict):
        raise WorkbenchError(f"Sweep file {p} must be a table/mapping at the top level.")
    return expand(data)
