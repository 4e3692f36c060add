"""Tasks: which problems to run, and how answers are asked for, extracted and graded.

``get_task(name, **options)`` is the one way the runner, CLI and notebooks obtain a task:

* ``arithmetic`` (options digits, steps, size, seed; also written
  ``"arithmetic:digits=3,steps=2-4"``, the form stored as a run's task name),
* ``gsm8k``, ``math500`` (alias ``math-500``), ``humaneval``,
* a path ending in ``.jsonl`` or ``.csv``: the user's own problems.

``task_from_frame(df)`` makes a task from a polars DataFrame.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from workbench.errors import WorkbenchError
from workbench.tasks.arithmetic import arithmetic
from workbench.tasks.base import Problem, Task
from workbench.tasks.bigbench_tasks import bigbench
from workbench.tasks.bundled import gsm8k, humaneval, math500
from workbench.tasks.formats import ProblemSetTask
from workbench.tasks.user import SUFFIXES, task_from_file, task_from_frame

__all__ = ["Problem", "ProblemSetTask", "Task", "get_task", "list_tasks", "task_from_frame",
           "known_tasks"]

_FACTORIES: dict[str, Callable[..., ProblemSetTask]] = {
    "arithmetic": arithmetic,
    "gsm8k": gsm8k,
    "math500": math500,
    "humaneval": humaneval,
    "bigbench": bigbench,
}
_ON_DEMAND = {"bigbench"}  # listed by `workbench tasks` but installed only when asked for
_ALIASES = {"math-500": "math500", "math_500": "math500", "human-eval": "humaneval",
            "human_eval": "humaneval", "gsm-8k": "gsm8k"}


def known_tasks() -> list[str]:
    """Names ``get_task`` accepts (besides .jsonl/.csv paths)."""
    return list(_FACTORIES)


def _split_name(name: str) -> tuple[str, dict[str, str]]:
    """"arithmetic:digits=3,steps=2-4" -> ("arithmetic", {"digits": "3", "steps": "2-4"})."""
    base, _, spec = name.partition(":")
    options: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        key, eq, value = part.partition("=")
        if not eq or not key.strip():
            raise WorkbenchError(f"task {name!r}: option {part!r} must look like key=value.")
        options[key.strip()] = value.strip()
    return base.strip(), options


def get_task(name: str, **options: Any) -> ProblemSetTask:
    """The task called ``name`` (see module doc), with ``options`` for its factory."""
    if not isinstance(name, str) or not name.strip():
        raise WorkbenchError(f"task name must be a non-empty string (got {name!r}); known "
                             f"tasks: {', '.join(known_tasks())}, or a .jsonl/.csv file.")
    if name.strip().lower().endswith(SUFFIXES):
        if options:
            raise WorkbenchError(f"user task files take no options (got {sorted(options)}).")
        return task_from_file(name.strip())
    base, named_options = _split_name(name)
    key = _ALIASES.get(base.lower(), base.lower())
    factory = _FACTORIES.get(key)
    if factory is None:
        raise WorkbenchError(
            f"unknown task {name!r}. Known tasks: {', '.join(known_tasks())}; or give the "
            "path of your own .jsonl or .csv file with 'question' and 'answer' columns.")
    merged = {**named_options, **options}
    try:
        inspect.signature(factory).bind(**merged)
    except TypeError:
        raise WorkbenchError(
            f"task {key!r} does not take option(s) {sorted(merged)}"
            + ("; it takes digits, steps, size, seed." if key == "arithmetic" else
               "; it takes no options.")) from None
    return factory(**merged)


def list_tasks() -> list[dict[str, Any]]:
    """One row per built-in task (name, size, kind, licence, description) for the CLI."""
    rows: list[dict[str, Any]] = []
    for name in known_tasks():
        if name in _ON_DEMAND:
            rows.append({"name": "bigbench:task=NAME", "size": None, "kind": "varies",
                         "licence": "Apache-2.0",
                         "description": "BIG-bench JSON tasks (BBH sources); on demand: "
                                        "pip install bigbench==1.0.0"})
            continue
        task = get_task(name)
        rows.append({"name": name, "size": task.size(), "kind": task.kind,
                     "licence": task.licence, "description": task.description})
    return rows
