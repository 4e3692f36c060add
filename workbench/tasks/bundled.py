"""The benchmarks shipped in data/: GSM8K, MATH-500 and HumanEval.

Why bundled: the workbench must work offline and loading from a hub at run time fails on
machines without internet. The files are built once by data/build_data.py (see
data/README.md for provenance and licences) and read here with the standard library.
"""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path
from typing import Any

from workbench.errors import WorkbenchError
from workbench.grading.code import DEFAULT_LIMITS, SandboxLimits
from workbench.tasks.base import Problem
from workbench.tasks.formats import CodeFormat, MathFormat, NumericFormat, ProblemSetTask

MIT = "MIT"


def data_dir() -> Path:
    """Where the bundled data lives: ``$WORKBENCH_DATA_DIR`` or the repository's data/."""
    override = os.environ.get("WORKBENCH_DATA_DIR")
    return Path(override) if override else Path(__file__).resolve().parents[2] / "data"


def read_bundled(name: str) -> list[dict[str, Any]]:
    """The rows of ``data/<name>/test.jsonl.gz``; a clear error if the file is missing."""
    path = data_dir() / name / "test.jsonl.gz"
    if not path.is_file():
        raise WorkbenchError(
            f"bundled data file {path} is missing. It ships with the repository; reinstall "
            "from a checkout (pip install -e .), set WORKBENCH_DATA_DIR to a copy of data/, "
            "or rebuild it with data/build_data.py.")
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _gsm8k_problems() -> list[Problem]:
    return [Problem(id=r["id"], index=i, question=r["question"], answer=r["answer"],
                    meta={"solution": r["solution"]})
            for i, r in enumerate(read_bundled("gsm8k"))]


def _math500_problems() -> list[Problem]:
    return [Problem(id=r["id"], index=i, question=r["question"], answer=r["answer"],
                    meta={"level": r["level"], "subject": r["subject"],
                          "solution": r["solution"]})
            for i, r in enumerate(read_bundled("math500"))]


def humaneval_question(prompt: str) -> str:
    """What the model sees for a HumanEval item: the signature and docstring to complete."""
    return f"Complete the following Python function.\n\n```python\n{prompt.rstrip()}\n```"


def _humaneval_problems() -> list[Problem]:
    return [Problem(id=r["id"], index=i, question=humaneval_question(r["prompt"]),
                    answer=r["canonical_solution"],
                    meta={"prompt": r["prompt"], "test": r["test"],
                          "entry_point": r["entry_point"]})
            for i, r in enumerate(read_bundled("humaneval"))]


def gsm8k() -> ProblemSetTask:
    """GSM8K test set: 1319 grade-school word problems with a numeric answer."""
    return ProblemSetTask(
        name="gsm8k", kind="math", licence=MIT,
        description="GSM8K test: grade-school math word problems, numeric answers "
                    "(Cobbe et al. 2021, OpenAI)",
        format=NumericFormat(), loader=_gsm8k_problems)


def math500() -> ProblemSetTask:
    """MATH-500: competition math in LaTeX, graded with math-verify."""
    return ProblemSetTask(
        name="math500", kind="math", licence=MIT,
        description="MATH-500: competition problems, 7 subjects, levels 1-5, LaTeX answers "
                    "(Hendrycks et al. 2021; split by Lightman et al. 2023)",
        format=MathFormat(), loader=_math500_problems)


def humaneval(limits: SandboxLimits = DEFAULT_LIMITS) -> ProblemSetTask:
    """HumanEval: write a Python function; graded by running its unit tests in a sandbox."""
    return ProblemSetTask(
        name="humaneval", kind="code", licence=MIT,
        description="HumanEval: 164 Python functions checked by unit tests in a sandbox "
                    "(Chen et al. 2021, OpenAI)",
        format=CodeFormat(limits=limits), loader=_humaneval_problems)
