"""A real stored run whose live grader was worse than the current one, built with the real
runner, recorder and a scripted backend (no model)."""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from workbench.backends.base import GenRequest
from workbench.backends.scripted import ScriptedBackend
from workbench.grading.extract import Extraction
from workbench.runner import RunSpec, run
from workbench.store.recorder import Recorder
from workbench.store.store import Store
from workbench.tasks import get_task
from workbench.tasks.formats import NumericFormat

ITEMS = [  # question, gold, what the "model" writes
    ("What is 2+3?", "5", "2 plus 3 makes 5. The answer is 5."),
    ("What is 10+4?", "14", "Start with 4 and add 10 to get 14"),
    ("What is 6+6?", "12", "There are 3 boxes of 4 eggs: 12 eggs. The answer is 12."),
    ("What is 9+9?", "18", "9 and 9 is 17, no wait. The answer is 19."),
]


class FirstNumberFormat(NumericFormat):
    """An 'old grader': the first number in the text (the live grade of the stored run)."""

    def extract(self, text: str) -> str | None:
        return self.extract_answer(text).answer

    def extract_answer(self, text: str) -> Extraction:
        m = re.search(r"\d+", text)
        return Extraction(m.group(0), "first_number", m.span()) if m else Extraction(
            None, "none", None)


def write_task(tmp_path: Path) -> Path:
    path = tmp_path / "sums.jsonl"
    path.write_text("".join(json.dumps({"id": f"q{i}", "question": q, "answer": a}) + "\n"
                            for i, (q, a, _) in enumerate(ITEMS)))
    return path


def script(texts: dict[str, list[str]]) -> Any:
    def answer(req: GenRequest, choice: int) -> str:
        prompt = req.messages[-1]["content"]
        for question, variants in texts.items():
            if question in prompt:
                return variants[(req.sample_index + choice) % len(variants)]
        return "no idea"
    return answer


def make_run(store: Store, task_path: Path, *, technique: str = "cot", n: int = 1,
             texts: dict[str, list[str]] | None = None, old_grader: bool = True) -> str:
    """Run ``technique`` on the task file, graded live by the old grader; return run id."""
    task = get_task(str(task_path))
    if old_grader:
        task = replace(task, format=FirstNumberFormat())
    texts = texts or {q: [t] for q, _, t in ITEMS}
    spec = RunSpec(task=str(task_path), technique=technique, n=n, limit=None,
                   budget=64, concurrency=2, temperature=0.7)
    result = asyncio.run(run(spec, ScriptedBackend(script(texts)), [Recorder(store)],
                             task=task))
    return result.run_id
