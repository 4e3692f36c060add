"""Shared test setup: offline litellm, and a small numeric task for technique tests."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from workbench.tasks.base import Problem  # noqa: E402

_ANSWER = re.compile(r"answer is\s*(-?\d+)", re.I)


@dataclass
class ToyTask:
    """Questions 'What is a+b?' with integer answers; extraction of 'The answer is N'."""

    name: str = "toy"
    kind: str = "math"
    licence: str = "test"
    description: str = "toy sums"
    n: int = 4
    problems: list[Problem] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.problems = [Problem(id=f"toy-{i}", index=i, question=f"What is {i}+{i}?",
                                 answer=str(2 * i)) for i in range(self.n)]

    def size(self) -> int:
        return self.n

    def load(self, limit: int | None = None, offset: int = 0) -> list[Problem]:
        end = None if limit is None else offset + limit
        return self.problems[offset:end]

    def answer_instruction(self) -> str:
        return "End with: The answer is N."

    def extract(self, text: str) -> str | None:
        found = _ANSWER.findall(text)
        return found[-1] if found else None

    def grade(self, problem: Problem, answer: str | None) -> bool:
        return answer is not None and answer == problem.answer

    def same(self, a: str, b: str) -> bool:
        return a.strip() == b.strip()


@pytest.fixture
def toy_task() -> ToyTask:
    return ToyTask()

