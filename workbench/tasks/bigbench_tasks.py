"""BIG-bench tasks (the sources behind BBH), read from the ``bigbench`` package on demand.

The ``bigbench`` sdist is 358 MB, so it is never installed by default:
``pip install bigbench==1.0.0`` brings it, and then ``bigbench:task=<name>`` (e.g.
``bigbench:task=logical_deduction``) runs that JSON task. These are the BIG-bench
versions of the tasks, reported as such: BBH's curated subsets and few-shot prompts differ.
The package is located, never imported (importing it pulls TensorFlow).
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

from workbench.errors import WorkbenchError
from workbench.tasks.base import Problem
from workbench.tasks.formats import AutoFormat, ProblemSetTask

INSTALL_HINT = ("the BIG-bench tasks need the optional package: pip install bigbench==1.0.0 "
                "(a 358 MB source distribution, installed only on demand).")


def tasks_root() -> Path:
    spec = importlib.util.find_spec("bigbench")
    if spec is None or not spec.submodule_search_locations:
        raise WorkbenchError(f"bigbench is not installed: {INSTALL_HINT}")
    return Path(list(spec.submodule_search_locations)[0]) / "benchmark_tasks"


def _target(example: dict[str, Any]) -> str | None:
    target = example.get("target")
    if isinstance(target, list):
        target = target[0] if target else None
    if target is None and isinstance(example.get("target_scores"), dict):
        scores = example["target_scores"]
        target = max(scores, key=scores.get) if scores else None
    return None if target is None else str(target)


def _question(example: dict[str, Any]) -> str:
    text = str(example["input"])
    if isinstance(example.get("target_scores"), dict):
        options = "\n".join(f"- {o}" for o in example["target_scores"])
        text = f"{text}\n\nOptions:\n{options}"
    return text


def problems_from_json(path: Path, name: str) -> list[Problem]:
    data = json.loads(path.read_text(encoding="utf-8"))
    rows = [(e, _target(e)) for e in data.get("examples", []) if "input" in e]
    return [Problem(id=f"{name}-{i}", index=i, question=_question(e), answer=t)
            for i, (e, t) in enumerate((e, t) for e, t in rows if t is not None)]


def bigbench(task: str = "") -> ProblemSetTask:
    """The BIG-bench JSON task called ``task``."""
    if not task:
        raise WorkbenchError("name a BIG-bench task, e.g. bigbench:task=logical_deduction.")
    path = tasks_root() / task / "task.json"
    if not path.is_file():
        raise WorkbenchError(f"BIG-bench has no JSON task {task!r} (looked for {path}).")
    problems = problems_from_json(path, task)
    return ProblemSetTask(
        name=f"bigbench:task={task}", kind="math", licence="Apache-2.0 (BIG-bench)",
        description=f"BIG-bench task {task} (not the BBH subset)",
        format=AutoFormat.for_answers([p.answer for p in problems]),
        loader=lambda: problems)
